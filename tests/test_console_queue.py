"""The console's queue of questions the bot could not answer, and its escalation figures,
over HTTP against the real bot: questions are sent by a physician through the stand-in,
requests are made, taken and closed through the escalation service."""

from __future__ import annotations

import re

from sqlmodel import select

from bot.console import access
from bot.console.models import ConsoleAudit, ContentRevision
from escalation.models import Escalation
from escalation.referents import add_referent
from knowledge.queue import EditorQuestion
from tests.botharness import Chat, texts
from tests.test_console_security import HOW_TO, REFERENT_93, _link, _login, console
from vvs.db import transaction

VALIDATOR, DOCTOR, ADMIN, REFERENT_75, REGIONAL = 501, 4242, 900, 750, 990
FLAGGED = "Combien de jours d'ITT pour une gifle reçue par un adulte ?"
ABSTAINED = "zorglubicide encore"
ABSTAINED_TEXT = "Le zorglubicide relève-t-il du secret ?"
REWORDED = "Quelle ITT fixer pour une gifle qui ne laisse aucune trace ?"
# what the physicians told the referents: never on the figures page
PRIVATE = ("Zébulon", "Quintal", "0611223344", "06 11 22 33 44", "menacée", "conjoint")


async def _send(api, text: str, flag: bool = True) -> None:
    """A physician sends a question to the editors through the bot."""
    chat = Chat(api, DOCTOR)
    if flag:
        await chat.say("c'est quoi l'ITT ?")
        await chat.press("Cette fiche ne répond pas")
    else:
        await chat.say(ABSTAINED)
    await chat.press("📨 Transmettre")
    await chat.say(text)
    assert "transmise" in texts(await chat.press("Oui, transmettre"))


async def _queue(services) -> dict[str, int]:
    async with services.sessions() as session:
        return {q.text: int(q.id or 0) for q in await session.exec(select(EditorQuestion))}


def _csrf(html: str) -> str:
    return html.split('name="csrf" value="')[1].split('"')[0]


async def _enrol_validator(services, clock) -> None:
    async with transaction(services.sessions) as session:
        await access.enrol(session, clock.now(), telegram_id=VALIDATOR, role="validator",
                           name="Dr Commission")


async def test_a_validator_rewords_a_question_into_a_sheet_or_dismisses_it(
        db, tmp_path, clock, aiohttp_client) -> None:
    async with console(db, tmp_path, clock, aiohttp_client) as (api, services, client):
        await _enrol_validator(services, clock)
        await _send(api, FLAGGED)
        await _send(api, ABSTAINED_TEXT, flag=False)
        queued = await _queue(services)
        await _login(client, await _link(api, VALIDATOR))
        assert "2 en attente" in await (await client.get("/console/")).text()
        # validate the sheet first: the reworded question sends it back to draft
        page = await (await client.get("/console/fiches/itt")).text()
        digest = page.split('name="digest" value="')[1].split('"')[0]
        done = await client.post("/console/fiches/itt/valider",
                                 data={"csrf": _csrf(page), "digest": digest})
        assert done.status == 200 and not services.content["knowledge"].entries["itt"].is_draft

        listing = await client.get("/console/questions")
        html = await listing.text()
        assert listing.status == 200
        assert FLAGGED.replace("'", "&#39;") in html and "zorglubicide relève" in html
        assert 'href="/console/fiches/itt"' in html and "jugée sans réponse" in html
        async with services.sessions() as session:
            owners = [q.owner for q in await session.exec(select(EditorQuestion))]
        for secret in (*owners, services.user_key(DOCTOR), str(DOCTOR)):
            assert secret not in html
        csrf = _csrf(html)

        reworded = await client.post(f"/console/questions/{queued[FLAGGED]}/reformuler",
                                     data={"csrf": csrf, "entry": "itt", "question": REWORDED},
                                     allow_redirects=False)
        assert reworded.status == 303
        assert reworded.headers["Location"] == "/console/questions?fait=ajoutee"
        entry_file = services.registry.root / "knowledge" / "entries" / "itt.md"
        assert f'  - "{REWORDED}"' in entry_file.read_text(encoding="utf-8")
        entry = services.content["knowledge"].entries["itt"]
        assert REWORDED in entry.questions and entry.is_draft  # validated, then changed
        assert FLAGGED not in await _queue(services)
        answer = texts(await Chat(api, 4343).say(REWORDED))  # the bot serves the new version
        assert entry.title in answer and "en cours de validation" in answer

        dismissed = await client.post(
            f"/console/questions/{queued[ABSTAINED_TEXT]}/ecarter",
            data={"csrf": csrf}, allow_redirects=False)
        assert dismissed.status == 303 and await _queue(services) == {}
        again = await client.post(f"/console/questions/{queued[FLAGGED]}/ecarter",
                                  data={"csrf": csrf})
        assert again.status == 404
        shown = await (await client.get("/console/questions?fait=ecartee")).text()
        assert "Aucune question en attente" in shown and "texte est supprimé" in shown

        async with services.sessions() as session:
            audit = list(await session.exec(select(ConsoleAudit)))
            revisions = list(await session.exec(select(ContentRevision)))
        actions = {(a.action, a.target) for a in audit}
        assert ("question ajoutée", "knowledge/entries/itt.md") in actions
        assert ("question écartée", f"question reçue n° {queued[ABSTAINED_TEXT]}") in actions
        for row in [*(str(vars(a)) for a in audit), *(r.text for r in revisions)]:
            assert "gifle reçue" not in row and "zorglubicide" not in row


