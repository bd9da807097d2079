"""Platform primitives on a real database: state, dedupe, events, jobs, outbox, erasure."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

import pytest
from sqlalchemy import func, select

from tests.statekit import read_state, state_turn
from vvs import events, state
from vvs import outbox as outbox_module
from vvs.db import transaction
from vvs.dedupe import claim_update, purge_processed
from vvs.errors import StateMoved
from vvs.events import record_event
from vvs.jobs import JobQueue
from vvs.models import Event, Job, OutboxMessage, UserState
from vvs.outbox import MaybeSent, OutboundMessage, Outbox, OutboxHooks, Permanent, RetryLater
from vvs.privacy import erase_user, pseudonym
from vvs.state import StateStore
from vvs.ui import Button


@dataclass(frozen=True)
class AtStep:
    """A mode's state, as features declare them."""

    flow: str | None = None
    step: str | None = None


async def test_state_roundtrip_and_expiry(db, clock) -> None:
    store = StateStore(clock, timedelta(hours=24), {"flow": AtStep})
    async with state_turn(db.sessions, store, "u1") as turn:
        conv = turn.conv
        assert conv.mode == "idle" and not conv.exists
        conv.set_mode("flow", AtStep("mineur", "danger"))
        conv.department = "93"
    conv = await read_state(db.sessions, store, "u1")
    assert (conv.mode, conv.state.step, conv.department) == ("flow", "danger", "93")
    clock.advance(hours=25)
    conv = await read_state(db.sessions, store, "u1")
    assert conv.mode == "idle" and conv.expired_mode == "flow" and conv.department == "93"


async def test_update_claimed_once_and_purged(db, clock) -> None:
    assert await claim_update(db.sessions, clock, 42)
    assert not await claim_update(db.sessions, clock, 42)
    clock.advance(hours=49)
    assert await purge_processed(db.sessions, clock, timedelta(hours=48)) == 1
    assert await claim_update(db.sessions, clock, 42)


async def test_events_refuse_free_text(db, clock) -> None:
    async with transaction(db.sessions) as s:
        await record_event(s, clock, "flow_outcome", user_key="k", department="93",
                           category="mineur", detail="ip_crip")
        with pytest.raises(ValueError):
            await record_event(s, clock, "question", detail="ma patiente Mme X refuse")
    async with db.sessions() as s:
        events = (await s.exec(select(Event))).scalars().all()
    rows = [(e.kind, e.department, e.detail) for e in events]
    assert rows == [("flow_outcome", "93", "ip_crip")]


async def test_job_runs_once_across_two_workers(db, clock) -> None:
    ran: list[str] = []

    async def handler(session, payload) -> None:
        ran.append(payload["x"])

    workers = [JobQueue(db.sessions, clock, f"w{i}", {"ping": handler}) for i in range(2)]
    async with transaction(db.sessions) as s:
        await workers[0].schedule(s, "ping", clock.now() + timedelta(minutes=5), {"x": "a"},
                                  dedupe_key="ping:a")
        assert await workers[0].schedule(s, "ping", clock.now(), {"x": "b"}, "ping:a") is None
    assert await workers[0].run_due() == 0  # not due yet
    clock.advance(minutes=6)
    results = await asyncio.gather(*(w.run_due() for w in workers))
    assert sum(results) == 1 and ran == ["a"]
    assert await workers[1].run_due() == 0


async def test_failing_job_is_retried_later(db, clock) -> None:
    calls = 0

    async def flaky(session, payload) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("boom")

    queue = JobQueue(db.sessions, clock, "w", {"flaky": flaky})
    async with transaction(db.sessions) as s:
        await queue.schedule(s, "flaky", clock.now())
    assert await queue.run_due() == 0
    assert await queue.run_due() == 0  # backoff: not yet
    clock.advance(minutes=5)
    assert await queue.run_due() == 1 and calls == 2


