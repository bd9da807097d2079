"""Escalation use-cases on real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from escalation import referents
from escalation.errors import AlreadyTaken, Blocked, IdentityFound, InvalidCode, TooManyOpen
from escalation.models import Escalation, EscalationNotice, RelayMessage
from escalation.service import EscalationConfig, EscalationService
from vvs.db import transaction
from vvs.errors import NotAllowed, StaleAction
from vvs.events import ERASURE as EVENT_ERASURE
from vvs.jobs import JobQueue, JobScheduler
from vvs.models import Event, OutboxMessage
from vvs.outbox import ERASURE as OUTBOX_ERASURE
from vvs.outbox import OutboundMessage, Outbox, OutboxWriter, Permanent
from vvs.privacy import erase_user
from vvs.state import ERASURE as STATE_ERASURE

PHYS, PHYS_CHAT, REF_A, REF_B, OTHER_DEPT, REGION = "physkey", 5001, 7001, 7002, 7003, -100999


class Recorder:
    """A sender that records deliveries; `dead` chats answer 403."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, OutboundMessage]] = []
        self.dead: set[int] = set()

    async def __call__(self, chat_id: int, payload: OutboundMessage, dup: bool) -> int:
        if chat_id in self.dead:
            raise Permanent("Forbidden: bot was blocked by the user")
        self.sent.append((chat_id, payload))
        return 1000 + len(self.sent)

    def to(self, chat_id: int) -> list[str]:
        return [p.text for c, p in self.sent if c == chat_id]


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


class Rig(EscalationService):
    """The service with the outbox and the job queue that run its hooks and jobs, as
    `bot.compose` wires them (the service only enqueues and schedules: any writer does)."""

    outbox: Outbox
    jobs: JobQueue

    def __init__(self, db, clock, rec: Recorder, cfg: EscalationConfig) -> None:
        super().__init__(OutboxWriter(clock), JobScheduler(clock), clock, cfg)
        self.outbox = Outbox(db.sessions, clock, rec, hooks=self.outbox_hooks())
        self.jobs = JobQueue(db.sessions, clock, "w", self.job_handlers())


def make_service(db, clock, rec: Recorder, **config: Any) -> Rig:
    cfg = EscalationConfig(regional_chat_id=REGION, reminder=timedelta(minutes=240),
                           regional=timedelta(minutes=1440), **config)
    return Rig(db, clock, rec, cfg)


@pytest.fixture
async def svc(db, clock, rec) -> Rig:
    service = make_service(db, clock, rec)
    async with transaction(db.sessions) as s:
        await referents.add_referent(service, s, department="93", telegram_id=REF_A,
                                     name="Dr Alpha")
        await referents.add_referent(service, s, department="93", telegram_id=REF_B,
                                     name="Bravo")
        await referents.add_referent(service, s, department="75", telegram_id=OTHER_DEPT,
                                     name="Dr Paris")
    return service


async def create(db, svc: EscalationService, dept: str = "93", **kw: Any) -> int:
    async with transaction(db.sessions) as s:
        esc = await svc.create(s, user_key=kw.pop("user_key", PHYS), chat_id=PHYS_CHAT,
                               name="Jeanne (@jeanne)", department=dept,
                               category=kw.pop("category", "victime"), **kw)
        return int(esc.id)


async def events(db) -> list[tuple[str, str | None]]:
    async with db.sessions() as s:
        return [(e.kind, e.detail) for e in (await s.exec(select(Event).order_by(Event.id))
                                             ).scalars() if e.kind.startswith("escalation")]


