"""Flows through the real bot: menu, deep links, back/restart, a restart of the bot mid-flow,
stale buttons, PDF documents read back with pdftotext."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.botharness import Chat, buttons, make_settings, running_bot, texts

DOCTOR = 801
needs_pdftotext = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                     reason="poppler-utils not installed")


def pdf_text(content: bytes, tmp_path: Path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(content)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


@needs_pdftotext
async def test_minor_offence_to_signalement_with_pdf(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path)) as (api, services):
        chat = Chat(api, DOCTOR)
        sent = await chat.command("/start mineur")
        assert "danger grave et immédiat" in texts(sent)
        await chat.press("Non")
        await chat.press("infraction")
        sent = await chat.press("Seine-Saint-Denis")
        outcome = texts(sent)
        assert "procureur" in outcome and "CRIP" in outcome
        assert "Bobigny" in outcome  # the parquet competent for the 93, from the annuaire
        sent = await chat.press("Modèle de signalement")
        docs = [m.document for m in sent if m.document is not None]
        assert len(docs) == 1 and docs[0].filename.endswith(".pdf")
        # The caption is shown once, with the document (it was also sent as a text message).
        assert sum("Modèle indicatif" in m.plain for m in sent) == 1
        text = pdf_text(docs[0].content, tmp_path)
        assert "modèle indicatif" in text.lower()
        assert "Bobigny" in text and "226-14" in text
        async with services.sessions() as session:
            from sqlalchemy import select

            from vvs.models import Event
            kinds = (await session.exec(select(Event.kind, Event.detail))).all()
        assert ("flow_outcome", "signalement") in [tuple(k) for k in kinds]


async def test_back_restart_and_stale_button(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path)) as (api, _s):
        chat = Chat(api, DOCTOR)
        await chat.command("/start mineur")
        first_step = chat.button_message("Non")
        sent = await chat.press("Non")
        assert "infraction" in texts(sent)
        sent = await chat.press("Retour")
        assert "danger grave et immédiat" in texts(sent)
        # the keyboard of the question already answered is now stale
        sent = await chat.press_data(first_step.button_data("Non"), first_step.message_id)
        assert "infraction" in texts(sent)
        sent = await chat.press_data(first_step.button_data("Oui"), first_step.message_id)
        assert "n'est plus valable" in texts(sent) or "expiré" in texts(sent)
        assert "infraction" in texts(sent)  # the current step is shown again
        sent = await chat.press("Recommencer")
        assert "danger grave et immédiat" in texts(sent)
        sent = await chat.press_data("f:c:danger:99")
        assert "n'est plus valable" in texts(sent) or "expiré" in texts(sent)


async def test_flow_survives_a_restart_of_the_bot(db, tmp_path: Path) -> None:
    from bot.fakeapi import FakeBotAPI
    from tests.botharness import TOKEN

    settings = make_settings(db.url, tmp_path)
    async with FakeBotAPI(token=TOKEN) as api:  # one Telegram: update ids keep increasing
        async with running_bot(settings, api=api):
            chat = Chat(api, DOCTOR)
            await chat.command("/start majeur")
            step = chat.button_message()
        async with running_bot(settings, api=api):
            await _press_after_restart(api, step)


async def _press_after_restart(api, step) -> None:
    """The new process continues where the physician was: the old keyboard still works."""
    label = step.buttons[0].text
    sent = await Chat(api, DOCTOR).press_data(step.button_data(label), step.message_id)
    assert sent and "n'est plus valable" not in texts(sent)
    assert buttons(sent)


async def test_a_procedure_stored_by_the_previous_version_continues(db, tmp_path: Path
                                                                   ) -> None:
    """A physician mid-procedure during a deploy: the state the running version stored
    (version 1, the engine's dict) reads, the old keyboard still works, « Retour » knows the
    path, and the state is written back in the new shape."""
    from vvs.db import transaction
    from vvs.models import UserState

    async with running_bot(make_settings(db.url, tmp_path)) as (api, services):
        chat = Chat(api, DOCTOR)
        await chat.command("/start mineur")
        await chat.press("Non")  # at « faits », the keyboard the physician has on screen
        step = chat.button_message("infraction")
        key = services.user_key(DOCTOR)
        async with transaction(services.sessions) as session:  # as version 1 wrote it
            row = await session.get(UserState, key)
            row.data = {"v": 1, "asked_dept": None, "state": {
                "v": 1, "origin": "mineur", "flow": "mineur", "step": "faits",
                "path": ["mineur:danger"], "answers": {"mineur:danger": 1},
                "department": None, "home": None}}
            session.add(row)
        sent = await chat.press_data(step.button_data("infraction"), step.message_id)
        assert "n'est plus valable" not in texts(sent)
        assert "93 Seine-Saint-Denis" in buttons(sent)
        sent = await chat.press("Retour")
        assert "infraction" in texts(sent)  # back to « faits »: the path came through
        sent = await chat.press("Retour")
        assert "danger grave et immédiat" in texts(sent)
        async with services.sessions() as session:
            data = (await session.get(UserState, key)).data
        assert data == {"v": 2, "origin": "mineur", "flow": "mineur", "step": "danger",
                        "path": [], "answers": {}, "answered_dept": None, "home": None}


async def test_emergency_phrase_mid_flow_then_flow_continues(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path)) as (api, _s):
        chat = Chat(api, DOCTOR)
        await chat.command("/start majeur")
        sent = await chat.say("il est devant la porte avec un couteau")
        assert "112" in sent[0].plain and "114" in sent[0].plain
        assert "toujours en cours" in texts(sent)


async def test_question_answered_with_sources_or_abstains(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path)) as (api, _s):
        chat = Chat(api, DOCTOR)
        sent = await chat.say("c koi la crip ?")
        card = texts(sent)
        assert "CRIP" in card and "en cours de validation" in card and "Mis à jour" in card
        sent = await chat.press("En savoir plus")
        assert len(texts(sent)) > 100
        sent = await chat.say("comment remplir un certificat de décès ?")
        assert "pas de réponse sûre" in texts(sent)
        assert any("référent" in b for b in buttons(sent))
        sent = await chat.say("ma patiente Mme Dupont née le 12/03/1980 refuse le signalement")
        assert "semble contenir" in texts(sent)


async def test_victim_route_to_its_end_then_referent_offer(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path)) as (api, _s):
        chat = Chat(api, DOCTOR)
        sent = await chat.command("/victime")
        assert "17" in texts(sent) or "112" in texts(sent)  # safety first
        await chat.press("Oui")
        sent = await chat.press("Agression")
        assert "Salarié" in " ".join(buttons(sent))  # no information screen on the way
        await chat.press("Libéral")
        sent = await chat.press("Hauts-de-Seine")
        end = texts(sent)
        assert "Conseil départemental" in end or "CDOM" in end
        assert any("référent" in b for b in buttons(sent))
        sent = await chat.press("référent")
        assert "pas une ligne d'urgence" in texts(sent) or "urgence" in texts(sent)


async def test_adult_flow_sends_a_minor_to_the_minor_path(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path)) as (api, _s):
        chat = Chat(api, DOCTOR)
        await chat.command("/start majeur")
        sent = await chat.press("moins de 18 ans")
    assert "danger grave et immédiat" in texts(sent)  # the minor flow's first question


async def test_sheet_opened_from_a_procedure_shows_the_draft_banner(db, tmp_path: Path) -> None:
    """The 📚 buttons of an outcome open the entry's details (k:more:<id>) without its card:
    the « contenu en cours de validation » banner must be there too."""
    async with running_bot(make_settings(db.url, tmp_path)) as (api, _s):
        chat = Chat(api, DOCTOR)
        await chat.command("/start mineur")
        await chat.press("Non")
        await chat.press("infraction")
        sent = await chat.press("Seine-Saint-Denis")
        sheets = [b for b in buttons(sent) if b.startswith("📚")]
        assert sheets
        outcome = chat.button_message("📚")
        assert outcome.button_data(sheets[0]).startswith("k:more:")
        sent = await chat.press(sheets[0])
        sheet = texts(sent)
        assert "Contenu en cours de validation" in sheet
        assert sheet.index("Contenu en cours de validation") < 200  # under the title


NEW_FLOW = """\
id: essai
title: "Parcours d'essai"
title_en: "Trial pathway"
category: essai
start: question
menu: {order: 35, label: "🧪 Parcours d'essai", label_en: "🧪 Trial pathway"}
report: {order: 5, label: "🧪 Une victime d'essai", label_en: "🧪 A trial victim"}
steps:
  - id: question
    text: "Une question d'essai ?"
    choices:
      - {label: "Oui", next: fin}
      - {label: "Non", next: fin}
    en: {source: 4cd7e7187a1c, text: "A trial question?", choices: ["Yes", "No"]}
outcomes:
  - id: fin
    title: "Fin de l'essai"
    now: "Rien à faire : c'est un essai."
    en: {source: 439445b882e9, title: "End of the trial", now: "Nothing to do: it is a trial."}
    addressee: aucun
    basis: [secret-professionnel]
"""


async def test_a_new_flow_file_reaches_the_menu_after_reload(db, tmp_path: Path) -> None:
    """Dropping a flow file, then /recharger: it is in the menu and in /signaler, in its
    order and with its labels, and it runs; no code knows it."""
    root = Path(__file__).resolve().parent.parent
    content = tmp_path / "content"
    for sub in ("knowledge", "annuaire/data", "bot/flows/data"):
        shutil.copytree(root / sub, content / sub,
                        ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    settings = make_settings(db.url, tmp_path, content_dir=content)
    async with running_bot(settings) as (api, _s):
        admin, chat = Chat(api, 900), Chat(api, DOCTOR)
        assert not any("essai" in b for b in buttons(await chat.command("/menu")))
        (content / "bot" / "flows" / "data" / "essai.yaml").write_text(NEW_FLOW)
        assert "rechargé" in texts(await admin.command("/recharger"))
        menu = buttons(await chat.command("/menu"))
        assert menu.index("🧪 Parcours d'essai") == menu.index("📨 Information préoccupante") + 1
        assert buttons(await chat.command("/signaler"))[0] == "🧪 Une victime d'essai"
        sent = await chat.press("🧪 Parcours d'essai")
        assert "Une question d'essai ?" in texts(sent)
        sent = await chat.press("Oui")
        assert "Fin de l'essai" in texts(sent)
        english = Chat(api, DOCTOR + 1, language="en")
        assert "🧪 Trial pathway" in buttons(await english.command("/menu"))
        sent = await english.press("🧪 Trial pathway")
        assert "A trial question?" in texts(sent) and "not yet validated" in texts(sent)
        sent = await english.press("Yes")
        assert "End of the trial" in texts(sent) and "essai" not in texts(sent)