class ScriptedSender:
    """A sender that fails as told, then succeeds; records real deliveries."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.delivered: list[tuple[int, OutboundMessage, bool]] = []

    async def __call__(self, chat_id: int, payload: OutboundMessage, dup: bool) -> int:
        if self.failures:
            raise self.failures.pop(0)
        self.delivered.append((chat_id, payload, dup))
        return len(self.delivered)


async def _drain(outbox: Outbox, clock, rounds: int = 10) -> None:
    for _ in range(rounds):
        await outbox.deliver_due()
        clock.advance(minutes=11)


async def test_outbox_exactly_once_after_5xx_and_429(db, clock) -> None:
    sender = ScriptedSender(RetryLater("502"), RetryLater("429", retry_after=30),
                            RetryLater("500"))
    outbox = Outbox(db.sessions, clock, sender)
    async with transaction(db.sessions) as s:
        await outbox.enqueue(s, 1001, OutboundMessage("bonjour"), user_key="u")
    await outbox.deliver_due()
    clock.advance(seconds=3)
    await outbox.deliver_due()  # 429: must wait 30 s
    assert sender.failures and len(sender.failures) == 1
    clock.advance(seconds=10)
    await outbox.deliver_due()
    assert len(sender.failures) == 1  # retry_after respected
    await _drain(outbox, clock)
    assert sender.delivered == [(1001, OutboundMessage("bonjour"), False)]
    async with db.sessions() as s:
        row = (await s.exec(select(OutboxMessage))).scalars().one()
    assert row.status == "sent" and row.payload is None and row.chat_id is None


async def test_outbox_timeout_labels_duplicate(db, clock) -> None:
    sender = ScriptedSender(MaybeSent("timed out"))
    outbox = Outbox(db.sessions, clock, sender)
    async with transaction(db.sessions) as s:
        await outbox.enqueue(s, 7, OutboundMessage("x"))
    await _drain(outbox, clock)
    assert sender.delivered == [(7, OutboundMessage("x"), True)]


def test_outbound_message_payload_round_trip_and_older_shapes() -> None:
    message = OutboundMessage("<b>x</b>", ((Button("Lien", url="https://example.org"),
                                            Button("Ok", "e:take:1")),), "en")
    assert OutboundMessage.from_payload(message.to_payload()) == message
    # payloads written before the type existed: escalation buttons had no "url", an admin
    # alert had only its text
    older = {"text": "y", "buttons": [[{"label": "Clore", "data": "e:close:1"}]], "lang": "fr"}
    assert OutboundMessage.from_payload(older) == OutboundMessage(
        "y", ((Button("Clore", "e:close:1"),),))
    assert OutboundMessage.from_payload({"text": "z"}) == OutboundMessage("z")
    for broken in ({}, {"text": 3}, {"text": "t", "buttons": [[{"data": "x"}]]},
                   {"text": "t", "buttons": "no"}):
        with pytest.raises(ValueError):
            OutboundMessage.from_payload(broken)


async def test_outbox_malformed_payload_is_a_dead_letter(db, clock) -> None:
    sender = ScriptedSender()
    outbox = Outbox(db.sessions, clock, sender)
    async with transaction(db.sessions) as s:
        msg = await outbox.enqueue(s, 5, OutboundMessage("x"))
        msg.payload = {"buttons": []}
        s.add(msg)
    await _drain(outbox, clock)
    assert sender.delivered == []
    async with db.sessions() as s:
        dead = await outbox.dead_letters(s)
    assert len(dead) == 1 and "malformed" in dead[0].last_error


async def test_outbox_dead_letter_runs_fallback_once(db, clock) -> None:
    sender = ScriptedSender(Permanent("Forbidden: bot was blocked by the user"))
    fallbacks: list[str] = []

    async def fallback(session, msg, error) -> None:
        fallbacks.append(msg.ref)

    outbox = Outbox(db.sessions, clock, sender,
                    hooks=OutboxHooks(on_dead={"escalation": fallback}))
    async with transaction(db.sessions) as s:
        await outbox.enqueue(s, 9, OutboundMessage("x"), purpose="escalation", ref="e1")
    await _drain(outbox, clock)
    assert sender.delivered == [] and fallbacks == ["e1"]
    async with db.sessions() as s:
        dead = await outbox.dead_letters(s)
    assert len(dead) == 1 and dead[0].payload is None and "blocked" in dead[0].last_error


async def test_erase_user_leaves_no_row(db, clock) -> None:
    key = pseudonym(b"k", 123)
    store = StateStore(clock, timedelta(hours=24))
    outbox = Outbox(db.sessions, clock, ScriptedSender())
    async with state_turn(db.sessions, store, key) as turn:
        turn.conv.department = "93"
        await record_event(turn.unit.session, clock, "start", user_key=key)
        await outbox.enqueue(turn.unit.session, 123, OutboundMessage("x"), user_key=key)
    async with transaction(db.sessions) as s:
        report = dict(await erase_user(s, key, (state.ERASURE, outbox_module.ERASURE,
                                                events.ERASURE)))
    assert sum(report.values()) == 3
    async with db.sessions() as s:
        for model in (UserState, OutboxMessage):
            assert (await s.exec(select(func.count()).select_from(model))).one()[0] == 0
        assert (await s.exec(select(Event.user_key))).scalars().all() == [None]
        assert (await s.exec(select(func.count()).select_from(Job))).one()[0] == 0


async def test_concurrent_turns_of_one_user_lose_no_update(db, clock) -> None:
    """Two turns of one user at once (two replicas, say): on SQLite the second waits for the
    first and reads its write; on PostgreSQL the first, whose state moved, is refused and
    runs again on the second's write (as the runner does) — never a lost update."""
    store = StateStore(clock, timedelta(hours=24), {"flow": AtStep})
    first_loaded = asyncio.Event()
    moved: list[str] = []

    async def turn(name: str, hold: bool) -> None:
        for _attempt in range(3):
            try:
                async with state_turn(db.sessions, store, "same-user") as t:
                    at = t.conv.state_of(AtStep)
                    if hold and not first_loaded.is_set():
                        first_loaded.set()
                        await asyncio.sleep(0.2)
                    t.conv.set_mode("flow", AtStep(step=(at.step if at else "") + name))
                return
            except StateMoved:
                moved.append(name)

    async def second() -> None:
        await first_loaded.wait()
        await turn("b", hold=False)

    await asyncio.gather(turn("a", hold=True), second())
    final = (await read_state(db.sessions, store, "same-user")).state_of(AtStep)
    assert final is not None
    assert (final.step, moved) == (("ba", ["a"]) if db.kind == "postgres" else ("ab", []))