async def test_full_lifecycle(db, clock, rec, svc) -> None:
    esc_id = await create(db, svc, phone="+33612345678", message="Agressée au cabinet hier")
    assert await svc.outbox.deliver_due() == 2
    assert "Agressée au cabinet hier" in rec.to(REF_A)[0] and "+33612345678" in rec.to(REF_B)[0]
    clock.advance(minutes=30)
    async with transaction(db.sessions) as s:
        await svc.take(s, esc_id, REF_A)
    await svc.outbox.deliver_due()
    assert "prise en charge par Dr Alpha (référent 93)" in rec.to(PHYS_CHAT)[-1]
    assert "prise en charge par Dr Alpha" in rec.to(REF_B)[-1]
    async with transaction(db.sessions) as s:
        await svc.relay_to_physician(s, esc_id, REF_A, "Je vous appelle à 18 h ?")
        await svc.relay_to_referent(s, esc_id, PHYS, "Oui, merci <b>beaucoup</b>")
    await svc.outbox.deliver_due()
    assert rec.to(PHYS_CHAT)[-1].startswith("💬 Message du Dr Alpha (référent 93) :")
    assert rec.to(REF_A)[-1] == (f"💬 Message du médecin (demande n°{esc_id}) :\n"
                                 "Oui, merci &lt;b&gt;beaucoup&lt;/b&gt;")
    async with db.sessions() as s:  # relayed text is gone from the outbox once delivered
        payloads = (await s.exec(select(OutboxMessage.payload))).scalars().all()
        assert all(p is None for p in payloads)
        relays = (await s.exec(select(RelayMessage))).scalars().all()
        assert len(relays) == 2 and all(r.message_id for r in relays)
        assert await svc.by_reply(s, PHYS_CHAT, relays[0].message_id) is not None
    clock.advance(minutes=60)
    async with transaction(db.sessions) as s:
        await svc.close(s, esc_id, REF_A, "plainte_ordre")
    await svc.outbox.deliver_due()
    assert "close" in rec.to(PHYS_CHAT)[-1]
    async with db.sessions() as s:
        esc = await s.get(Escalation, esc_id)
        assert (esc.status, esc.outcome, esc.chat_id, esc.phone, esc.physician_name) == (
            "closed", "plainte_ordre", None, None, None)
        assert not (await s.exec(select(EscalationNotice))).scalars().all()
        closed = (await s.exec(select(Event).where(Event.kind == "escalation_closed"))
                  ).scalars().one()
        assert (closed.detail, closed.value, closed.user_key) == ("plainte_ordre", 90.0, None)
    assert [k for k, _d in await events(db)] == [
        "escalation_created", "escalation_taken", "escalation_relayed", "escalation_relayed",
        "escalation_closed"]


async def test_non_referent_and_other_departement_cannot_act(db, svc) -> None:
    esc_id = await create(db, svc)
    for actor in (PHYS_CHAT, OTHER_DEPT, 424242):
        async with db.sessions() as s:
            with pytest.raises(NotAllowed):
                await svc.take(s, esc_id, actor)
            with pytest.raises(NotAllowed):
                await svc.close(s, esc_id, actor, "conseil")
            with pytest.raises(NotAllowed):
                await svc.relay_to_physician(s, esc_id, actor, "hello")
    async with db.sessions() as s:
        with pytest.raises(StaleAction):
            await svc.take(s, 99999, REF_A)
        with pytest.raises(StaleAction):
            await svc.cancel(s, esc_id, "someone-else")


async def test_second_take_loses_and_only_taker_closes(db, svc) -> None:
    esc_id = await create(db, svc)
    async with transaction(db.sessions) as s:
        await svc.take(s, esc_id, REF_A)
    async with transaction(db.sessions) as s:
        with pytest.raises(AlreadyTaken) as info:
            await svc.take(s, esc_id, REF_B)
        assert "Dr Alpha" in (info.value.by or "")
        with pytest.raises(AlreadyTaken):
            await svc.close(s, esc_id, REF_B, "conseil")


