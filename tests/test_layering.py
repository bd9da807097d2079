"""The layering holds: only the wiring knows Telegram, the domain never imports the wiring,
and no two packages depend on each other.

Every import of every module of the application packages counts, lazy ones included
(`tests/` and `bench/` are not application code). `bot/flows` is domain code: a node of
its own, distinct from the wiring (`bot` and `bot/handlers`).
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_PACKAGES = ("vvs", "bot", "knowledge", "annuaire", "escalation", "intent", "report",
                "admin", "migrations")
DOMAIN = frozenset({"vvs", "knowledge", "annuaire", "escalation", "intent", "report",
                    "bot.flows"})
WIRING = "bot"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _node(module: str) -> str | None:
    """The package a module belongs to (None: not one of ours)."""
    if module == "bot.flows" or module.startswith("bot.flows."):
        return "bot.flows"
    head = module.split(".", 1)[0]
    return head if head in APP_PACKAGES else None


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:  # `from bot import flows` imports the module bot.flows
                yield node.lineno, f"{module}.{alias.name}"


def _sources() -> Iterator[Path]:
    for package in APP_PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def _edges() -> dict[tuple[str, str], list[str]]:
    """(from node, to node) → where, for every import between two of our packages."""
    edges: dict[tuple[str, str], list[str]] = {}
    for path in _sources():
        src = _node(_module_name(path))
        for line, module in _imports(path):
            dst = _node(module)
            if src and dst and dst != src:
                edges.setdefault((src, dst), []).append(f"{path.relative_to(ROOT)}:{line}")
    return edges


def test_telegram_only_in_the_wiring() -> None:
    offenders = [f"{path.relative_to(ROOT)}:{line} imports {module}"
                 for path in _sources() if _node(_module_name(path)) != WIRING
                 for line, module in _imports(path)
                 if module == "telegram" or module.startswith("telegram.")]
    assert not offenders, "\n".join(offenders)


def test_domain_does_not_import_the_wiring() -> None:
    offenders = [f"{where} ({src} → {dst})" for (src, dst), places in _edges().items()
                 if src in DOMAIN and dst == WIRING for where in places]
    assert not offenders, "\n".join(offenders)


def test_no_cycle_between_packages() -> None:
    edges = _edges()
    graph: dict[str, set[str]] = {}
    for src, dst in edges:
        graph.setdefault(src, set()).add(dst)
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt == path[0]:
                cycles.append([*path, nxt])
            elif nxt not in path and nxt > path[0]:  # each cycle once, from its least node
                visit(nxt, [*path, nxt])

    for start in sorted(graph):
        visit(start, [start])
    described = [" → ".join(c) + "  (" + "; ".join(
        edges[(a, b)][0] for a, b in itertools.pairwise(c)) + ")" for c in cycles]
    assert not cycles, "\n".join(described)


def test_the_checks_see_imports() -> None:
    """Guard against a test that passes because it parses nothing."""
    edges = _edges()
    assert ("bot", "vvs") in edges and ("bot.flows", "vvs") in edges
    assert ("escalation", "vvs") in edges


def test_the_departements_are_written_in_one_place() -> None:
    """Issue 12: « one place for each fact ». A literal collection holding several of the
    Île-de-France codes anywhere but `vvs/departements.py` is a second copy to keep in step."""
    codes = {"75", "77", "78", "91", "92", "93", "94", "95"}
    copies = []
    for path in _sources():
        if path.relative_to(ROOT).as_posix() == "vvs/departements.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            items = node.keys if isinstance(node, ast.Dict) else \
                node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else []
            found = {i.value for i in items if isinstance(i, ast.Constant)} & codes
            if len(found) >= 4:
                copies.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not copies, "use vvs.departements.IDF_DEPARTMENTS:\n" + "\n".join(copies)


def test_mypy_is_strict_on_every_domain_package() -> None:
    """Issue 12: mypy « strict on the domain packages », the same list as DOMAIN above."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    strict = next(o for o in config["overrides"] if o.get("disallow_untyped_defs"))
    assert {m.removesuffix(".*") for m in strict["module"]} >= DOMAIN
    assert set(APP_PACKAGES) - {"migrations"} <= set(config["files"])
    # no error code switched off, nor errors ignored, in a module of ours
    ours = [o for o in config["overrides"]
            if any(_node(m.removesuffix(".*")) for m in o["module"])]
    lax = [o["module"] for o in ours if o.get("disable_error_code") or o.get("ignore_errors")]
    assert not lax, lax
