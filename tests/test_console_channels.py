"""The directory entry form of the console, over HTTP against the real bot: a referent
corrects and adds channels (uses, source, dates), checked like the file editor, published
like any content, audited; refusals leave the file as it was."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from sqlmodel import select

from bot.console import access
from bot.console.models import ConsoleAudit, ContentRevision
from tests.test_console_security import HOW_TO, REFERENT_93, _link, _login, console
from vvs.db import transaction

VALIDATOR, DOCTOR = 501, 4242
ENTRY, FORM = "sos-victimes-93", "/console/annuaire/93/sos-victimes-93"
# A phone the test copy is given before the referent corrects it (the shipped 93 has none),
# with an internal note the form does not show and must keep.
SEEDED = """  channels:
  - type: phone
    value: 01 48 00 00 00
    uses:
    - aide-victimes
    source: dépliant 2019
    source_date: '2019'
    notes: standard du siège
"""


def _file(services: Any, dept: str = "93") -> Path:
    return Path(services.registry.root) / "annuaire" / "data" / f"{dept}.yaml"


def _seed(services: Any) -> str:
    """Give the entry a phone in the test copy (before `website:`); the new text."""
    path = _file(services)
    text = path.read_text(encoding="utf-8")
    anchor = "  website: https://sosvictimes93.com\n"
    assert text.count(anchor) == 1
    text = text.replace(anchor, SEEDED + anchor)
    path.write_text(text, encoding="utf-8")
    return text


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no {name} in the page"
    return found.group(1)


def _outside(text: str, start: str, end: str) -> tuple[list[str], list[str]]:
    """The file's lines before `start` and from `end` on (first occurrence after start)."""
    lines = text.split("\n")
    first = lines.index(start)
    last = next(i for i in range(first + 1, len(lines)) if lines[i] == end)
    return lines[:first], lines[last:]


async def _audit(services: Any) -> list[ConsoleAudit]:
    async with services.sessions() as session:
        return list(await session.exec(select(ConsoleAudit)))


async def test_a_referent_corrects_a_phone_and_adds_a_channel(db, tmp_path, clock,
                                                              aiohttp_client) -> None:
    async with console(db, tmp_path, clock, aiohttp_client) as (api, services, client):
        before = _seed(services)
        await _login(client, await _link(api, REFERENT_93))
        department = await (await client.get("/console/annuaire/93")).text()
        assert f'href="{FORM}"' in department and "Corriger les coordonnées" in department
        form = await client.get(FORM)
        html = await form.text()
        assert form.status == 200
        assert 'value="01 48 00 00 00"' in html and 'id="c0-use-aide-victimes"' in html
        assert re.search(r'<input type="checkbox" id="c0-use-aide-victimes" name="c0-uses" '
                         r'value="aide-victimes" checked>', html)
        assert '<label for="c1-value">' in html and 'type="date" id="c1-verified_on"' in html
        assert "signalement d&#39;un mineur au procureur" in html  # the uses' French labels
        data = {"csrf": _hidden(html, "csrf"), "digest": _hidden(html, "digest"),
                "count": "1",
                "c0-type": "phone", "c0-value": "01 48 30 00 00", "c0-uses": "aide-victimes",
                "c0-source": "dépliant 2019", "c0-source_date": "2019",
                "c1-type": "email", "c1-value": "accueil@sosvictimes93.example.org",
                "c1-uses": "aide-victimes", "c1-instructions": "Objet : demande d'aide",
                "c1-source": "https://sosvictimes93.com/contact", "c1-source_date": "2025-06",
                "c1-verified_on": "2026-01-05"}
        preview = await client.post(FORM, data={**data, "action": "preview"})
        shown = await preview.text()
        assert preview.status == 200 and 'id="publish"' in shown
        assert "+    value: 01 48 30 00 00" in shown and "-    value: 01 48 00 00 00" in shown
        assert _file(services).read_text(encoding="utf-8") == before  # nothing written yet

        published = await client.post(FORM, data={**data, "action": "publish"})
        done = await published.text()
        assert published.status == 200 and 'id="published"' in done
        assert f'href="{FORM}" id="back"' in done
        after = _file(services).read_text(encoding="utf-8")
        # only the entry's channels block changed, byte for byte elsewhere
        assert _outside(after, "  channels:", "  website: https://sosvictimes93.com") == \
            _outside(before, "  channels:", "  website: https://sosvictimes93.com")
        assert """  channels:
  - type: phone
    value: 01 48 30 00 00
    uses:
    - aide-victimes
    source: dépliant 2019
    source_date: '2019'
    notes: standard du siège
  - type: email
    value: accueil@sosvictimes93.example.org
    uses:
    - aide-victimes
    instructions: 'Objet : demande d''aide'
    source: https://sosvictimes93.com/contact
    source_date: 2025-06
    verified_on: 2026-01-05
  website: https://sosvictimes93.com
""" in after
        # the bot serves it
        entry = services.content["annuaire"].get(ENTRY)
        assert entry is not None
        assert [(c.type, c.value) for c in entry.channels] == [
            ("phone", "01 48 30 00 00"), ("email", "accueil@sosvictimes93.example.org")]
        email = entry.channels[1]
        assert (email.uses, email.source, email.source_date, email.verified_on,
                email.instructions) == (("aide-victimes",), "https://sosvictimes93.com/contact",
                                        "2025-06", dt.date(2026, 1, 5),
                                        "Objet : demande d'aide")
        # audited, with the versions kept for a roll back
        rows = [a for a in await _audit(services) if a.action == "coordonnées corrigées"]
        assert len(rows) == 1 and rows[0].target == "annuaire/data/93.yaml"
        assert rows[0].role == "referent" and rows[0].name == "Dr Référente 93"
        assert ENTRY in (rows[0].detail or "")
        async with services.sessions() as session:
            kept = list(await session.exec(select(ContentRevision).where(
                ContentRevision.path == "annuaire/data/93.yaml")))
        assert [r.text for r in kept] == [before, after]

        # removing the phone: the entry keeps only the e-mail
        html = await (await client.get(FORM)).text()
        removed = {**data, "csrf": _hidden(html, "csrf"), "digest": _hidden(html, "digest"),
                   "count": "2", "c0-delete": "1", "c1-type": "email",
                   "c1-value": "accueil@sosvictimes93.example.org", "c1-uses": "aide-victimes",
                   "c1-source": "https://sosvictimes93.com/contact", "c2-value": "",
                   "action": "publish"}
        assert (await client.post(FORM, data=removed)).status == 200
        entry = services.content["annuaire"].get(ENTRY)
        assert entry is not None and [c.type for c in entry.channels] == ["email"]


