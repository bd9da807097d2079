"""A turn's unit of work: the read of the user's state, the session its handlers may use,
and its end — the claim of its update (and its inbox row's deletion), the conversation's
state, the turn's events and its replies as outbox rows leased to this process.

Both run the turn's hot statements on the pooled connection's raw driver connection, below
SQLAlchemy's execution, and open a session on that same connection only for a handler that
asks for one (`session`): it commits or rolls back with the turn.

SQLite (`SqliteUnit`): the turn is one transaction, holding the process's writer lock from
the state's read to the commit; its statements run inline on the event loop and cost no
round trip, so the end writes one statement per row, each prepared once from its Core
statement (`vvs.sqlite_inline.Prepared`: the same SQL and stored forms).

PostgreSQL (`PgUnit`): optimistic concurrency, two round trips for a turn whose handlers
use no session. The state is read outside any transaction with its version (`xmin`,
`StateStore.read`), no lock is held while the handlers run, and the end is one statement
(data-modifying CTEs) that writes the state only if the row is still at that version and
raises otherwise (migration 0008): the claim, the events and the replies are then undone
with it, and the runner runs the turn again on the new state. Without a handler's session
the statement is its own transaction; a handler that uses `unit.session` opens a
transaction on the same connection, which takes the user's advisory lock first (the
previous serialisation of such turns across replicas) and commits with the end. The rows
go as JSON arrays, so the statement's text is the same whatever their number and is
prepared once per connection (asyncpg's statement cache).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Protocol

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from vvs.db import QUEUED, SessionFactory, before_raw, committed_raw, sqlite_writer
from vvs.errors import StateMoved
from vvs.events import INSERT_EVENT
from vvs.inbox import DELETE_STORED, Inbox
from vvs.models import ProcessedUpdate
from vvs.outbox import INSERT_REPLY
from vvs.sqlite_inline import Prepared, prepared
from vvs.state import (
    PG_READ,
    SELECT,
    Conversation,
    StateStore,
    StateWrite,
    Stored,
    write_statement,
)

# $1 update id, $2 now, $3 an inbox row to delete, $4 the state's row (a JSON array of one
# or none), $5 the user whose row goes, $6 events, $7 replies, $8 the user whose state the
# turn read (NULL: no check), $9 its version then (NULL: no row), $10 the turn writes it.
# The state is written only at the version read (a concurrent update re-evaluates `xmin`
# on the newest row and matches nothing); unwritten, it must still be at that version.
_END = """
WITH claimed AS (
    INSERT INTO processed_update (update_id, processed_at) VALUES ($1, $2)
    ON CONFLICT (update_id) DO NOTHING RETURNING update_id
), unstored AS (
    DELETE FROM inbox WHERE $3 AND update_id = $1
), present AS (
    SELECT xmin::text AS version FROM user_state WHERE user_key = $8
), updated AS (
    UPDATE user_state SET mode = s.mode, data = s.data, language = s.language,
        department = s.department, updated_at = s.updated_at
    FROM json_populate_recordset(NULL::user_state, CAST($4 AS json)) AS s
    WHERE user_state.user_key = s.user_key AND user_state.xmin::text = $9
    RETURNING 1
), inserted AS (
    INSERT INTO user_state (user_key, mode, data, language, department, updated_at)
    SELECT s.user_key, s.mode, s.data, s.language, s.department, s.updated_at
    FROM json_populate_recordset(NULL::user_state, CAST($4 AS json)) AS s
    WHERE $9 IS NULL
    ON CONFLICT (user_key) DO NOTHING RETURNING 1
), dropped AS (
    DELETE FROM user_state WHERE user_key = $5 AND xmin::text = $9 RETURNING 1
), new_events AS (
    INSERT INTO event (at, kind, department, category, detail, value, user_key)
    SELECT e.at, e.kind, e.department, e.category, e.detail, e.value, e.user_key
    FROM json_populate_recordset(NULL::event, CAST($6 AS json)) AS e
), new_replies AS (
    INSERT INTO outbox (chat_id, payload, status, attempts, next_attempt_at, created_at,
                        possible_duplicate, user_key, purpose, locked_until)
    SELECT r.chat_id, r.payload, 'pending', 0, r.next_attempt_at, r.created_at, false,
           r.user_key, r.purpose, r.locked_until
    FROM json_populate_recordset(NULL::outbox, CAST($7 AS json)) WITH ORDINALITY AS r
    ORDER BY r.ordinality
    RETURNING id
)
SELECT vvs_end_turn(
    (SELECT count(*) FROM claimed),
    CASE WHEN $10 THEN (SELECT count(*) FROM updated) + (SELECT count(*) FROM inserted)
                       + (SELECT count(*) FROM dropped) = 1
         ELSE $8 IS NULL OR (SELECT version FROM present) IS NOT DISTINCT FROM $9 END),
    ARRAY(SELECT id FROM new_replies ORDER BY id) AS ids