@pytest.mark.parametrize(("mode", "data"), [
    ("flow", {"v": 2, "step": "danger"}),  # a version this code does not read
    ("flow", {"step": ["not", "a", "string"]}),  # another shape
    ("gone", {"anything": 1}),  # a mode no feature declares any more
])
async def test_state_that_does_not_read_returns_to_idle(db, clock, mode, data) -> None:
    store = StateStore(clock, timedelta(hours=24), {"flow": AtStep})
    async with transaction(db.sessions) as s:
        s.add(UserState(user_key="u1", mode=mode, data=data, department="93",
                        updated_at=clock.now()))
    conv = await read_state(db.sessions, store, "u1")
    assert (conv.mode, conv.state, conv.department) == ("idle", None, "93")


async def test_state_written_before_versions_reads_and_is_written_with_one(db, clock) -> None:
    store = StateStore(clock, timedelta(hours=24), {"flow": AtStep})
    async with transaction(db.sessions) as s:
        s.add(UserState(user_key="u1", mode="flow", data={"step": "danger"},
                        updated_at=clock.now()))
    async with state_turn(db.sessions, store, "u1") as turn:
        assert turn.conv.state == AtStep(step="danger")
    async with db.sessions() as s:
        assert (await s.get(UserState, "u1")).data == {"v": 1, "flow": None, "step": "danger"}


@dataclass(frozen=True)
class AtStepV2:
    """A state whose shape changed: version 1 was AtStep's `{"flow", "step"}`."""

    VERSION: ClassVar[int] = 2
    where: tuple[str, ...] = ()

    @classmethod
    def upgrade(cls, version: int, fields: dict[str, Any]) -> dict[str, Any]:
        return {"where": [fields[k] for k in ("flow", "step") if fields.get(k)]}


@pytest.mark.parametrize("data", [
    {"v": 1, "flow": "mineur", "step": "danger"},
    {"flow": "mineur", "step": "danger"},  # before versions: version 1
])
async def test_an_earlier_version_reads_through_upgrade_and_is_rewritten(db, clock, data
                                                                         ) -> None:
    store = StateStore(clock, timedelta(hours=24), {"flow": AtStepV2})
    async with transaction(db.sessions) as s:
        s.add(UserState(user_key="u1", mode="flow", data=data, updated_at=clock.now()))
    async with state_turn(db.sessions, store, "u1") as turn:
        assert (turn.conv.mode, turn.conv.state) == ("flow", AtStepV2(("mineur", "danger")))
    async with db.sessions() as s:
        assert (await s.get(UserState, "u1")).data == {"v": 2, "where": ["mineur", "danger"]}


@pytest.mark.parametrize("data", [
    {"v": 3, "where": []},  # a later version (a rollback): not read
    {"v": 0, "flow": "mineur"},
    {"v": "1", "flow": "mineur"},
])
async def test_a_version_that_does_not_upgrade_returns_to_idle(db, clock, data) -> None:
    store = StateStore(clock, timedelta(hours=24), {"flow": AtStepV2})
    async with transaction(db.sessions) as s:
        s.add(UserState(user_key="u1", mode="flow", data=data, updated_at=clock.now()))
    conv = await read_state(db.sessions, store, "u1")
    assert (conv.mode, conv.state) == ("idle", None)


async def test_an_unchanged_state_with_a_tuple_is_not_rewritten(db, clock) -> None:
    """The stored JSON has lists where the state has tuples: they compare equal."""
    store = StateStore(clock, timedelta(hours=24), {"flow": AtStepV2})
    async with state_turn(db.sessions, store, "u1") as turn:
        turn.conv.set_mode("flow", AtStepV2(("mineur", "danger")))
    clock.advance(minutes=1)
    async with state_turn(db.sessions, store, "u1") as turn:
        written = turn.conv.stored.updated_at if turn.conv.stored else None
    assert not turn.wrote
    async with db.sessions() as s:
        assert (await s.get(UserState, "u1")).updated_at == written


async def test_a_forgotten_conversation_is_not_saved(db, clock) -> None:
    store = StateStore(clock, timedelta(hours=24), {"flow": AtStep})
    async with state_turn(db.sessions, store, "u1") as turn:
        turn.conv.set_mode("flow", AtStep(step="danger"))
        turn.conv.forget()
    assert not turn.wrote
    async with db.sessions() as s:
        assert await s.get(UserState, "u1") is None