async def test_a_channel_without_a_use_is_refused_with_the_loaders_error(
        db, tmp_path, clock, aiohttp_client) -> None:
    async with console(db, tmp_path, clock, aiohttp_client) as (api, services, client):
        path = _file(services)
        before = path.read_text(encoding="utf-8")
        await _login(client, await _link(api, REFERENT_93))
        html = await (await client.get(FORM)).text()
        assert 'id="c0-type"' in html and 'id="c1-type"' not in html  # only the new row
        data = {"csrf": _hidden(html, "csrf"), "digest": _hidden(html, "digest"), "count": "0",
                "c0-type": "phone", "c0-value": "01 48 30 00 00",
                "c0-source": "dépliant 2019", "c0-verified_on": "2026-01-05"}
        # the entry gains `channels:` before `website:`; the item's `uses` is two lines below
        line = before.split("\n").index("  website: https://sosvictimes93.com") + 1 + 3
        for action in ("preview", "publish"):
            refused = await client.post(FORM, data={**data, "action": action})
            shown = await refused.text()
            assert refused.status == 422, action
            assert (f"<code>annuaire/data/93.yaml:{line}</code> [channels[1].uses] : "
                    "canal sans usage") in shown, action
            assert 'id="publish"' not in shown and 'value="01 48 30 00 00"' in shown
            assert path.read_text(encoding="utf-8") == before
        entry = services.content["annuaire"].get(ENTRY)
        assert entry is not None and entry.channels == ()
        assert not [a for a in await _audit(services) if a.action == "coordonnées corrigées"]


async def test_a_referent_corrects_only_their_own_departement(db, tmp_path, clock,
                                                               aiohttp_client) -> None:
    async with console(db, tmp_path, clock, aiohttp_client) as (api, services, client):
        data75 = _file(services, "75")
        before = data75.read_text(encoding="utf-8")
        # no session: the how-to page
        assert HOW_TO in await (await client.get("/console/annuaire/75/crip-75")).text()
        await _login(client, await _link(api, REFERENT_93))
        own = await client.get(FORM)
        html = await own.text()
        assert own.status == 200 and 'id="c0-type"' in html
        other = await client.get("/console/annuaire/75/crip-75")
        assert other.status == 403 and "ce département n&#39;est pas le vôtre" in \
            await other.text()
        forged = {"csrf": _hidden(html, "csrf"), "digest": "x", "count": "1",
                  "c0-type": "email", "c0-value": "pirate@example.org",
                  "c0-uses": "information-preoccupante", "c0-source": "moi",
                  "action": "publish"}
        posted = await client.post("/console/annuaire/75/crip-75", data=forged)
        assert posted.status == 403 and data75.read_text(encoding="utf-8") == before
        # a 75 entry under the 93 address, or an unknown id: not found
        assert (await client.get("/console/annuaire/93/crip-75")).status == 404
        missing = await client.get("/console/annuaire/93/nexiste-pas")
        assert missing.status == 404 and "entrée inconnue" in await missing.text()
        assert (await client.post("/console/annuaire/93/crip-75", data=forged)).status == 404
        assert data75.read_text(encoding="utf-8") == before

        # a validator may correct any département; a physician gets the how-to page
        async with transaction(services.sessions) as session:
            await access.enrol(session, clock.now(), telegram_id=VALIDATOR, role="validator",
                               name="Dr Commission")
        client.session.cookie_jar.clear()
        await _login(client, await _link(api, VALIDATOR))
        page = await client.get("/console/annuaire/75/crip-75")
        assert page.status == 200 and 'value="crip75@paris.fr"' in await page.text()
        client.session.cookie_jar.clear()
        assert HOW_TO in await (await client.get(FORM)).text()


async def test_the_form_without_its_csrf_token_changes_nothing(db, tmp_path, clock,
                                                               aiohttp_client) -> None:
    async with console(db, tmp_path, clock, aiohttp_client) as (api, services, client):
        path = _file(services)
        before = path.read_text(encoding="utf-8")
        await _login(client, await _link(api, REFERENT_93))
        html = await (await client.get(FORM)).text()
        data = {"digest": _hidden(html, "digest"), "count": "0", "c0-type": "phone",
                "c0-value": "01 48 30 00 00", "c0-uses": "aide-victimes",
                "c0-source": "dépliant 2019"}
        checked = await client.post(FORM, data={**data, "csrf": _hidden(html, "csrf"),
                                                "action": "preview"})
        assert checked.status == 200 and "+  - type: phone" in await checked.text()
        for token in ({}, {"csrf": "wrong"}):
            refused = await client.post(FORM, data={**data, **token, "action": "publish"})
            assert refused.status == 403 and "Jeton de formulaire" in await refused.text()
        assert path.read_text(encoding="utf-8") == before
        entry = services.content["annuaire"].get(ENTRY)
        assert entry is not None and entry.channels == ()
