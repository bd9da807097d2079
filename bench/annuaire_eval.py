"""Run a TSV of annuaire queries (the dev-set format) through the CLI functions.

    .venv/bin/python bench/annuaire_eval.py [FILE.tsv ...] [-v]

Each line: mode <TAB> query (search, place) or options (near) <TAB> expected fields of the
first result (k=v, '|' = any of; 'dept' is the department). Prints PASS/FAIL per line
(with the first results on failure) and the totals per mode.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from annuaire import cli
from annuaire.gazetteer import default_gazetteer
from annuaire.loader import load_directory

REPO = Path(__file__).resolve().parent.parent
DEFAULT_FILES = (Path("/work/shared/eval/annuaire-dev.tsv"),
                 REPO / "bench" / "annuaire_holdout.tsv")
KEYS = {"dept": "department"}


def cases(path: Path) -> list[tuple[int, str, str, str]]:
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip() and not line.startswith("#"):
            mode, query, expected = line.split("\t")
            out.append((number, mode, query, expected))
    return out


def run(mode: str, query: str, directory: Any) -> dict[str, Any]:
    gaz = default_gazetteer()
    if mode == "place":
        return cli.run_place(gaz, query)
    if mode == "search":
        return cli.run_search(directory, query)
    args = cli.build_parser().parse_args(["near", *shlex.split(query)])
    return cli.run_near(directory, gaz, args.postcode, args.place, args.lat, args.lon,
                        args.kind)


def check(result: dict[str, Any], expected: str) -> bool:
    if not result.get("results"):
        return False
    first = result["results"][0]
    for pair in expected.split():
        key, allowed = pair.split("=", 1)
        if str(first.get(KEYS.get(key, key))) not in allowed.split("|"):
            return False
    return True


def describe(item: dict[str, Any]) -> str:
    label = item.get("id") or item.get("commune")
    extra = item.get("score", item.get("distance_km"))
    return f"{label}[{item.get('kind', '')} {item.get('department')}] {extra}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("-v", "--verbose", action="store_true", help="print passes too")
    args = parser.parse_args()
    directory, _ = load_directory(REPO)
    assert directory is not None
    failed_any = False
    for path in args.files or DEFAULT_FILES:
        totals: Counter[str] = Counter()
        passed: Counter[str] = Counter()
        print(f"== {path}")
        for number, mode, query, expected in cases(path):
            result = run(mode, query, directory)
            ok = check(result, expected)
            totals[mode] += 1
            passed[mode] += ok
            if not ok or args.verbose:
                tops = "; ".join(describe(r) for r in result.get("results", [])[:3])
                where = result.get("place")
                at = f" @ {where['commune']} ({where['department']})" if where else ""
                print(f"{'PASS' if ok else 'FAIL'} {number:>3} {mode:<6} {query!r:<45} "
                      f"want {expected}{at} -> {tops}")
        failed_any |= sum(passed.values()) < sum(totals.values())
        per_mode = "  ".join(f"{m} {passed[m]}/{totals[m]}" for m in sorted(totals))
        print(f"TOTAL {sum(passed.values())}/{sum(totals.values())}   {per_mode}")
    return 1 if failed_any else 0


if __name__ == "__main__":
    raise SystemExit(main())
