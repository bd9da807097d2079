"""`vvs-admin stats` as an admin runs it, and the report in a real browser (Debian's Chromium)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser import chart_sizes, chromium, console_errors, needs_chromium
from tests.test_stats import scenario
from vvs.clock import FakeClock
from vvs.db import make_engine, make_session_factory
from vvs.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent


class _Db:
    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.sessions = make_session_factory(self.engine)


async def _fill(path: Path) -> None:
    db = _Db(f"sqlite+vvsinline:///{path}")
    try:
        await upgrade(db.engine)
        await scenario(db, FakeClock())
    finally:
        await db.engine.dispose()


def admin(*args: str, data: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{data / 'vvs.db'}", "DATA_DIR": str(data)}
    return subprocess.run([sys.executable, "-m", "admin.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The internal and the published report of the scenario, written by `vvs-admin`."""
    data = tmp_path_factory.mktemp("stats")
    asyncio.run(_fill(data / "vvs.db"))
    for name, extra in (("internal", ()), ("published", ("--publish",))):
        result = admin("stats", "report", "--from", "2026-01-01", "--to", "2026-01-31",
                       "--out", str(data / name), *extra, data=data)
        assert result.returncode == 0, result.stderr[-2000:]
    return data


def test_cli_writes_the_html_and_one_csv_per_table(reports: Path) -> None:
    for name in ("internal", "published"):
        files = {p.name for p in (reports / name).iterdir()}
        assert "rapport.html" in files and "demandes_referent.csv" in files
        assert len([f for f in files if f.endswith(".csv")]) == 16
    assert "< 5" in (reports / "published" / "demarches.csv").read_text(encoding="utf-8")
    result = admin("stats", "aggregate", data=reports)
    assert result.returncode == 0 and "0 événement(s)" in result.stdout


@needs_chromium
def test_report_opens_in_chromium_without_console_error(reports: Path) -> None:
    with chromium() as driver:
        for name in ("internal", "published"):
            driver.get((reports / name / "rapport.html").as_uri())
            sizes = chart_sizes(driver)
            assert len(sizes) == 5, sizes
            assert all(w > 100 and h > 50 and shapes > 5 for w, h, shapes in sizes), sizes
            assert not console_errors(driver)
            pdf = driver.execute_cdp_cmd("Page.printToPDF", {"preferCSSPageSize": True})
            assert len(pdf["data"]) > 1000  # prints (A4 from the page's @page rule)
