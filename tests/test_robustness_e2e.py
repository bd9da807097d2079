"""Robustness through the real bot: the Bot API failing mid-turn, input a mode does not
expect, group chats. Each test drives the Application through the local stand-in."""

from __future__ import annotations

from pathlib import Path

import pytest

from escalation import referents
from escalation.state import RelayState
from tests.botharness import Chat, buttons, make_settings, running_bot, texts
from tests.statekit import state_turn
from vvs.db import transaction

pytestmark = pytest.mark.asyncio
PHYS, REF, GROUP = 8101, 8201, -100555


async def _ready_to_send(api, services) -> Chat:
    async with transaction(services.sessions) as s:
        await referents.add_referent(services.escalations, s, department="93",
                                     telegram_id=REF, name="Dr Ref")
    doc = Chat(api, PHYS, first_name="Jeanne")
    await doc.command("/menu")
    await doc.press_data("e:new:victime")
    await doc.press("93")
    await doc.say("Ne pas partager")
    sent = await doc.say("Joignable après 18 h")
    assert "Envoyer" in buttons(sent)
    return doc


async def test_answer_lost_by_the_bot_api_after_commit_is_still_delivered(
        db, tmp_path: Path) -> None:
    """The request is created (committed) but its confirmation fails twice with 500: the
    physician must not be told "error, try again" (the request exists), and the confirmation
    must still arrive."""
    async with running_bot(make_settings(db.url, tmp_path), content_sets=[]) as (api,
                                                                                  services):
        doc = await _ready_to_send(api, services)
        api.fail_next("sendMessage", "500", times=2, chat_id=PHYS)
        sent = await doc.press("Envoyer")
        assert "une erreur s'est produite" not in texts(sent)
        await api.wait_for(lambda c: "Demande n°1 envoyée" in str(c.params.get("text")),
                           chat_id=PHYS, since=0, timeout=10)


async def test_document_that_fails_to_send_is_announced(db, tmp_path: Path) -> None:
    """sendDocument fails: the user is told to press the button again (a PDF is never
    stored, so it cannot be queued), and the flow is still where it was."""
    async with running_bot(make_settings(db.url, tmp_path)) as (api, _s):
        chat = Chat(api, PHYS)
        await chat.command("/start mineur")
        await chat.press("Non")
        await chat.press("infraction")
        await chat.press("Seine-Saint-Denis")
        api.fail_next("sendDocument", "500", times=2, chat_id=PHYS)
        sent = await chat.press("Modèle de signalement")
        assert "une erreur s'est produite" not in texts(sent)
        await api.wait_for(lambda c: "appuyez de nouveau" in str(c.params.get("text")),
                           chat_id=PHYS, since=0)
        sent = await chat.press("Modèle de signalement")
        assert [m for m in sent if m.document is not None]


async def test_location_shared_mid_flow_keeps_the_flow(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path)) as (api, _s):
        chat = Chat(api, PHYS)
        await chat.command("/start mineur")
        await chat.press("Non")
        step = chat.button_message("infraction")
        sent = await chat.exchange(lambda: api.send_location(PHYS, 48.9362, 2.3574))
        assert "toujours en cours" in texts(sent)
        sent = await chat.press_data(step.button_data("infraction"), step.message_id)
        assert "n'est plus valable" not in texts(sent)
        assert "93 Seine-Saint-Denis" in buttons(sent)


async def test_location_shared_while_writing_a_request_keeps_the_draft(
        db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path)) as (api, services):
        doc = await _ready_to_send(api, services)
        await doc.exchange(lambda: api.send_location(PHYS, 48.9362, 2.3574))
        sent = await doc.press("Envoyer")
        assert "Demande n°1 envoyée" in texts(sent)


async def test_group_message_never_uses_the_private_conversation(db, tmp_path: Path) -> None:
    """A referent mid-way through a private procedure writes, or presses a stale button, in
    the referents' group: their private step is neither shown there nor changed."""
    async with running_bot(make_settings(db.url, tmp_path)) as (api, _s):
        ref = Chat(api, REF)
        await ref.command("/start mineur")  # a private flow in progress
        api.press_button(REF, 1, "f:c:danger:99", chat_id=GROUP)
        api.send_text(REF, "je regarde ça ce soir", chat_id=GROUP)
        await ref.command("/aide")  # private sentinel: everything before it was handled
        in_group = " ".join(m.plain for m in api.sent_messages(GROUP))
        assert "danger grave" not in in_group  # the private step is not rendered there
        assert "Que souhaitez-vous faire" not in in_group
        sent = await ref.press("Non")  # the private flow goes on where it was
        assert "infraction" in texts(sent)


async def test_text_in_a_mode_whose_object_is_gone_returns_to_idle(db, tmp_path: Path) -> None:
    """A relay whose request vanished: the next text is a question again, not stuck."""
    async with running_bot(make_settings(db.url, tmp_path)) as (api, services):
        chat = Chat(api, 9301)
        key = services.user_key(9301)
        async with state_turn(services.sessions, services.state, key) as turn:
            turn.conv.set_mode("relay", RelayState(999_999))  # to a deleted request
        first = await chat.say("bonjour")
        sent = await chat.say("c'est quoi une information préoccupante ?")
    assert "n'est plus valable" in texts(first)  # told once…
    assert "n'est plus valable" not in texts(sent)  # …then free again
    assert "CRIP" in texts(sent)


async def test_a_state_that_no_longer_reads_returns_to_idle(db, tmp_path: Path) -> None:
    """A row written by another version (or damaged): the user is simply idle again."""
    from vvs.models import UserState

    async with running_bot(make_settings(db.url, tmp_path)) as (api, services):
        chat = Chat(api, 9302)
        async with transaction(services.sessions) as session:
            session.add(UserState(user_key=services.user_key(9302), mode="flow",
                                  data={"v": 1, "state": "not a flow"}, language="fr",
                                  updated_at=services.clock.now()))
        sent = await chat.say("c'est quoi une information préoccupante ?")
    assert "CRIP" in texts(sent)
