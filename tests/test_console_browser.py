"""The console end to end, in Debian's headless Chromium, through links the bot sent via the
local Bot API stand-in: validate an entry; edit it with an error (refused, error shown), fix
and publish it; the bot answers with the new version; roll back; a referent of 93 confirms a
contact, is refused on 75 and sees the request figures of 93 only. One browser test: CI's
added time stays small."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

from bot.console import access
from bot.server import http_server
from escalation.referents import add_referent
from tests.botharness import Chat, make_settings, running_bot, texts
from tests.browser import chart_sizes, chromium, console_errors, needs_chromium, press_and_wait
from tests.consolekit import content_copy, link_in
from vvs.db import transaction

VALIDATOR, REFERENT_93, DOCTOR, ADMIN = 501, 930, 4242, 900
QUESTION = "c'est quoi la CRIP"

pytestmark = needs_chromium


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_console_end_to_end_in_chromium(db, tmp_path: Path) -> None:
    port = _free_port()
    content = content_copy(tmp_path)
    entry_file = content / "knowledge" / "entries" / "crip.md"
    settings = make_settings(db.url, tmp_path, content_dir=content, http_port=port)
    with chromium("--window-size=412,915") as driver:  # a phone's width
        await _walk(driver, settings, port, entry_file)


async def _walk(driver: Any, settings: Any, port: int, entry_file: Path) -> None:
    from selenium.webdriver.common.by import By

    async def browse(action: Any, *args: Any) -> Any:
        return await asyncio.to_thread(action, *args)

    def find(css: str) -> Any:
        return driver.find_element(By.CSS_SELECTOR, css)

    def submit(button: Any) -> str:
        """Press a form's button and wait for the next page; its main text."""
        press_and_wait(driver, button)
        return str(find("main").text)

    def open_link(url: str) -> str:
        driver.delete_all_cookies()
        driver.get(url)
        return submit(find("#open"))

    def fill_and_click(text: str, button: str) -> str:
        driver.execute_script("arguments[0].value = arguments[1];", find("#text"), text)
        return submit(find(button))

    async with running_bot(settings) as (api, services), \
            http_server(services, None, host="127.0.0.1", port=port):
        async with transaction(services.sessions) as session:
            await access.enrol(session, services.clock.now(), telegram_id=VALIDATOR,
                               role="validator", name="Dr Commission VVS")
            await add_referent(services.escalations, session, department="93",
                               telegram_id=REFERENT_93, name="Dr Référente 93")
        doctor = Chat(api, DOCTOR)
        assert "en cours de validation" in texts(await doctor.say(QUESTION))

        # a validator logs in and validates the entry
        base, token = link_in(await Chat(api, VALIDATOR).command("/console"))
        assert base == f"http://127.0.0.1:{port}/console"
        home = await browse(open_link, f"{base}/login?t={token}")
        assert "Dr Commission VVS" in home and "validateur" in home
        await browse(driver.get, f"{base}/fiches/crip")
        await browse(submit, find("#validate"))
        assert (await browse(lambda: find("#status").text)) == "validée"
        validated = entry_file.read_text(encoding="utf-8")
        assert 'validated_by: "Dr Commission VVS"' in validated
        assert "validated_hash:" in validated
        assert "en cours de validation" not in texts(await doctor.say(QUESTION))

        # an edit with an error is refused with its line and field, then fixed and published
        await browse(driver.get, f"{base}/fichier?path=knowledge/entries/crip.md")
        broken = validated.replace("theme: mineur", "theme: inconnu", 1)
        shown = await browse(fill_and_click, broken, "#preview")
        theme_line = broken.splitlines().index("theme: inconnu") + 1
        assert f"knowledge/entries/crip.md:{theme_line} [theme]" in shown
        assert not driver.find_elements(By.CSS_SELECTOR, "#publish")
        assert entry_file.read_text(encoding="utf-8") == validated
        fixed = validated.replace("summary: |\n", "summary: |\n  NOUVELLE VERSION.\n", 1)
        shown = await browse(fill_and_click, fixed, "#preview")
        assert "+  NOUVELLE VERSION." in await browse(lambda: find("#diff").text)
        await browse(submit, find("#publish"))
        assert "est en service" in await browse(lambda: find("#published").text)
        answer = texts(await doctor.say(QUESTION))
        assert "NOUVELLE VERSION" in answer and "en cours de validation" in answer

        # roll back to the validated version
        await browse(driver.get, f"{base}/fichier?path=knowledge/entries/crip.md")
        restore = await browse(lambda: driver.find_elements(
            By.CSS_SELECTOR, ".versions li"))
        target = next(li for li in restore if "validation" in li.text)
        await browse(submit, target.find_element(By.TAG_NAME, "button"))
        assert "est en service" in await browse(lambda: find("#published").text)
        assert entry_file.read_text(encoding="utf-8") == validated
        answer = texts(await doctor.say(QUESTION))
        assert "NOUVELLE VERSION" not in answer and "en cours de validation" not in answer

        # a referent of 93 confirms a contact of 93 and is refused on 75
        _base, token = link_in(await Chat(api, REFERENT_93).command("/console"))
        assert "référent 93" in await browse(open_link, f"{base}/login?t={token}")
        await browse(driver.get, f"{base}/annuaire/93")
        await browse(submit, find("#confirm-parquet-bobigny"))
        section = await browse(lambda: find("#e-parquet-bobigny").text)
        assert "vérifiée le" in section
        assert services.content["annuaire"].get("parquet-bobigny").status == "verified"
        await browse(driver.get, f"{base}/annuaire/75")
        assert "n'est pas le vôtre" in await browse(
            lambda: driver.find_element(By.TAG_NAME, "main").text)
        assert not driver.find_elements(By.CSS_SELECTOR, "[id^=confirm-]")
        # and sees the requests of 93 only, in figures
        await browse(driver.get, f"{base}/demandes")
        shown = await browse(lambda: find("#open-by-department").text)
        assert "93 — Seine-Saint-Denis" in shown and "Paris" not in shown

        # an admin opens the annual report of the statistics issue
        _base, token = link_in(await Chat(api, ADMIN).command("/console"))
        await browse(open_link, f"{base}/login?t={token}")
        await browse(driver.get, f"{base}/statistiques")
        await browse(console_errors, driver)  # start the console log here
        await browse(lambda: find("#open-report").click())
        assert "Bilan" in await browse(lambda: driver.title) or await browse(
            lambda: driver.find_elements(By.CSS_SELECTOR, "figure svg"))
        assert len(await browse(chart_sizes, driver)) >= 1
        assert await browse(console_errors, driver) == []
