"""A turn's end (`vvs.turnend`): the claim, the state, the events and the replies written
together, in one statement on PostgreSQL and one per row on SQLite, with the same result;
a processed update writes nothing at all."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, func, select
from sqlmodel import select as select_rows

from vvs import turnend
from vvs.db import transaction
from vvs.events import event_values
from vvs.inbox import Inbox
from vvs.models import Event, InboxUpdate, OutboxMessage, ProcessedUpdate, UserState
from vvs.outbox import REPLY, OutboundMessage, Outbox
from vvs.state import Conversation, StateStore
from vvs.turnend import TurnEnd
from vvs.ui import Button

KEY = "k" * 64


async def _never(*_args: object) -> int:
    raise AssertionError("nothing is sent here")


def _parts(db, clock):
    outbox = Outbox(db.sessions, clock, _never)
    return outbox, Inbox(db.sessions, clock, outbox), StateStore(clock, timedelta(hours=24))


async def _count(db, model) -> int:
    async with db.sessions() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()[0]


def _replies(outbox: Outbox, n: int) -> list[dict]:
    return [outbox.claimed_values(4242, OutboundMessage(
        f"réponse {i} « é » <b>gras</b>", ((Button("Menu", "m:menu"),),), "fr"), user_key=KEY)
        for i in range(n)]


async def test_a_turns_end_writes_claim_state_events_and_replies_in_order(db, clock) -> None:
    outbox, inbox, store = _parts(db, clock)
    conv = Conversation(KEY, mode="idle", language="fr", department="93")
    events = [event_values(clock, "question", department="93", category="answered",
                           detail="secret_medical", user_key=KEY),
              event_values(clock, "start", value=1.5)]
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement.split()[0].upper())

    event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
    try:
        async with transaction(db.sessions) as session:
            ids = await turnend.write(session, inbox, TurnEnd(
                7, False, store.changes(conv), events, _replies(outbox, 3)))
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", seen)
    assert ids is not None and len(ids) == 3 and ids == sorted(ids)
    # PostgreSQL: one statement for the whole end; SQLite: one per row (claim, state, 2
    # events, 3 replies)
    assert statements == (["WITH"] if db.kind == "postgres" else ["INSERT"] * 7)
    async with db.sessions() as session:
        rows = {row.id: row for row in (await session.exec(select_rows(OutboxMessage))).all()}
        assert [rows[i].payload["text"] for i in ids] == [
            f"réponse {i} « é » <b>gras</b>" for i in range(3)]
        reply = rows[ids[0]]
        assert (reply.chat_id, reply.status, reply.purpose, reply.user_key) == (
            4242, "pending", REPLY, KEY)
        assert reply.payload["buttons"] == [[{"label": "Menu", "data": "m:menu", "url": None}]]
        assert not reply.possible_duplicate and reply.attempts == 0
        assert reply.locked_until == clock.now() + outbox.lease
        stored = (await session.exec(select_rows(Event).order_by(Event.id))).all()
        assert [(e.kind, e.department, e.category, e.detail, e.value, e.user_key, e.at)
                for e in stored] == [
            ("question", "93", "answered", "secret_medical", None, KEY, clock.now()),
            ("start", None, None, None, 1.5, None, clock.now())]
        state = await session.get(UserState, KEY)
        assert state is not None and (state.language, state.department) == ("fr", "93")
        assert await session.get(ProcessedUpdate, 7) is not None


async def test_a_processed_update_writes_nothing(db, clock) -> None:
    outbox, inbox, store = _parts(db, clock)
    async with transaction(db.sessions) as session:
        assert await turnend.write(session, inbox, TurnEnd(8, False)) == []
    async with transaction(db.sessions) as session:
        again = await turnend.write(session, inbox, TurnEnd(
            8, False, store.changes(Conversation(KEY, language="en")),
            [event_values(clock, "start")], _replies(outbox, 2)))
    assert again is None
    for model in (Event, OutboxMessage, UserState):
        assert await _count(db, model) == 0
    assert await _count(db, ProcessedUpdate) == 1


async def test_a_turns_end_updates_or_deletes_the_state_and_the_inbox_row(db, clock) -> None:
    _outbox, inbox, store = _parts(db, clock)
    async with transaction(db.sessions) as session:
        await turnend.write(session, inbox, TurnEnd(
            1, False, store.changes(Conversation(KEY, language="fr"))))
    async with transaction(db.sessions) as session:
        conv = await store.load(session, KEY)
        conv.department = "75"
        await turnend.write(session, inbox, TurnEnd(2, False, store.changes(conv)))
    async with db.sessions() as session:
        state = await session.get(UserState, KEY)
        assert state is not None and (state.language, state.department) == ("fr", "75")
    await inbox.store(3, {"update_id": 3}, KEY)
    async with transaction(db.sessions) as session:
        conv = await store.load(session, KEY)
        conv.language = conv.department = None  # nothing left to keep: the row goes
        await turnend.write(session, inbox, TurnEnd(3, True, store.changes(conv)))
    assert await _count(db, UserState) == 0
    assert await _count(db, InboxUpdate) == 0
    assert await _count(db, ProcessedUpdate) == 3
