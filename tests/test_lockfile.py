"""The lock files (`requirements/*.lock`, made by pip-compile --generate-hashes) cover every
dependency declared in pyproject.toml, pin each one exactly with its hashes, and agree with
each other: the test lock is compiled with the runtime lock as a constraint."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)")


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _pins(path: Path) -> dict[str, str]:
    text = path.read_text()
    pins = {}
    for block in re.split(r"\n(?=\S)", text):
        match = PIN.match(block)
        if match:
            assert "--hash=sha256:" in block, f"{path.name}: {match.group(1)} has no hash"
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def test_locks_cover_pyproject_and_agree() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = _pins(ROOT / "requirements" / "runtime.lock")
    test = _pins(ROOT / "requirements" / "test.lock")
    for requirement in project["dependencies"]:
        assert _name(requirement) in runtime, f"{requirement} missing from runtime.lock"
    for requirement in project["dependencies"] + project["optional-dependencies"]["test"]:
        assert _name(requirement) in test, f"{requirement} missing from test.lock"
    differ = {name: (version, test.get(name)) for name, version in runtime.items()
              if test.get(name) != version}
    assert not differ, f"runtime.lock and test.lock disagree: {differ}"


def test_the_pip_lock_is_the_test_locks_pip() -> None:
    """`.ci/run` and the Dockerfile install pip itself first from `pip.lock`: the very entry
    of `test.lock` (version and hashes), so the two never pin different pips."""
    def entry(path: Path) -> str:
        blocks = re.split(r"\n(?=\S)", path.read_text())
        (found,) = [b for b in blocks if b.startswith("pip==")]
        return "\n".join(line for line in found.splitlines() if not line.lstrip().startswith("#"))

    assert _pins(ROOT / "requirements" / "pip.lock") == {
        "pip": _pins(ROOT / "requirements" / "test.lock")["pip"]}
    assert entry(ROOT / "requirements" / "pip.lock") == entry(ROOT / "requirements" / "test.lock")
