"""A turn's end (`vvs.turnend`): the claim, the state, the events and the replies written
together, in one statement on PostgreSQL and one per row on SQLite, with the same result;
a processed update writes nothing at all."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, text
from sqlmodel import select as select_rows

from tests.botharness import Chat, make_settings, running_bot, texts
from vvs.db import listen_statements, transaction
from vvs.errors import StateMoved
from vvs.events import event_values
from vvs.inbox import Inbox
from vvs.models import Event, InboxUpdate, OutboxMessage, ProcessedUpdate, UserState
from vvs.outbox import REPLY, OutboundMessage, Outbox
from vvs.state import Conversation, StateStore
from vvs.turnend import TurnEnd, turn_unit
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
    stop = listen_statements(db.engine, lambda s: statements.append(s.split()[0].upper()),
                             lambda: statements.append("COMMIT"))
    try:
        async with turn_unit(db.sessions) as unit:
            ids = await unit.end(inbox, TurnEnd(
                7, False, store.changes(conv), events, _replies(outbox, 3)))
    finally:
        stop()
    assert ids is not None and len(ids) == 3 and ids == sorted(ids)
    # PostgreSQL: one statement for the whole end, its own transaction; SQLite: one per row
    # (claim, state, 2 events, 3 replies)
    assert statements == (["WITH", "COMMIT"] if db.kind == "postgres"
                          else ["INSERT"] * 7 + ["COMMIT"])
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
    async with turn_unit(db.sessions) as unit:
        assert await unit.end(inbox, TurnEnd(8, False)) == []
    async with turn_unit(db.sessions) as unit:
        again = await unit.end(inbox, TurnEnd(
            8, False, store.changes(Conversation(KEY, language="en")),
            [event_values(clock, "start")], _replies(outbox, 2)))
    assert again is None
    for model in (Event, OutboxMessage, UserState):
        assert await _count(db, model) == 0
    assert await _count(db, ProcessedUpdate) == 1


async def test_a_turns_end_updates_or_deletes_the_state_and_the_inbox_row(db, clock) -> None:
    _outbox, inbox, store = _parts(db, clock)
    async with turn_unit(db.sessions) as unit:
        await unit.end(inbox, TurnEnd(1, False, store.changes(Conversation(KEY, language="fr"))))
    async with turn_unit(db.sessions) as unit:
        conv = await unit.load(store, KEY)
        conv.department = "75"
        await unit.end(inbox, TurnEnd(2, False, store.changes(conv)))
    async with db.sessions() as session:
        state = await session.get(UserState, KEY)
        assert state is not None and (state.language, state.department) == ("fr", "75")
    await inbox.store(3, {"update_id": 3}, KEY)
    async with turn_unit(db.sessions) as unit:
        conv = await unit.load(store, KEY)
        conv.language = conv.department = None  # nothing left to keep: the row goes
        await unit.end(inbox, TurnEnd(3, True, store.changes(conv)))
    assert await _count(db, UserState) == 0
    assert await _count(db, InboxUpdate) == 0
    assert await _count(db, ProcessedUpdate) == 3


async def test_a_turns_session_commits_and_rolls_back_with_its_end(db, clock) -> None:
    """A handler's writes through the turn's session commit with the end, and go with it
    when the update was processed already or the turn fails after its end; a session that
    only read, or was never used, leaves the end's own writes to commit (SQLAlchemy may commit
