"""Questions the bot could not answer, sent to the editors' queue, through the real bot and
the local Bot API stand-in: « Cette fiche ne répond pas » or an abstention offers it; only
the physician's explicit « Oui » keeps the text they wrote (after the identity check); a
refusal, an identity or a forged button keeps nothing; /effacer and the retention job
delete it; the events say what happened without a pseudonym or a text."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlmodel import col, select

from knowledge.queue import EDITORS, EditorQuestion, owner_of, purge
from tests.botharness import Chat, buttons, make_settings, running_bot, texts
from vvs.clock import FakeClock
from vvs.db import transaction
from vvs.models import Event, UserState

DOCTOR, OTHER = 1501, 1502
SEND = "📨 Transmettre"
QUESTION = "Quelle ITT retenir pour une gifle sans lésion visible ?"


async def _rows(services) -> list[EditorQuestion]:
    async with services.sessions() as session:
        return list(await session.exec(select(EditorQuestion).order_by(col(EditorQuestion.id))))


async def _events(services, kind: str) -> list[Event]:
    async with services.sessions() as session:
        return list(await session.exec(select(Event).where(col(Event.kind) == kind)))


async def _state(services, user_id: int) -> UserState | None:
    async with services.sessions() as session:
        return await session.get(UserState, services.user_key(user_id))


async def _flag_and_write(chat: Chat, text: str = QUESTION) -> list:
    """Ask about the ITT, say the sheet does not answer, write the question: the screen
    that asks for confirmation."""
    answer = await chat.say("c'est quoi l'ITT ?")
    assert "Cette fiche ne répond pas" in buttons(answer)
    offer = await chat.press("Cette fiche ne répond pas")
    assert "rédacteurs" in texts(offer) and any(SEND in b for b in buttons(offer))
    asked = await chat.press(SEND)
    assert "Écrivez la question" in texts(asked)
    return await chat.say(text)


async def test_not_helpful_then_consent_keeps_only_the_confirmed_text(db, tmp_path: Path
                                                                      ) -> None:
    async with running_bot(make_settings(db.url, tmp_path)) as (api, services):
        chat = Chat(api, DOCTOR)
        confirm = await _flag_and_write(chat)
        assert QUESTION in texts(confirm) and "90 jours" in texts(confirm)
        assert await _rows(services) == []  # nothing kept before « Oui »
        state = await _state(services, DOCTOR)  # the text waits in the conversation state
        assert state is not None and state.mode == EDITORS and state.data["text"] == QUESTION
        sent = await chat.press("Oui, transmettre")
        assert "transmise aux rédacteurs" in texts(sent) and "🏠 Menu" in buttons(sent)
        [row] = await _rows(services)
        assert (row.text, row.origin, row.entry_id) == (QUESTION, "answer", "itt")
        assert row.nearest and "itt" in row.nearest  # the search's suggestions at that time
        assert row.received_on == row.received_on.replace(hour=0, minute=0, second=0)
        user_key = services.user_key(DOCTOR)
        assert row.owner == owner_of(services.pseudonym_key, user_key) != user_key
        state = await _state(services, DOCTOR)  # cleared once sent
        assert state is None or (state.mode != EDITORS and QUESTION not in str(state.data))
        [flag] = await _events(services, "question_not_helpful")
        assert (flag.detail, flag.user_key) == ("itt", user_key)
        [to_editors] = await _events(services, "question_to_editors")
        assert (to_editors.category, to_editors.detail, to_editors.user_key) == (
            "answer", "itt", None)  # never joined to the physician's pseudonym
        again = await chat.press_data("k:edok", sent[-1].message_id)  # a second « Oui »
        assert "plus valable" in texts(again) and len(await _rows(services)) == 1


async def test_refusing_keeps_nothing(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path)) as (api, services):
        chat = Chat(api, DOCTOR)
        await _flag_and_write(chat)
        declined = await chat.press("Non, ne rien transmettre")
        assert "rien n'a été transmis" in texts(declined)
        state = await _state(services, DOCTOR)
        assert state is None or QUESTION not in str(state.data)
        # « Annuler » at the writing step, then a « Oui » pressed on the old screen
        await chat.say("c'est quoi l'ITT ?")
        await chat.press("Cette fiche ne répond pas")
        await chat.press(SEND)
        await chat.press("Annuler")
        stale = await chat.press("Oui, transmettre")
        assert "plus valable" in texts(stale)
        assert await _rows(services) == []
        assert await _events(services, "question_to_editors") == []


async def test_an_identity_is_refused_and_nothing_of_it_is_kept(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path)) as (api, services):
        chat = Chat(api, DOCTOR)
        refused = await _flag_and_write(
            chat, "Mme Zéphirine Quintaloup née le 12/03/1990 a une ITT de combien ?")
        assert "semble contenir" in texts(refused) and "rien n'a été transmis" in texts(refused)
        assert "Oui, transmettre" not in " ".join(buttons(refused))
        state = await _state(services, DOCTOR)
        assert state is not None and "Quintaloup" not in str(state.data)
        stale = await chat.press_data("k:edok")  # a forged « Oui » at the writing step
        assert "plus valable" in texts(stale) and "Écrivez la question" in texts(stale)
        assert await _rows(services) == []
        confirm = await chat.say(QUESTION)  # rewritten without the identity: accepted
        assert QUESTION in texts(confirm)
        await chat.press("Oui, transmettre")
        assert [r.text for r in await _rows(services)] == [QUESTION]


async def test_an_abstention_offers_it(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path)) as (api, services):
        chat = Chat(api, DOCTOR)
        abstained = await chat.say("zorglubicide encore")
        assert "pas de réponse sûre" in texts(abstained)
        assert any(SEND in b for b in buttons(abstained))
        await chat.press(SEND)
        await chat.say("Le zorglubicide est-il soumis au secret ?")
        await chat.press("Oui, transmettre")
        [row] = await _rows(services)
        assert (row.origin, row.entry_id) == ("abstention", None)
        [event] = await _events(services, "question_to_editors")
        assert event.category == "abstention" and event.user_key is None


async def test_forged_buttons_are_answered_politely(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path)) as (api, services):
        chat = Chat(api, DOCTOR)
        await chat.command("/start")
        for data in ("k:edok", "k:ed:inconnue", "k:nr:inconnue", "k:ed:itt:x", "k:edok:1",
                     "k:nr:" + "x" * 60):
            sent = await chat.press_data(data)
            assert "plus valable" in texts(sent), data
            assert "Désolé" not in texts(sent)
        assert await _rows(services) == []
        assert await _events(services, "question_not_helpful") == []


async def test_effacer_deletes_the_physicians_questions_only(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path)) as (api, services):
        for user in (DOCTOR, OTHER):
            chat = Chat(api, user)
            await _flag_and_write(chat, f"{QUESTION} (n° {user})")
            await chat.press("Oui, transmettre")
        assert len(await _rows(services)) == 2
        chat = Chat(api, DOCTOR)
        asked = await chat.command("/effacer")
        assert "questions transmises aux rédacteurs" in texts(asked)
        erased = await chat.press("Oui, tout effacer")
        assert "transmises aux rédacteurs des fiches" in texts(erased).split("rien à effacer")[0]
        assert [r.text for r in await _rows(services)] == [f"{QUESTION} (n° {OTHER})"]


async def test_the_retention_job_deletes_old_questions(db, tmp_path: Path) -> None:
    clock = FakeClock()
    settings = make_settings(db.url, tmp_path, question_retention_days=90)
    async with running_bot(settings, clock=clock) as (api, services):
        chat = Chat(api, DOCTOR)
        await _flag_and_write(chat)
        await chat.press("Oui, transmettre")
        clock.advance(days=89)
        await services.jobs.run_due()  # the hourly job, scheduled at start-up
        assert len(await _rows(services)) == 1
        clock.advance(days=1)
        for _ in range(2):  # the job of the next hour runs
            await services.jobs.run_due()
            clock.advance(hours=1)
        assert await _rows(services) == []


async def test_purge_keeps_what_is_younger_than_the_retention(db) -> None:
    clock = FakeClock()
    async with transaction(db.sessions) as session:
        session.add(EditorQuestion(text="q", origin="abstention", nearest=[],
                                   received_on=clock.now() - timedelta(days=10), owner="o"))
    async with transaction(db.sessions) as session:
        assert await purge(session, clock.now(), timedelta(days=11)) == 0
        assert await purge(session, clock.now(), timedelta(days=10)) == 1


async def test_the_privacy_notice_tells_about_the_queue(db, tmp_path: Path) -> None:
    settings = make_settings(db.url, tmp_path, question_retention_days=45)
    async with running_bot(settings, content_sets=[]) as (api, _services):
        for language, words in (("fr", ("rédacteurs", "45 jours", "/effacer")),
                                ("en", ("editors", "45 days", "/effacer"))):
            shown = texts(await Chat(api, DOCTOR, language=language).command(
                "/confidentialite"))
            for word in words:
                assert word in shown, (language, word)
