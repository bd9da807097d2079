"""The outbox's short lease: renewed while a send is in flight, so nobody else sends it; a
row whose sender died is sent again within seconds, labelled as a possible duplicate."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from bot.fakeapi import FakeBotAPI
from tests.botharness import TOKEN
from tests.test_outbox_e2e import CHAT, _services
from vvs.clock import FakeClock
from vvs.db import transaction
from vvs.outbox import OutboundMessage, Outbox


async def test_killed_during_a_send_is_delivered_within_a_minute_labelled(
        db, tmp_path: Path, clock: FakeClock) -> None:
    async with FakeBotAPI(token=TOKEN) as api:
        first = await _services(db, tmp_path, clock, api)
        async with first.application:
            async with transaction(first.sessions) as session:
                await first.outbox.enqueue(session, CHAT, OutboundMessage("Demande n°7 à prendre"))
            # the stand-in delivers the message, then the process dies before the answer
            api.fail_next("sendMessage", "timeout", after_send=True, hold=30)
            sending = asyncio.create_task(first.outbox.deliver_due())
            await api.wait_for("sendMessage", chat_id=CHAT, include_failed=True)
            sending.cancel()  # killed mid-send: nothing recorded
            await first.outbox.close()
        await first.engine.dispose()

        second = await _services(db, tmp_path, clock, api)
        try:
            async with second.application:
                clock.advance(seconds=5)
                assert await second.outbox.deliver_due() == 0  # the lease still holds
                clock.advance(seconds=25)  # 30 s after the kill: well within a minute
                assert await second.outbox.deliver_due() == 1
        finally:
            await second.outbox.close()
            await second.engine.dispose()
    copies = [m.plain for m in api.sent_messages(CHAT)]
    assert len(copies) == 2 and "doublon" not in copies[0]
    assert "doublon" in copies[1] and "Demande n°7" in copies[1]


async def test_lease_is_renewed_while_a_send_is_in_flight(db, clock: FakeClock) -> None:
    release, sent = asyncio.Event(), []

    async def slow(chat_id: int, message: OutboundMessage, duplicate: bool) -> int:
        await release.wait()  # e.g. held by the rate limiter
        sent.append((message.text, duplicate))
        return 1

    async def fast(chat_id: int, message: OutboundMessage, duplicate: bool) -> int:
        sent.append((message.text, duplicate))
        return 2

    lease = timedelta(seconds=15)
    busy = Outbox(db.sessions, clock, slow, lease=lease, renew_every=0.01)
    other = Outbox(db.sessions, clock, fast, lease=lease, renew_every=0.01)
    async with transaction(db.sessions) as session:
        await busy.enqueue(session, CHAT, OutboundMessage("x"))
    task = asyncio.create_task(busy.deliver_due())
    await asyncio.sleep(0.05)
    for _ in range(4):  # a minute in all, the sender still at work and alive
        clock.advance(seconds=14)
        await asyncio.sleep(0.05)
        assert await other.deliver_due() == 0
    release.set()
    assert await task == 1
    await busy.close()
    await other.close()
    assert sent == [("x", False)]