"""
_PROCESSED, _MOVED = "VV001", "VV002"  # vvs_end_turn's errors (migration 0008)
# a turn whose handlers open a session serialises with the user's other such turns
_LOCK_USER = text("SELECT pg_advisory_xact_lock(hashtext(:k))")
# SQLite: the claim of a turn's update (nothing when it was processed already)
_CLAIM = sqlite_insert(ProcessedUpdate).on_conflict_do_nothing()


@dataclass(frozen=True)
class TurnEnd:
    """What a turn writes once its handlers are done."""

    update_id: int
    stored: bool  # an inbox row to delete (a webhook update answered after its commit has none)
    state: StateWrite | None = None  # `StateStore.changes`
    events: Sequence[Mapping[str, Any]] = ()  # `vvs.events.event_values`
    replies: Sequence[Mapping[str, Any]] = ()  # `Outbox.claimed_values`
    # PostgreSQL: the state read must not have changed meanwhile (False when the turn's own
    # session erased it: `/effacer`)
    check_state: bool = True


class TurnUnit(Protocol):
    """What the runner asks of a turn's unit of work (`turn_unit`)."""

    @property
    def session(self) -> AsyncSession: ...

    @property
    def queued(self) -> bool: ...  # the turn's session added work for the worker

    async def load(self, store: StateStore, user_key: str) -> Conversation: ...

    async def end(self, inbox: Inbox, end: TurnEnd) -> list[int] | None: ...


@asynccontextmanager
async def turn_unit(sessions: SessionFactory) -> AsyncIterator[TurnUnit]:
    """A turn's unit of work on the sessions' database: committed when the block ends, rolled
    back on an error (`StateMoved` on PostgreSQL: run the turn again). On SQLite it holds
    the process's writer lock throughout."""
    engine = sessions.kw["bind"]
    kind = PgUnit if engine.dialect.name == "postgresql" else SqliteUnit
    async with sqlite_writer(sessions), engine.connect() as conn:
        unit = kind(sessions, conn, (await conn.get_raw_connection()).driver_connection)
        try:
            yield unit
            await unit.commit()
        except BaseException:
            await unit.abort()
            raise
        finally:
            if unit.opened is not None:
                await unit.opened.close()


class _RawUnit:
    """One pooled connection for the turn, its hot statements on the driver's connection
    (`raw`); a session on the same connection only if a handler asks for one."""

    def __init__(self, sessions: SessionFactory, conn: AsyncConnection, raw: Any) -> None:
        self.sessions = sessions
        self.conn = conn
        self.raw = raw
        self.opened: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        if self.opened is None:
            self.opened = self.sessions(bind=self.conn)
            self._opening(self.opened)
        return self.opened

    def _opening(self, session: AsyncSession) -> None:
        """A hook for the session a handler asked for."""

    @property
    def queued(self) -> bool:
        return self.opened is not None and bool(self.opened.info.get(QUEUED))

    async def commit(self) -> None:
        if self.opened is not None:
            await self.opened.commit()

    async def abort(self) -> None:
        if self.opened is not None:
            await self.opened.rollback()


class SqliteUnit(_RawUnit):
    """SQLite: one transaction (sqlite3 begins it at the first write), under the writer lock
    `turn_unit` holds; the hot statements prepared once (`vvs.sqlite_inline.prepared`)."""

    raw: sqlite3.Connection

    async def load(self, store: StateStore, user_key: str) -> Conversation:
        statement = self._prepared(SELECT)
        found = statement.rows(self._execute(statement, {"k": user_key}))
        return store.conversation(user_key, Stored(*found[0]) if found else None)

    async def end(self, inbox: Inbox, end: TurnEnd) -> list[int] | None:
        """One statement per row; None when the update was processed already (everything
        undone: the caller then calls `Inbox.drop`)."""
        claim = self._prepared(_CLAIM, ("update_id", "processed_at"))
        if self._execute(claim, {"update_id": end.update_id,
                                 "processed_at": inbox.clock.now()}).rowcount == 0:
            await self.abort()
            return None
        if end.stored:
            self._run(DELETE_STORED, {"u": end.update_id})
        if end.state is not None:
            self._run(*write_statement(end.state))
        for row in end.events:
            self._run(INSERT_EVENT, row)
        ids = []
        for row in end.replies:
            insert = self._prepared(INSERT_REPLY, tuple(row))
            ids.append(insert.rows(self._execute(insert, row))[0][0])
        return ids

    async def commit(self) -> None:
        await super().commit()  # (SQLAlchemy commits only if the session did something)
        if self.raw.in_transaction:  # the turn's own writes, without a session's
            self.raw.commit()
            committed_raw(self.conn.sync_engine)

    async def abort(self) -> None:
        await super().abort()
        self.raw.rollback()

    def _prepared(self, statement: Any, keys: Sequence[str] | None = None) -> Prepared:
        return prepared(self.conn.dialect, statement, keys)

    def _run(self, statement: Any, values: Mapping[str, Any]) -> sqlite3.Cursor:
        return self._execute(self._prepared(statement, tuple(values)), values)

    def _execute(self, statement: Prepared, values: Mapping[str, Any]) -> sqlite3.Cursor:
        before_raw(self.conn.sync_engine, statement.sql)
        return statement.execute(self.raw, values)


