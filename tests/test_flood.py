"""Flood control slows one user down without touching the others."""

from __future__ import annotations

from vvs.flood import FloodGuard


def test_flooder_is_slowed_others_are_not() -> None:
    now = [0.0]
    guard = FloodGuard(rate=2, burst=5, monotonic=lambda: now[0])
    results = [guard.allow("flooder") for _ in range(40)]
    allowed = [ok for ok, _warn in results]
    warnings = [warn for _ok, warn in results]
    assert sum(allowed) == 5 and sum(warnings) == 1  # one polite warning per flood
    assert guard.allow("calm") == (True, False)
    now[0] += 1.0  # two tokens refilled
    assert [guard.allow("flooder")[0] for _ in range(3)] == [True, True, False]
