"""Referents' groups: notifications there carry no physician's name, phone or message; the
referent who takes the request gets them in private, or — if the bot cannot write to them —
the group is told to open the bot by a deep link and the details arrive at their /start."""

from __future__ import annotations

from pathlib import Path

import pytest

from escalation import referents
from tests.botharness import Chat, make_settings, running_bot, texts
from tests.test_escalation_e2e import settled
from vvs.db import transaction

pytestmark = pytest.mark.asyncio
PHYS, REF_A, REF_C, GROUP, REGION = 5101, 7101, 7103, -100888, -100777
PHONE, MESSAGE = "+33612345678", "Menacée au cabinet, joignable après 18 h"


async def _setup(services, taker_department: str = "93") -> int:
    async with transaction(services.sessions) as s:
        await referents.add_referent(services.escalations, s, department="93",
                                     chat_id=GROUP, name="Référents 93")
        await referents.add_referent(services.escalations, s, department=taker_department,
                                     telegram_id=REF_C, name="Dr Charlie")
        esc = await services.escalations.create(
            s, user_key=services.user_key(PHYS), chat_id=PHYS, name="Jeanne Martin",
            department="93", category="victime", phone=PHONE, message=MESSAGE)
        return int(esc.id)


def _private_details(api, chat: int) -> str:
    return "\n".join(m.plain for m in api.sent_messages(chat))


async def test_group_notification_has_no_personal_data_the_taker_gets_it_in_private(
        db, tmp_path: Path) -> None:
    settings = make_settings(db.url, tmp_path, regional_chat_id=REGION)
    async with running_bot(settings, content_sets=[]) as (api, services):
        esc_id = await _setup(services, taker_department="idf")  # no private notification
        call = await api.wait_for(lambda c: "Nouvelle demande" in str(c.params.get("text")),
                                  chat_id=GROUP, since=0)
        group_text = call.message.plain
        assert f"n°{esc_id}" in group_text and "Médecin victime" in group_text
        for personal in ("Jeanne", "Martin", "61234", "18 h"):
            assert personal not in group_text
        assert not api.sent_messages(REF_C)

        api.press_button(REF_C, call.message.message_id, f"e:take:{esc_id}", chat_id=GROUP)
        await api.wait_for(lambda c: "61234" in str(c.params.get("text")), chat_id=REF_C,
                           since=0)
        private = _private_details(api, REF_C)
        for personal in ("Jeanne Martin", PHONE, "après 18 h"):
            assert personal in private
        await settled(services)
        in_group = "\n".join(m.plain for m in api.sent_messages(GROUP))
        for personal in ("Jeanne", "61234", "18 h"):
            assert personal not in in_group


async def test_taker_the_bot_cannot_write_to_is_sent_to_the_bot_then_served_at_start(
        db, tmp_path: Path) -> None:
    settings = make_settings(db.url, tmp_path, regional_chat_id=REGION)
    async with running_bot(settings, content_sets=[]) as (api, services):
        esc_id = await _setup(services, taker_department="idf")
        call = await api.wait_for(lambda c: "Nouvelle demande" in str(c.params.get("text")),
                                  chat_id=GROUP, since=0)
        api.block(REF_C)  # never started the bot: Telegram answers 403
        api.press_button(REF_C, call.message.message_id, f"e:take:{esc_id}", chat_id=GROUP)
        told = await api.wait_for(lambda c: "ouvrez" in str(c.params.get("text")).lower(),
                                  chat_id=GROUP, since=0, timeout=10)
        urls = [b.url for b in told.message.buttons if b.url]
        assert urls and urls[0].startswith(f"https://t.me/{api.bot_username}?start=")
        assert "61234" not in told.message.plain and "Jeanne" not in told.message.plain

        api.unblock(REF_C)  # they open the bot
        await Chat(api, REF_C).command("/start")
        await api.wait_for(lambda c: "61234" in str(c.params.get("text")), chat_id=REF_C,
                           since=0, timeout=10)
        private = _private_details(api, REF_C)
        assert "Jeanne Martin" in private and "après 18 h" in private
        await settled(services)
        before = len(api.sent_messages(REF_C))
        await Chat(api, REF_C).command("/start")  # delivered once, not at every /start
        await settled(services)
        assert sum("61234" in m.plain for m in api.sent_messages(REF_C)[before:]) == 0


async def test_relays_from_a_group_are_not_sent(db, tmp_path: Path) -> None:
    """A referent in charge who writes in the group: nothing reaches the physician."""
    settings = make_settings(db.url, tmp_path, regional_chat_id=REGION)
    async with running_bot(settings, content_sets=[]) as (api, services):
        esc_id = await _setup(services, taker_department="idf")
        call = await api.wait_for(lambda c: "Nouvelle demande" in str(c.params.get("text")),
                                  chat_id=GROUP, since=0)
        api.press_button(REF_C, call.message.message_id, f"e:take:{esc_id}", chat_id=GROUP)
        await api.wait_for(lambda c: "61234" in str(c.params.get("text")), chat_id=REF_C,
                           since=0)
        api.press_button(REF_C, call.message.message_id, f"e:reply:{esc_id}", chat_id=GROUP)
        api.send_text(REF_C, "Bonjour, je vous appelle", chat_id=GROUP,
                      reply_to_message_id=call.message.message_id)
        await Chat(api, REF_C).command("/aide")
        await settled(services)
        assert "je vous appelle" not in texts(api.sent_messages(PHYS))
