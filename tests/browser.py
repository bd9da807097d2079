"""Open pages in Debian's headless Chromium (no download: the driver path is explicit)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
REQUIRE_BROWSER = os.environ.get("REQUIRE_BROWSER") == "1"
needs_chromium = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()) and not REQUIRE_BROWSER,
    reason="Debian's chromium and chromium-driver are not installed")


@contextmanager
def chromium(*extra_args: str) -> Iterator[Any]:
    """A headless Chromium driver that keeps the browser console's log."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="vvs-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
                *extra_args):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # an explicit driver path: selenium-manager never runs, nothing is downloaded
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def press_and_wait(driver: Any, element: Any, timeout: float = 20) -> None:
    """Click an element that loads a new page and wait until that page has loaded.

    The old document is marked and the wait ends when a complete document without the mark
    is there. Selenium's staleness_of is not used: while the page changes, chromedriver may
    answer a look-up of the old node with a generic WebDriverException ("Node with given id
    does not belong to the document") instead of a stale-element error, which failed CI.
    """
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script("window.__vvsOldPage = true;")
    element.click()

    def new_page_loaded(drv: Any) -> bool:
        return bool(drv.execute_script(
            "return window.__vvsOldPage !== true && document.readyState === 'complete';"))

    WebDriverWait(driver, timeout, ignored_exceptions=(WebDriverException,)).until(
        new_page_loaded)


def console_errors(driver: Any) -> list[dict]:
    """The SEVERE entries of the browser console since the last call."""
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def chart_sizes(driver: Any) -> list[list[float]]:
    """Width, height and shape count of each chart (inline SVG in a figure)."""
    result: list[list[float]] = driver.execute_script(
        "return [...document.querySelectorAll('figure svg')].map(s => {"
        " const r = s.getBoundingClientRect(); return [r.width, r.height,"
        " s.querySelectorAll('path, text, use').length]; })")
    return result