async def test_simultaneous_takes_have_exactly_one_winner(db, svc) -> None:
    if db.kind != "postgres":
        pytest.skip("concurrent writers: PostgreSQL (SQLite serialises writers)")
    esc_id = await create(db, svc)

    async def take(ref: int) -> str:
        try:
            async with transaction(db.sessions) as s:
                await svc.take(s, esc_id, ref)
            return "won"
        except AlreadyTaken:
            return "lost"

    for _round in range(3):
        results = await asyncio.gather(take(REF_A), take(REF_B))
        assert sorted(results) == ["lost", "won"]
        async with transaction(db.sessions) as s:
            winner = REF_A if results[0] == "won" else REF_B
            await svc.release(s, esc_id, winner)
    kinds = [k for k, _d in await events(db)]
    assert kinds.count("escalation_taken") == 3


async def test_reminder_then_regional_fallback(db, clock, rec, svc) -> None:
    esc_id = await create(db, svc)
    await svc.outbox.deliver_due()
    clock.advance(minutes=239)
    assert await svc.jobs.run_due() == 0
    clock.advance(minutes=2)
    assert await svc.jobs.run_due() == 1
    await svc.outbox.deliver_due()
    assert "Rappel" in rec.to(REF_A)[-1] and "Rappel" in rec.to(REF_B)[-1]
    assert rec.to(REGION) == []
    clock.advance(hours=20)
    assert await svc.jobs.run_due() == 1
    await svc.outbox.deliver_due()
    assert len(rec.to(REGION)) == 1 and "conseil régional" in rec.to(REGION)[0]
    async with db.sessions() as s:
        esc = await s.get(Escalation, esc_id)
        assert esc.reminded and esc.escalated
    assert ("escalation_escalated", "timeout") in await events(db)


async def test_taken_request_cancels_timers(db, clock, rec, svc) -> None:
    esc_id = await create(db, svc)
    async with transaction(db.sessions) as s:
        await svc.take(s, esc_id, REF_B)
    clock.advance(days=2)
    await svc.jobs.run_due()
    await svc.outbox.deliver_due()
    assert rec.to(REGION) == [] and not any("Rappel" in t for t in rec.to(REF_A))


async def test_no_referent_goes_straight_to_regional(db, rec, svc) -> None:
    await create(db, svc, dept="77", message="Bonjour")
    await svc.outbox.deliver_due()
    # the regional chat is a group: no message there (the taker gets it in private)
    assert len(rec.to(REGION)) == 1 and "Bonjour" not in rec.to(REGION)[0]
    assert ("escalation_escalated", "no_referent") in await events(db)


async def test_dead_referent_notification_falls_back_to_regional(db, rec, svc) -> None:
    async with transaction(db.sessions) as s:
        await referents.remove_referent(svc, s, REF_B)
    rec.dead.add(REF_A)
    esc_id = await create(db, svc)
    await svc.outbox.deliver_due()
    await svc.outbox.deliver_due()
    assert len(rec.to(REGION)) == 1
    async with db.sessions() as s:
        assert (await s.get(Escalation, esc_id)).escalated
        dead = (await s.exec(select(OutboxMessage).where(OutboxMessage.status == "dead"))
                ).scalars().one()
        assert dead.purpose == "esc_notify" and dead.chat_id is None and dead.payload is None
    assert ("escalation_escalated", "dead_letter") in await events(db)


async def test_limits_identity_and_block(db, svc) -> None:
    for _i in range(3):
        await create(db, svc, category="question")
    with pytest.raises(TooManyOpen):
        await create(db, svc)
    with pytest.raises(IdentityFound):
        await create(db, svc, user_key="other", message="Ma patiente Mme Durand, née le 3/4/1980")
    esc_id = await create(db, svc, user_key="abuser")
    async with transaction(db.sessions) as s:
        await svc.block(s, esc_id, REF_A)
    with pytest.raises(Blocked):
        await create(db, svc, user_key="abuser")
    async with transaction(db.sessions) as s:
        await svc.take(s, 1, REF_A)
        with pytest.raises(IdentityFound):
            await svc.relay_to_referent(s, 1, PHYS, "Le patient M. Dupont Jean est revenu")


