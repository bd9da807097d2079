"""Escalations through the real Application and the Bot API stand-in: a physician, referents."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.fakeapi import FakeBotAPI
from bot.services import Services
from escalation import referents
from escalation.models import Escalation, EscalationNotice, RelayMessage
from tests.botharness import TOKEN, Chat, buttons, make_settings, running_bot, texts
from tests.conftest import Database
from vvs.clock import FakeClock
from vvs.db import transaction
from vvs.models import OutboxMessage, UserState
from vvs.settings import Settings

pytestmark = pytest.mark.asyncio
PHYS, REF_A, REF_B, STRANGER, REGION, ADMIN = 5001, 7001, 7002, 6666, -100777, 900


def settings(db: Database, tmp_path: Path) -> Settings:
    return make_settings(db.url, tmp_path, regional_chat_id=REGION)


async def enrol(services: Services, telegram_id: int, name: str, dept: str = "93") -> None:
    async with transaction(services.sessions) as s:
        await referents.add_referent(services.escalations, s, department=dept,
                                     telegram_id=telegram_id, name=name)


async def create(services: Services, dept: str = "93") -> int:
    async with transaction(services.sessions) as s:
        esc = await services.escalations.create(
            s, user_key=services.user_key(PHYS), chat_id=PHYS, name="Jeanne",
            department=dept, category="victime")
        return int(esc.id)


def notices(api: FakeBotAPI, chat: int, needle: str = "Nouvelle demande") -> list:
    return [m for m in api.sent_messages(chat) if needle in m.plain]


async def settled(services: Services, timeout: float = 5.0) -> None:
    """Wait until the background worker has recorded every delivery (hooks included)."""
    for _ in range(int(timeout / 0.05)):
        async with services.sessions() as s:
            pending = (await s.exec(select(OutboxMessage.id).where(
                OutboxMessage.status == "pending"))).scalars().all()
        if not pending:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("outbox not drained")


async def drain(services: Services, clock: FakeClock, rounds: int = 6) -> None:
    """Deliver what is due, moving time by less than the outbox lease (60 s) per round, so
    a send the background worker has in flight is never claimed a second time."""
    for _ in range(rounds):
        await services.outbox.settle()  # the fast path's replies in flight are recorded
        await services.outbox.deliver_due()
        await asyncio.sleep(0.02)
        clock.advance(seconds=50)


async def test_request_take_relay_both_ways_and_close(db, tmp_path: Path) -> None:
    async with running_bot(settings(db, tmp_path), content_sets=[]) as (api, services):
        await enrol(services, REF_A, "Dr Alpha")
        async with transaction(services.sessions) as s:  # B enrols with a one-time code
            code = await referents.make_invite(services.escalations, s, "93")
        ref_a, ref_b = Chat(api, REF_A), Chat(api, REF_B, first_name="Bravo")
        assert "référent du département 93" in texts(await ref_b.command(f"/inscription {code}"))
        assert "déjà utilisé" in texts(await Chat(api, STRANGER).command(f"/inscription {code}"))

        doc = Chat(api, PHYS, first_name="Jeanne")
        await doc.command("/menu")
        sent = await doc.press_data("e:new:victime")
        assert "pas une ligne d'urgence" in texts(sent) and "93" in buttons(sent)
        assert "Partager" in texts(await doc.press("93"))
        sent = await doc.exchange(lambda: api.send_contact(PHYS, "+33612345678", "Jeanne"))
        assert "Passer" in buttons(sent)
        sent = await doc.say("Ma patiente Mme Durand me menace")
        assert "identité" in texts(sent) and "Envoyer" not in buttons(sent)
        sent = await doc.say("Menacée au cabinet hier soir, joignable après 18 h")
        summary = texts(sent)
        for shown in ("Jeanne", "93", "Médecin victime", "+33612345678", "après 18 h"):
            assert shown in summary
        assert "Demande n°1 envoyée" in texts(await doc.press("Envoyer"))

        await api.wait_for(lambda c: "Nouvelle demande" in str(c.params.get("text")),
                           chat_id=REF_B, since=0)
        assert "après 18 h" in notices(api, REF_A)[0].plain

        forged = await Chat(api, STRANGER).press_data("e:take:1", message_id=1)
        assert "réservée aux référents" in texts(forged)
        assert "réservée aux référents" in texts(await Chat(api, STRANGER).command("/dossiers"))

        sent = await ref_a.press("Je prends en charge")
        assert "Vous avez pris en charge la demande n°1" in texts(sent)
        late = await ref_b.press("Je prends en charge")
        assert "déjà prise en charge par Dr Alpha" in texts(late)
        await api.wait_for(lambda c: "prise en charge par Dr Alpha" in str(c.params.get("text")),
                           chat_id=PHYS, since=0)

        await ref_a.press("Répondre")
        assert "transmis au médecin" in texts(await ref_a.say("Je vous appelle à 18 h ?"))
        call = await api.wait_for(lambda c: "Message du Dr Alpha" in str(c.params.get("text")),
                                  chat_id=PHYS, since=0)
        relayed = call.message
        assert relayed is not None and "(référent 93)" in relayed.plain
        await settled(services)

        refused = await doc.exchange(lambda: api.send_text(
            PHYS, "Le patient M. Dupont Jean est revenu", reply_to_message_id=relayed.message_id))
        assert "identité" in texts(refused)
        ok = await doc.exchange(lambda: api.send_text(
            PHYS, "Oui, à 18 h c'est parfait", reply_to_message_id=relayed.message_id))
        assert "transmis au référent" in texts(ok)
        await api.wait_for(lambda c: "Message du médecin (demande n°1)" in str(
            c.params.get("text")), chat_id=REF_A, since=0)
        assert not any("Dupont" in m.plain for m in api.sent_messages(REF_A))
        assert "n°1 — " in texts(await doc.command("/mademande"))
        assert "Demande n°1" in texts(await ref_a.command("/dossiers"))

        await ref_a.press("Clore")
        assert "close" in texts(await ref_a.press("Conseil ou information"))
        await api.wait_for(lambda c: "a été close" in str(c.params.get("text")),
                           chat_id=PHYS, since=0)
        async with services.sessions() as s:
            esc = await s.get(Escalation, 1)
            assert (esc.status, esc.outcome, esc.chat_id, esc.phone) == (
                "closed", "conseil", None, None)
            assert not (await s.exec(select(RelayMessage))).scalars().all()


async def test_reminder_then_regional_with_fake_clock(db, tmp_path: Path) -> None:
    clock = FakeClock()
    async with running_bot(settings(db, tmp_path), clock=clock, content_sets=[]) as (
            api, services):
        await enrol(services, REF_A, "Dr Alpha")
        await create(services)
        await drain(services, clock, 1)
        clock.advance(minutes=240)
        await services.jobs.run_due()  # the background worker may also run it: once in all
        await drain(services, clock, 1)
        await settled(services)
        assert len(notices(api, REF_A, "Rappel")) == 1 and not api.sent_messages(REGION)
        clock.advance(minutes=1440)
        await services.jobs.run_due()
        await drain(services, clock, 1)
        await settled(services)
        assert len(notices(api, REGION, "transmise au conseil régional")) == 1
        assert len(notices(api, REF_A, "Rappel")) == 1


async def test_three_500s_then_exactly_one_notification(db, tmp_path: Path) -> None:
    clock = FakeClock()
    async with running_bot(settings(db, tmp_path), clock=clock, content_sets=[]) as (
            api, services):
        await enrol(services, REF_A, "Dr Alpha")
        api.fail_next("sendMessage", "500", times=3, chat_id=REF_A)
        await create(services)
        await drain(services, clock, 10)
    assert api.attempts("sendMessage", REF_A) == 4
    assert len(notices(api, REF_A)) == 1


async def test_restart_between_creation_and_delivery_loses_nothing(db, tmp_path: Path) -> None:
    clock = FakeClock()
    async with FakeBotAPI(token=TOKEN) as api:
        api.fail_next("sendMessage", "500", times=1000, chat_id=REF_A)
        async with running_bot(settings(db, tmp_path), clock=clock, content_sets=[],
                               api=api) as (_api, services):
            await enrol(services, REF_A, "Dr Alpha")
            await create(services)
            await drain(services, clock, 2)
            assert notices(api, REF_A) == []
        api.clear()  # Telegram is back
        async with running_bot(settings(db, tmp_path), clock=clock, content_sets=[],
                               api=api) as (_api, services):
            await drain(services, clock, 4)
        assert len(notices(api, REF_A)) == 1


async def test_blocked_referent_dead_letter_uses_regional_fallback(db, tmp_path: Path) -> None:
    clock = FakeClock()
    async with running_bot(settings(db, tmp_path), clock=clock, content_sets=[]) as (
            api, services):
        await enrol(services, REF_A, "Dr Alpha")
        api.block(REF_A)
        esc_id = await create(services)
        await drain(services, clock, 3)
        async with services.sessions() as s:
            dead = (await s.exec(select(OutboxMessage).where(OutboxMessage.status == "dead"))
                    ).scalars().all()
            assert [m.purpose for m in dead] == ["esc_notify"]
            assert (await s.get(Escalation, esc_id)).escalated
    assert len(notices(api, REGION, "transmise au conseil régional")) == 1


async def test_erasure_and_purge_leave_no_clear_id(db, tmp_path: Path) -> None:
    clock = FakeClock()
    async with running_bot(settings(db, tmp_path), clock=clock, content_sets=[]) as (
            api, services):
        await enrol(services, REF_A, "Dr Alpha")
        first, second = await create(services), await create(services)
        await drain(services, clock, 1)
        ref_a = Chat(api, REF_A)
        await ref_a.press_data(f"e:take:{first}", notices(api, REF_A)[0].message_id)
        await ref_a.press_data(f"e:out:{first}:orientation")
        await drain(services, clock, 1)
        doc = Chat(api, PHYS)
        await doc.command("/effacer")
        assert "J'ai effacé" in texts(await doc.press("Oui, tout effacer"))
        await drain(services, clock, 1)
        assert notices(api, REF_A, "retirée par le médecin")
        async with services.sessions() as s:
            assert (await s.exec(select(Escalation))).scalars().all() == []
            assert await s.get(UserState, services.user_key(PHYS)) is None
            assert not (await s.exec(select(EscalationNotice))).scalars().all()
            pending = (await s.exec(select(OutboxMessage.chat_id))).scalars().all()
            assert PHYS not in pending
        assert second  # both requests were the physician's: both erased
        other = await create(services)
        async with transaction(services.sessions) as s:
            await services.escalations.close(s, other, REF_A, "conseil")
        clock.advance(days=31)
        async with transaction(services.sessions) as s:
            assert await services.escalations.purge(s) == 1