async def test_a_reworded_question_is_checked_before_it_is_published(
        db, tmp_path, clock, aiohttp_client) -> None:
    async with console(db, tmp_path, clock, aiohttp_client) as (api, services, client):
        await _enrol_validator(services, clock)
        await _send(api, FLAGGED)
        [question_id] = (await _queue(services)).values()
        await _login(client, await _link(api, VALIDATOR))
        csrf = _csrf(await (await client.get("/console/questions")).text())
        entry_file = services.registry.root / "knowledge" / "entries" / "itt.md"
        before = entry_file.read_text(encoding="utf-8")
        existing = services.content["knowledge"].entries["itt"].questions[0]
        for question, said in (
                ("Mme Ravachol née le 12/03/1990 a-t-elle droit à une ITT ?", "semble contenir"),
                (existing, "figure déjà"), ("   ", "Écrivez la question")):
            refused = await client.post(f"/console/questions/{question_id}/reformuler",
                                        data={"csrf": csrf, "entry": "itt",
                                              "question": question})
            assert refused.status == 422 and said in await refused.text(), question
        unknown = await client.post(f"/console/questions/{question_id}/reformuler",
                                    data={"csrf": csrf, "entry": "../../etc/passwd",
                                          "question": REWORDED})
        assert unknown.status == 404
        assert entry_file.read_text(encoding="utf-8") == before
        assert list((await _queue(services)).values()) == [question_id]  # still waiting


async def test_a_referent_or_a_physician_cannot_see_the_queue(db, tmp_path, clock,
                                                              aiohttp_client) -> None:
    async with console(db, tmp_path, clock, aiohttp_client) as (api, services, client):
        await _send(api, FLAGGED)
        [question_id] = (await _queue(services)).values()
        page = await client.get("/console/questions")  # a physician has no session
        assert page.status == 403 and HOW_TO in await page.text()
        assert FLAGGED.replace("'", "&#39;") not in await page.text()
        await _login(client, await _link(api, REFERENT_93))
        home = await (await client.get("/console/")).text()
        assert "/console/questions" not in home and "/console/demandes" in home
        refused = await client.get("/console/questions")
        assert refused.status == 403 and "gifle" not in await refused.text()
        dismissed = await client.post(f"/console/questions/{question_id}/ecarter",
                                      data={"csrf": _csrf(home)})
        assert dismissed.status == 403 and await _queue(services) == {FLAGGED: question_id}