nothing then)."""
    outbox, inbox, store = _parts(db, clock)

    async def session_write(unit) -> None:
        unit.session.add(Event(at=clock.now(), kind="session-write"))
        await unit.session.flush()

    async def counts() -> tuple[int, int, int]:
        return (await _count(db, Event), await _count(db, OutboxMessage),
                await _count(db, ProcessedUpdate))

    async with turn_unit(db.sessions) as unit:
        await unit.load(store, KEY)
        await session_write(unit)
        assert await unit.end(inbox, TurnEnd(21, False, replies=_replies(outbox, 1)))
    assert await counts() == (1, 1, 1)
    async with turn_unit(db.sessions) as unit:  # a redelivery
        await session_write(unit)
        assert await unit.end(inbox, TurnEnd(21, False, replies=_replies(outbox, 1))) is None
    assert await counts() == (1, 1, 1)
    with pytest.raises(RuntimeError):
        async with turn_unit(db.sessions) as unit:
            await session_write(unit)
            await unit.end(inbox, TurnEnd(22, False, replies=_replies(outbox, 1)))
            raise RuntimeError("a failure after the end")
    assert await counts() == (1, 1, 1)
    async with turn_unit(db.sessions) as unit:
        await unit.load(store, KEY)
        await unit.session.execute(select(func.count()).select_from(Event))
        assert await unit.end(inbox, TurnEnd(23, False, replies=_replies(outbox, 1)))
    assert await counts() == (1, 2, 2)
    async with turn_unit(db.sessions) as unit:
        assert not unit.session.info.get("unused")  # opened, never used
        assert await unit.end(inbox, TurnEnd(24, False, replies=_replies(outbox, 1)))
    assert await counts() == (1, 3, 3)


# PostgreSQL: optimistic concurrency. The state is read without a lock; the end writes only
# if the row is still at the version read, and otherwise undoes everything it wrote.

def _postgres_only(db) -> None:
    if db.kind != "postgres":
        pytest.skip("SQLite's turn holds the writer lock from its read to its commit")


async def _write_meanwhile(sessions, clock, key: str = KEY, **values: object) -> None:
    """Another replica's turn for the same user, committed between a turn's read and end."""
    async with transaction(sessions) as session:
        row = await session.get(UserState, key)
        if row is None:
            row = UserState(user_key=key, mode="idle", data={}, updated_at=clock.now())
        for name, value in values.items():
            setattr(row, name, value)
        session.add(row)


@pytest.mark.parametrize("write", ["update", "delete", "none"])
async def test_postgres_a_turn_whose_state_moved_is_undone(db, clock, write) -> None:
    _postgres_only(db)
    outbox, inbox, store = _parts(db, clock)
    await _write_meanwhile(db.sessions, clock, language="fr")
    with pytest.raises(StateMoved):
        async with turn_unit(db.sessions) as unit:
            conv = await unit.load(store, KEY)
            await _write_meanwhile(db.sessions, clock, department="75")
            if write == "update":
                conv.department = "93"
            elif write == "delete":
                conv.language = None
            await unit.end(inbox, TurnEnd(9, False, store.changes(conv),
                                          [event_values(clock, "start")], _replies(outbox, 2)))
    for model in (Event, OutboxMessage, ProcessedUpdate):
        assert await _count(db, model) == 0  # the claim, the events, the replies: undone
    async with db.sessions() as session:
        state = await session.get(UserState, KEY)
        assert state is not None and (state.language, state.department) == ("fr", "75")
    async with turn_unit(db.sessions) as unit:  # run again: it reads the other turn's write
        conv = await unit.load(store, KEY)
        assert conv.department == "75"
        conv.department = "93"
        assert await unit.end(inbox, TurnEnd(9, False, store.changes(conv))) == []
    async with db.sessions() as session:
        assert (await session.get(UserState, KEY)).department == "93"


async def test_postgres_a_row_created_meanwhile_is_not_overwritten(db, clock) -> None:
    _postgres_only(db)
    _outbox, inbox, store = _parts(db, clock)
    with pytest.raises(StateMoved):
        async with turn_unit(db.sessions) as unit:
            conv = await unit.load(store, KEY)  # no row yet
            await _write_meanwhile(db.sessions, clock, language="en")
            conv.language = "fr"
            await unit.end(inbox, TurnEnd(10, False, store.changes(conv)))
    async with db.sessions() as session:
        assert (await session.get(UserState, KEY)).language == "en"
    assert await _count(db, ProcessedUpdate) == 0


async def test_postgres_a_turns_session_commits_with_its_end_and_locks_the_user(
        db, clock) -> None:
    """A handler that uses the session: its writes commit with the end or not at all, and
    the user's advisory lock is held meanwhile (such turns stay serialised across
    replicas)."""
    _postgres_only(db)
    outbox, inbox, store = _parts(db, clock)

    async def locked_elsewhere() -> bool:
        async with db.engine.begin() as conn:  # a transaction's lock: gone at its end
            return not (await conn.execute(
                text("SELECT pg_try_advisory_xact_lock(hashtext(:k))"), {"k": KEY})).scalar()

    async with turn_unit(db.sessions) as unit:
        conv = await unit.load(store, KEY)
        assert not await locked_elsewhere()  # no lock while only the state was read
        unit.session.add(Event(at=clock.now(), kind="session-write"))
        await unit.session.flush()
        assert await locked_elsewhere()
        conv.language = "fr"
        await unit.end(inbox, TurnEnd(11, False, store.changes(conv)))
    assert await _count(db, Event) == 1 and await _count(db, ProcessedUpdate) == 1
    with pytest.raises(StateMoved):
        async with turn_unit(db.sessions) as unit:
            conv = await unit.load(store, KEY)
            unit.session.add(Event(at=clock.now(), kind="session-write"))
            await unit.session.flush()
            await _write_meanwhile(db.sessions, clock, department="75")
            conv.language = "en"
            await unit.end(inbox, TurnEnd(12, False, store.changes(conv),
                                          replies=_replies(outbox, 1)))
    assert await _count(db, Event) == 1  # the session's write went with the end
    assert await _count(db, OutboxMessage) == 0 and await _count(db, ProcessedUpdate) == 1


async def test_postgres_a_state_erased_by_the_turn_itself_is_not_a_conflict(db, clock) -> None:
    _postgres_only(db)
    _outbox, inbox, store = _parts(db, clock)
    await _write_meanwhile(db.sessions, clock, language="fr")
    async with turn_unit(db.sessions) as unit:
        conv = await unit.load(store, KEY)
        await unit.session.execute(delete(UserState).where(UserState.user_key == KEY))
        conv.forget()  # what `/effacer` does
        await unit.end(inbox, TurnEnd(13, False, store.changes(conv), check_state=False))
    assert await _count(db, UserState) == 0 and await _count(db, ProcessedUpdate) == 1


async def test_a_turn_whose_state_moved_runs_again_on_the_new_state(db, tmp_path) -> None:
    """End to end: another replica writes the user's state while the bot's turn runs (a
    language chosen elsewhere); on PostgreSQL the turn is undone and runs again, so the
    physician gets one answer, in the language now stored. SQLite reads the state in the
    turn's transaction, under the writer lock: it never takes this path."""
    async with running_bot(make_settings(db.url, tmp_path)) as (api, services):
        chat = Chat(api, 4711, language="fr")
        key = services.user_key(4711)
        original, reads = services.state.read, []

        async def read_then_written_elsewhere(conn, user_key: str):
            conv = await original(conn, user_key)
            reads.append(conv.language)
            if len(reads) == 1:
                async with transaction(services.sessions) as session:
                    session.add(UserState(user_key=key, mode="idle", data={}, language="en",
                                          updated_at=services.clock.now()))
            return conv

        services.state.read = read_then_written_elsewhere  # type: ignore[method-assign]
        sent = await chat.command("/start")
        if db.kind == "postgres":
            assert reads[:2] == [None, "en"]  # (then the sentinel's turn)
            assert "not an emergency line" in texts(sent)
            assert "pas une ligne d'urgence" not in texts(sent)  # the undone turn sent nothing
            assert len([m for m in sent if "emergency" in m.plain]) == 1
        else:
            assert reads == []  # SQLite reads through the session


async def test_postgres_a_state_that_keeps_moving_ends_in_the_inbox_not_a_loop(
        db, tmp_path) -> None:
    """Bounded: a turn whose state moves at every attempt is run three times, then fails
    like any turn (retried from the inbox, then parked with the plain apology)."""
    _postgres_only(db)
    async with running_bot(make_settings(db.url, tmp_path)) as (api, services):
        key = services.user_key(4712)
        original, reads = services.state.read, []

        async def read_then_written_elsewhere(conn, user_key: str):
            conv = await original(conn, user_key)
            reads.append(user_key)
            await _write_meanwhile(services.sessions, services.clock, key,
                                   language="en" if len(reads) % 2 else "fr")
            return conv

        services.state.read = read_then_written_elsewhere  # type: ignore[method-assign]
        api.send_text(4712, "bonjour")
        await api.wait_for(lambda c: "une erreur s'est produite" in str(
            c.params.get("text", "")), chat_id=4712, timeout=20)
        # three attempts per turn, three turns (the first, then two retries from the inbox)
        assert len(reads) == 9
        assert not [m for m in api.sent_messages(4712) if "erreur" not in m.plain]