class PgUnit(_RawUnit):
    """PostgreSQL: the state read with its version, the end one statement."""

    raw: asyncpg.Connection

    def __init__(self, sessions: SessionFactory, conn: AsyncConnection,
                 raw: asyncpg.Connection) -> None:
        super().__init__(sessions, conn, raw)
        self.user_key: str | None = None  # whose state the turn read
        self.version: str | None = None  # of the state row read (None: there was none)
        self.lost = False  # a raw statement met a lost connection (`_lost`)

    def _opening(self, session: AsyncSession) -> None:
        if self.user_key is not None:
            event.listen(session.sync_session, "after_begin",
                         partial(_lock_user, self.user_key))

    async def abort(self) -> None:
        if self.lost or self.raw.is_closed():
            # a lost connection (a server restart): SQLAlchemy replaces the pool when one of
            # its statements meets one, these raw ones bypass it; the pool's other
            # connections are dead too
            await self.conn.invalidate()
            await self.conn.engine.dispose()
        else:
            await super().abort()

    async def load(self, store: StateStore, user_key: str) -> Conversation:
        before_raw(self.conn.sync_engine, PG_READ)
        with self._watched():
            conv = await store.read(self.raw, user_key)
        self.user_key = user_key
        self.version = conv.stored.version if conv.stored is not None else None
        return conv

    async def end(self, inbox: Inbox, end: TurnEnd) -> list[int] | None:
        """One statement; None when the update was processed already (everything undone),
        `StateMoved` when the state changed since `load`."""
        state = end.state
        saved = [state.values] if state is not None and state.values is not None else []
        dropped = state.user_key if state is not None and state.values is None else None
        checked = self.user_key if end.check_state else None
        before_raw(self.conn.sync_engine, _END)
        try:
            with self._watched():
                found = await self.raw.fetchrow(
                    _END, end.update_id, inbox.clock.now(), end.stored, _json_rows(saved),
                    dropped, _json_rows(end.events), _json_rows(end.replies), checked,
                    self.version, state is not None)
        except asyncpg.PostgresError as exc:
            if exc.sqlstate == _MOVED:
                raise StateMoved from None  # (no key in a message that may be logged)
            if exc.sqlstate != _PROCESSED:
                raise
            await super().abort()  # the session's writes go too (the connection is fine)
            return None
        if self.opened is None or not self.opened.in_transaction():
            committed_raw(self.conn.sync_engine)
        return list(found["ids"])

    @contextmanager
    def _watched(self) -> Iterator[None]:
        """Around a raw statement: note an error that lost the connection (a handler's own
        errors, an `OSError` reading a file say, are not the pool's business)."""
        try:
            yield
        except BaseException as exc:
            self.lost = self.lost or _lost(exc)
            raise


def _lost(exc: BaseException) -> bool:
    """An error of a raw statement that leaves its connection unusable: the socket (OSError,
    asyncpg's client errors, which come before it shows closed) or the server's end of it
    (SQLSTATE classes 08, connection exception, and 57, the server shutting it down)."""
    if isinstance(exc, OSError | asyncpg.InterfaceError | asyncpg.InternalClientError):
        return True
    state = getattr(exc, "sqlstate", None) if isinstance(exc, asyncpg.PostgresError) else None
    return isinstance(state, str) and state[:2] in ("08", "57")


def _lock_user(user_key: str, _session: Any, _transaction: Any, connection: Any) -> None:
    connection.execute(_LOCK_USER, {"k": user_key})


def _json_rows(rows: Sequence[Mapping[str, Any]]) -> str:
    """Rows as a JSON array for `json_populate_recordset` (datetimes in ISO 8601, with
    their offset)."""
    return json.dumps(list(rows), default=_iso, separators=(",", ":"), ensure_ascii=False)


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a column value")
