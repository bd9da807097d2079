"""Security and privacy review: forged paths, odd updates, what is kept and where it goes.
Each test drives the real Application through the local Bot API stand-in, or the database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from escalation.models import BlockedUser, Escalation
from tests.botharness import Chat, make_settings, running_bot, texts
from tests.test_escalation_e2e import enrol, notices, settled
from vvs.clock import FakeClock
from vvs.db import transaction

pytestmark = pytest.mark.asyncio
PHYS, REF_A, REF_B, GROUP = 5101, 7101, 7102, -100999


async def create(services, dept: str = "93") -> int:
    async with transaction(services.sessions) as s:
        esc = await services.escalations.create(
            s, user_key=services.user_key(PHYS), chat_id=PHYS, name="Jeanne",
            department=dept, category="victime")
        return int(esc.id or 0)


async def test_block_by_a_referent_not_in_charge_blocks_nobody(db, tmp_path: Path) -> None:
    """B presses 'Bloquer' (forged) on a request A has in charge: refused, and the physician
    is not blocked behind the refusal."""
    async with running_bot(make_settings(db.url, tmp_path), content_sets=[]) as (api, services):
        await enrol(services, REF_A, "Dr Alpha")
        await enrol(services, REF_B, "Dr Bravo")
        esc_id = await create(services)
        await settled(services)
        await Chat(api, REF_A).press_data(f"e:take:{esc_id}", notices(api, REF_A)[0].message_id)
        sent = await Chat(api, REF_B).press_data(f"e:blockyes:{esc_id}",
                                                 notices(api, REF_B)[0].message_id)
        assert "bloqué" not in texts(sent)
        async with services.sessions() as s:
            assert (await s.exec(select(BlockedUser))).scalars().all() == []
            assert (await s.get(Escalation, esc_id)).status == "taken"


def _member_update(api, user_id: int, chat: dict, status: str) -> dict:
    user = {"id": user_id, "is_bot": False, "first_name": "Dr X", "language_code": "fr"}
    return {"my_chat_member": {
        "chat": chat, "from": user, "date": 1700000000,
        "old_chat_member": {"user": api.bot_user, "status": "left"},
        "new_chat_member": {"user": api.bot_user, "status": status,
                            **({"until_date": 0} if status == "kicked" else {})}}}


async def test_service_updates_get_no_answer(db, tmp_path: Path) -> None:
    """Added to a group, blocked by a user, a join request: the bot says nothing (it used to
    post its menu into the group, and to write to the user who had just blocked it)."""
    group = {"id": GROUP, "type": "supergroup", "title": "Cabinet"}
    async with running_bot(make_settings(db.url, tmp_path), content_sets=[]) as (api, _s):
        doc = Chat(api, PHYS)
        sent = await doc.exchange(lambda: (
            api.inject_raw(_member_update(api, PHYS, group, "member")),
            api.inject_raw(_member_update(api, PHYS, {"id": PHYS, "type": "private",
                                                      "first_name": "Dr X"}, "kicked")),
            api.inject_raw({"chat_join_request": {
                "chat": group, "from": {"id": PHYS, "is_bot": False, "first_name": "Dr X"},
                "user_chat_id": PHYS, "date": 1700000000}}),
            api.inject_raw({"edited_message": {
                "message_id": 1, "date": 1700000000, "edit_date": 1700000001,
                "chat": {"id": PHYS, "type": "private", "first_name": "Dr X"},
                "from": {"id": PHYS, "is_bot": False, "first_name": "Dr X"},
                "text": "secret médical ?"}})))
        assert sent == []
        assert api.sent_messages(GROUP) == []


async def test_an_edited_message_is_not_relayed(db, tmp_path: Path) -> None:
    """In relay mode, editing an earlier message (say, to remove a name typed by mistake)
    must not send the edited text to the referent as a new message."""
    async with running_bot(make_settings(db.url, tmp_path), content_sets=[]) as (api, services):
        await enrol(services, REF_A, "Dr Alpha")
        esc_id = await create(services)
        await settled(services)
        await Chat(api, REF_A).press_data(f"e:take:{esc_id}", notices(api, REF_A)[0].message_id)
        doc = Chat(api, PHYS)
        earlier = api.send_text(PHYS, "/menu")
        assert "Écrivez votre message" in texts(await doc.press_data(f"e:reply:{esc_id}", 999))
        message = dict(api._history[earlier]["message"])
        message.update(text="Relisez ceci", edit_date=message["date"] + 1)
        message.pop("entities", None)
        await doc.exchange(lambda: api.inject_raw({"edited_message": message}))
        await settled(services)
        assert not [m for m in api.sent_messages(REF_A) if "Relisez ceci" in m.plain]


async def test_abandoned_draft_text_and_phone_do_not_stay_in_the_state(db) -> None:
    """A request abandoned at its summary left the physician's message and phone number in
    user_state for as long as they never came back; past the expiry they are cleared (the
    physician is still told, at their next message, that the step was closed)."""
    from datetime import timedelta

    from bot.handlers import build_router
    from escalation.state import EscalationDraft
    from tests.statekit import read_state, state_turn
    from vvs.models import UserState
    from vvs.state import StateStore, purge_expired

    clock = FakeClock()
    store = StateStore(clock, timedelta(hours=24), build_router().states)
    async with state_turn(db.sessions, store, "u1") as turn:
        turn.conv.set_mode("esc_confirm", EscalationDraft(cat="victime", dept="93",
                                                          phone="+33612345678",
                                                          msg="joignable après 18 h"))
        turn.conv.language = "fr"
    async with state_turn(db.sessions, store, "u2") as turn:
        turn.conv.set_mode("esc_message", EscalationDraft(cat="victime", dept="93"))
    clock.advance(hours=23)
    async with state_turn(db.sessions, store, "u2"):
        pass  # u2 is still active
    clock.advance(hours=2)
    assert await purge_expired(db.sessions, clock, timedelta(hours=24)) == 1
    async with db.sessions() as s:
        row = await s.get(UserState, "u1")
        assert row is not None and row.data == {} and row.language == "fr"
        assert (await s.get(UserState, "u2")).data["dept"] == "93"
    conv = await read_state(db.sessions, store, "u1")
    assert conv.expired_mode == "esc_confirm" and conv.state is None


async def test_dossiers_in_a_group_shows_no_physician(db, tmp_path: Path) -> None:
    """/dossiers typed by a referent in any group would post the physicians' names and
    Telegram links there: the list is given in private only."""
    async with running_bot(make_settings(db.url, tmp_path), content_sets=[]) as (api, services):
        await enrol(services, REF_A, "Dr Alpha")
        await create(services)
        ref = Chat(api, REF_A)
        await ref.exchange(lambda: api.send_command(REF_A, "/dossiers", chat_id=GROUP))
        in_group = " ".join(m.plain for m in api.sent_messages(GROUP))
        assert "Jeanne" not in in_group and "Demande n°1" not in in_group
        await api.wait_for(lambda c: "Jeanne" in str(c.params.get("text")), chat_id=REF_A,
                           since=0)  # the list comes in private instead


async def test_referents_get_only_what_the_summary_showed(db, tmp_path: Path) -> None:
    """The physician is shown "exactly what will be transmitted" (Telegram name, département,
    reason, phone, message); the notification also carried a tg://user link with their
    Telegram id, which the summary never mentioned. Referents answer through the bot."""
    async with running_bot(make_settings(db.url, tmp_path), content_sets=[]) as (api, services):
        await enrol(services, REF_A, "Dr Alpha")
        doc = Chat(api, PHYS, first_name="Jeanne")
        await doc.command("/menu")
        await doc.press_data("e:new:victime")
        await doc.press("93")
        await doc.say("Ne pas partager")
        summary = texts(await doc.say("Joignable après 18 h"))
        assert str(PHYS) not in summary
        await doc.press("Envoyer")
        await settled(services)
        raw = [str(c.params.get("text")) for c in api.calls_to("sendMessage", REF_A)]
        assert any("Jeanne" in t for t in raw)
        assert not any(str(PHYS) in t for t in raw)
        await Chat(api, REF_A).command("/dossiers")
        raw = [str(c.params.get("text")) for c in api.calls_to("sendMessage", REF_A)]
        assert not any(str(PHYS) in t for t in raw)