async def test_release_reassign_and_remove_hand_back(db, rec, svc) -> None:
    esc_id = await create(db, svc)
    async with transaction(db.sessions) as s:
        await svc.take(s, esc_id, REF_A)
        ref_b = await svc.referent(s, REF_B)
        await svc.reassign(s, esc_id, REF_A, int(ref_b.id))
    async with transaction(db.sessions) as s:
        assert (await s.get(Escalation, esc_id)).taken_by == ref_b.id
        removed = await referents.remove_referent(svc, s, REF_B)
        assert removed is not None and removed[1] == 1
    async with db.sessions() as s:
        esc = await s.get(Escalation, esc_id)
        assert (esc.status, esc.taken_by, esc.round) == ("open", None, 1)
        assert await svc.referent(s, REF_B) is None
    await svc.outbox.deliver_due()
    assert "à nouveau sans référent" in rec.to(REF_A)[-1]
    assert rec.to(REF_B)[-1].startswith("📌 La demande")


async def test_invitation_code_works_once_and_expires(db, clock, svc) -> None:
    async with transaction(db.sessions) as s:
        code = await referents.make_invite(svc, s, "94")
        late = await referents.make_invite(svc, s, "94")
    async with transaction(db.sessions) as s:
        ref = await referents.enrol_with_code(svc, s, code, name="Dr Val", telegram_id=8001)
        assert ref.department == "94"
    async with transaction(db.sessions) as s:
        with pytest.raises(InvalidCode):
            await referents.enrol_with_code(svc, s, code, name="Dr X", telegram_id=8002)
    clock.advance(hours=73)
    async with transaction(db.sessions) as s:
        with pytest.raises(InvalidCode):
            await referents.enrol_with_code(svc, s, late, name=None, chat_id=-100555)


async def test_erasure_and_purge_leave_no_clear_id(db, clock, rec, svc) -> None:
    taken = await create(db, svc, phone="0612345678")
    await create(db, svc)
    other = await create(db, svc, user_key="someone")
    async with transaction(db.sessions) as s:
        await svc.take(s, taken, REF_A)
        await svc.take(s, other, REF_A)
    await svc.outbox.deliver_due()
    async with transaction(db.sessions) as s:
        await erase_user(s, PHYS, (svc.erasure_step(), STATE_ERASURE, OUTBOX_ERASURE,
                                   EVENT_ERASURE))
    async with db.sessions() as s:
        left = (await s.exec(select(Escalation))).scalars().all()
        assert [e.user_key for e in left] == ["someone"]
        assert not (await s.exec(select(OutboxMessage).where(OutboxMessage.user_key == PHYS))
                    ).scalars().all()
    await svc.outbox.deliver_due()
    assert "retirée par le médecin" in rec.to(REF_A)[-1]
    async with transaction(db.sessions) as s:
        await svc.close(s, other, REF_A, "conseil")
    clock.advance(days=29)
    async with transaction(db.sessions) as s:
        assert await svc.purge(s) == 0
        esc = await s.get(Escalation, other)
        assert esc.chat_id is None and esc.phone is None and esc.physician_name is None
    clock.advance(days=2)
    async with transaction(db.sessions) as s:
        assert await svc.purge(s) == 1
    async with db.sessions() as s:
        assert not (await s.exec(select(Escalation))).scalars().all()


async def test_a_block_is_kept_for_its_retention_then_forgotten(db, clock, svc) -> None:
    """A block for abuse (pseudonym only) lasts `block_retention` (365 days by default),
    then the daily purge deletes it and the physician may ask again."""
    esc_id = await create(db, svc, user_key="abuser")
    async with transaction(db.sessions) as s:
        await svc.block(s, esc_id, REF_A)
    clock.advance(days=364)
    async with transaction(db.sessions) as s:
        await svc.purge(s)
    with pytest.raises(Blocked):
        await create(db, svc, user_key="abuser")
    clock.advance(days=2)
    async with transaction(db.sessions) as s:
        await svc.purge(s)
    await create(db, svc, user_key="abuser")  # no longer blocked
