"""The outbox against the Bot API stand-in: 5xx/429, timeouts, 403, and a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from annuaire.loader import AnnuaireSet
from bot.compose import compose
from bot.fakeapi import FakeBotAPI
from bot.services import Services
from tests.botharness import TOKEN, make_settings
from vvs.clock import FakeClock
from vvs.db import transaction
from vvs.outbox import OutboundMessage

CHAT, ADMIN = 701, 900


async def _services(db, tmp_path: Path, clock: FakeClock, api: FakeBotAPI) -> Services:
    return await compose(make_settings(db.url, tmp_path), clock=clock,
                         content_sets=[AnnuaireSet()], token=TOKEN, base_url=api.base_url,
                         updater=False)


@asynccontextmanager
async def bound_services(db, tmp_path: Path, clock: FakeClock,
                         api: FakeBotAPI) -> AsyncIterator[Services]:
    """Services whose outbox sends through a bot bound to the stand-in (no polling)."""
    services = await _services(db, tmp_path, clock, api)
    try:
        async with services.application:
            yield services
    finally:
        await services.engine.dispose()


async def _drain(services, clock: FakeClock, rounds: int = 12) -> None:
    for _ in range(rounds):
        await services.outbox.deliver_due()
        clock.advance(minutes=11)


async def test_message_survives_restart_and_is_delivered_once_after_5xx_and_429(
        db, tmp_path: Path, clock: FakeClock) -> None:
    async with FakeBotAPI(token=TOKEN) as api:
        first = await _services(db, tmp_path, clock, api)
        async with transaction(first.sessions) as session:
            await first.outbox.enqueue(session, CHAT,
                                       OutboundMessage("Votre demande a été prise."))
        await first.engine.dispose()  # "killed" before any delivery

        second = await _services(db, tmp_path, clock, api)
        try:
            async with second.application:
                api.fail_next("sendMessage", "500", times=2)
                api.fail_next("sendMessage", "429", retry_after=30)
                await second.outbox.deliver_due()
                await second.outbox.deliver_due()
                clock.advance(seconds=5)
                await second.outbox.deliver_due()
                assert api.attempts("sendMessage", CHAT) == 2
                clock.advance(seconds=5)
                await second.outbox.deliver_due()  # 429 now
                clock.advance(seconds=10)
                await second.outbox.deliver_due()  # retry_after (30 s) not elapsed
                assert api.attempts("sendMessage", CHAT) == 3
                await _drain(second, clock)
        finally:
            await second.engine.dispose()
    delivered = [m for m in api.sent_messages(CHAT) if "prise" in (m.text or "")]
    assert len(delivered) == 1 and api.attempts("sendMessage", CHAT) == 4


async def test_timeout_after_send_labels_the_copy(db, tmp_path: Path, clock: FakeClock) -> None:
    async with FakeBotAPI(token=TOKEN) as api, \
            bound_services(db, tmp_path, clock, api) as services:
        api.fail_next("sendMessage", "timeout", after_send=True, hold=12)
        async with transaction(services.sessions) as session:
            await services.outbox.enqueue(session, CHAT, OutboundMessage("Bonjour"))
        await services.outbox.deliver_due()
        await _drain(services, clock)
    copies = [m.plain for m in api.sent_messages(CHAT)]
    assert len(copies) == 2 and "doublon" in copies[1] and "doublon" not in copies[0]


async def test_blocked_user_is_dead_lettered_and_admins_alerted(
        db, tmp_path: Path, clock: FakeClock) -> None:
    async with FakeBotAPI(token=TOKEN) as api, \
            bound_services(db, tmp_path, clock, api) as services:
        api.block(CHAT)
        async with transaction(services.sessions) as session:
            await services.outbox.enqueue(session, CHAT, OutboundMessage("x"), purpose="test")
        await _drain(services, clock)
        async with services.sessions() as session:
            dead = await services.outbox.dead_letters(session)
    assert api.attempts("sendMessage", CHAT) == 1  # never retried
    assert len(dead) == 1 and dead[0].payload is None
    alerts = api.sent_messages(ADMIN)
    assert len(alerts) == 1 and "non délivrable" in alerts[0].plain


async def test_a_message_goes_out_in_html_without_preview_and_its_id_is_kept(
        db, tmp_path: Path, clock: FakeClock) -> None:
    """The outbox's own `sendMessage` (it reads only the new message's id from the answer):
    the request a PTB `send_message` would make, and the id the escalations need."""
    from sqlmodel import select

    from vvs.models import OutboxMessage
    from vvs.ui import Button

    async with FakeBotAPI(token=TOKEN) as api, \
            bound_services(db, tmp_path, clock, api) as services:
        api.send_text(CHAT, "bonjour")  # the chat exists; its message takes an id
        async with transaction(services.sessions) as session:
            await services.outbox.enqueue(session, CHAT, OutboundMessage(
                "<b>Prise en charge</b>", ((Button("Voir", "esc:v:1"),),)))
        assert await services.outbox.deliver_due() == 1
        call = api.calls_to("sendMessage")[-1]
        assert call.params["parse_mode"] == "HTML"
        assert call.params["link_preview_options"] == {"is_disabled": True}
        assert call.params["reply_markup"] == {"inline_keyboard": [
            [{"text": "Voir", "callback_data": "esc:v:1"}]]}
        assert call.message is not None and call.message.message_id > 1
        async with services.sessions() as session:
            row = (await session.exec(select(OutboxMessage))).one()
        assert row.status == "sent" and row.sent_message_id == call.message.message_id


def test_an_outbound_keyboard_is_in_its_message_language() -> None:
    """The outbox's markup is built once per keyboard and language: each language its own."""
    from bot.handlers.render import outbound_markup

    french = outbound_markup(OutboundMessage("x", (), "fr", "location"))
    english = outbound_markup(OutboundMessage("x", (), "en", "location"))
    assert french is not None and english is not None
    assert french["keyboard"][0][0] == {"text": "📍 Partager ma position",
                                        "request_location": True}
    assert english["keyboard"][0][0] == {"text": "📍 Share my location",
                                         "request_location": True}
    assert outbound_markup(OutboundMessage("y", (), "fr", "location")) == french
    assert outbound_markup(OutboundMessage("x")) is None
