"""The load benchmark's smoke mode: the real bot and the echo bot, in webhook mode behind the
local stand-in, a few seconds each on SQLite. It must complete with zero errors; its figures
are not asserted (they depend on the machine), nor is its duration."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_load_benchmark_smoke_run_completes_without_errors(tmp_path: Path) -> None:
    out = tmp_path / "smoke.json"
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_load.py"), "--smoke",
                          "--json", str(out)], cwd=ROOT, capture_output=True, text=True,
                         timeout=600)  # a hang guard, not a performance assertion
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    levels = json.loads(out.read_text())["levels"]
    configs = {level["config"] for level in levels}
    assert configs == {"echo (bare PTB)", "bot SQLite"}
    for level in levels:
        assert level["errors"] == 0, level
        assert level["updates_per_s"] > 0, level
    assert all(level["statements_per_update"] > 0 for level in levels
               if level["config"] == "bot SQLite")
