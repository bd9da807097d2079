"""`vvs-admin stats` as an admin runs it, and the report in a real browser (Debian's Chromium)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.test_stats import scenario
from vvs.clock import FakeClock
from vvs.db import make_engine, make_session_factory
from vvs.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
REQUIRE_BROWSER = os.environ.get("REQUIRE_BROWSER") == "1"


class _Db:
    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.sessions = make_session_factory(self.engine)


async def _fill(path: Path) -> None:
    db = _Db(f"sqlite+aiosqlite:///{path}")
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


@pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()) and not REQUIRE_BROWSER,
                    reason="Debian's chromium and chromium-driver are not installed")
def test_report_opens_in_chromium_without_console_error(reports: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="vvs-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # an explicit driver path: selenium-manager never runs, nothing is downloaded
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        for name in ("internal", "published"):
            driver.get((reports / name / "rapport.html").as_uri())
            sizes = driver.execute_script(
                "return [...document.querySelectorAll('figure svg')].map(s => {"
                " const r = s.getBoundingClientRect(); return [r.width, r.height,"
                " s.querySelectorAll('path, text, use').length]; })")
            assert len(sizes) == 5, sizes
            assert all(w > 100 and h > 50 and shapes > 5 for w, h, shapes in sizes), sizes
            severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
            assert not severe, severe
            pdf = driver.execute_cdp_cmd("Page.printToPDF", {"preferCSSPageSize": True})
            assert len(pdf["data"]) > 1000  # prints (A4 from the page's @page rule)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