# -- escalation figures ----------------------------------------------------------------------
def _cells(html: str, row_id: str) -> list[str]:
    found = re.search(rf'<tr id="{row_id}"[^>]*>(.*?)</tr>', html, re.S)
    assert found, row_id
    return [re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td>(.*?)</td>", found.group(1), re.S)]


async def _requests(services, clock) -> dict[str, Escalation]:
    """A (93) taken after 30 min, closed after 90; B (75) never taken; C (93) taken after
    10 min; D (93) waiting 1400 min; E (93) waiting 50 min. Now: 1500 min after A and B."""
    svc, made = services.escalations, {}

    async def create(name: str, dept: str, category: str) -> None:
        async with transaction(services.sessions) as session:
            made[name] = await svc.create(
                session, user_key=f"user-{name}", chat_id=8000 + len(made),
                name="Dr Zébulon Quintal", department=dept, category=category,
                phone="0611223344", message="Ma patiente est menacée par son conjoint violent")

    async def act(method: str, name: str, *args: object) -> None:
        async with transaction(services.sessions) as session:
            await getattr(svc, method)(session, made[name].id, *args)

    await create("A", "93", "mineur")
    await create("B", "75", "victime")
    clock.advance(minutes=30)
    await act("take", "A", REFERENT_93)
    clock.advance(minutes=60)
    await act("close", "A", REFERENT_93, "conseil")
    await create("C", "93", "ip")
    clock.advance(minutes=10)
    await act("take", "C", REFERENT_93)
    await create("D", "93", "majeur")
    clock.advance(minutes=1350)
    await create("E", "93", "autre")
    clock.advance(minutes=50)
    return made


async def test_escalation_figures_by_role_without_any_personal_detail(
        db, tmp_path, clock, aiohttp_client) -> None:
    async with console(db, tmp_path, clock, aiohttp_client) as (api, services, client):
        async with transaction(services.sessions) as session:
            await add_referent(services.escalations, session, department="75",
                               telegram_id=REFERENT_75, name="Dr Référent 75")
            await add_referent(services.escalations, session, department="idf",
                               telegram_id=REGIONAL, name="Dr Région")
        await _enrol_validator(services, clock)
        made = await _requests(services, clock)

        await _login(client, await _link(api, ADMIN))
        page = await client.get("/console/demandes")
        html = await page.text()
        assert page.status == 200
        # waiting, overdue (> 4 h), past the regional delay (> 24 h), oldest, in charge
        assert _cells(html, "open-93") == ["2", "1", "0", "23,3 h", "1"]
        assert _cells(html, "open-75") == ["1", "1", "1", "25 h", "0"]
        assert _cells(html, "open-92") == ["0", "0", "0", "—", "0"]
        assert _cells(html, "open-total") == ["3", "2", "1", "25 h", "1"]
        # created, taken, median, p90, closed, median, p90 (minutes since creation)
        assert _cells(html, "delays-93") == ["4", "2", "20 min", "30 min", "1", "90 min",
                                             "90 min"]
        assert _cells(html, "delays-75") == ["1", "0", "—", "—", "0", "—", "—"]
        assert _cells(html, "delays-total")[:4] == ["5", "2", "20 min", "30 min"]
        open_ids = re.findall(r'<tr id="request-(\d+)"', html)
        assert open_ids == [str(made[n].id) for n in ("B", "C", "D", "E")]  # oldest first
        assert f'id="request-{made["D"].id}" class="overdue"' in html
        for private in PRIVATE:
            assert private not in html, private

        client.session.cookie_jar.clear()
        await _login(client, await _link(api, REFERENT_93))
        html = await (await client.get("/console/demandes")).text()
        assert _cells(html, "open-93") == ["2", "1", "0", "23,3 h", "1"]
        assert _cells(html, "delays-93")[:3] == ["4", "2", "20 min"]
        for absent in ('id="open-75"', 'id="delays-75"', 'id="open-total"',
                       f'id="request-{made["B"].id}"'):
            assert absent not in html, absent
        for private in PRIVATE:
            assert private not in html, private

        client.session.cookie_jar.clear()
        await _login(client, await _link(api, REGIONAL))  # the regional council: all
        html = await (await client.get("/console/demandes")).text()
        assert _cells(html, "open-75")[0] == "1" and 'id="open-total"' in html

        client.session.cookie_jar.clear()
        await _login(client, await _link(api, VALIDATOR))
        assert (await client.get("/console/demandes")).status == 403
        client.session.cookie_jar.clear()
        assert (await client.get("/console/demandes")).status == 403  # no session
