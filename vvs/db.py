"""Database engine and units of work (SQLite by default, PostgreSQL for replicas)."""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import registry
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from vvs import sqlite_inline

SessionFactory = async_sessionmaker[AsyncSession]
# `session.info` key set when a transaction adds work for the background worker (an outbox
# row, a job): the caller wakes the worker after the commit, and only then
QUEUED = "vvs.queued"
POOL_RECYCLE_SECONDS = 300
registry.register(f"sqlite.{sqlite_inline.DRIVER}", "vvs.sqlite_inline", "Dialect")


def make_engine(url: str) -> AsyncEngine:
    """Create the async engine for a URL of `vvs.settings.async_database_url`; SQLite gets
    WAL, `synchronous=NORMAL`, `secure_delete`, and its statements run inline on the event
    loop (`vvs.sqlite_inline`: every writer holds `sqlite_writer`; its busy timeout is the
    driver's)."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # No cap on connections: a turn holds its connection while it queues for the writer
        # lock, and the lock's holder may need one more (an inbox insert takes the lock,
        # then a connection); with a capped pool, enough queued turns starved the holder and
        # nobody was answered. The turns (64 at most) and the lock bound the count anyway.
        engine = create_async_engine(url, pool_size=20, max_overflow=-1)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # No pre-ping (a round trip at every checkout): a connection the server dropped (a
    # restart) fails one statement, SQLAlchemy then invalidates the whole pool, and the
    # update is retried from the inbox; recycling bounds a connection's age anyway.
    return create_async_engine(url, pool_pre_ping=False, pool_recycle=POOL_RECYCLE_SECONDS,
                               pool_size=5, max_overflow=5)


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # WAL + NORMAL: a commit survives a process crash (not a power loss), without an fsync
    # per commit; secure_delete: a deleted row (a processed update, a delivered message) is
    # overwritten with zeros, not left in free pages
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


async def scrub_wal(engine: AsyncEngine) -> bool:
    """SQLite: copy the write-ahead log into the database and truncate it to zero bytes.

    `secure_delete` zeroes a deleted row in the database file, but the WAL still holds the
    page versions written before the deletion until a checkpoint and a truncation; the worker
    calls this every few seconds so a processed update's raw text does not linger there.
    True when the log was emptied (another connection reading can make it wait a turn).

    The checkpoint does not wait (`busy_timeout=0`): it would wait for readers and a writer
    of this process with the whole event loop (`vvs.sqlite_inline`)."""
    if engine.dialect.name != "sqlite":
        return True
    wait = int(sqlite_inline.BUSY_TIMEOUT_SECONDS * 1000)
    async with engine.connect() as conn:
        await conn.exec_driver_sql("PRAGMA busy_timeout=0")
        try:
            busy = (await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")).first()
        finally:
            await conn.exec_driver_sql(f"PRAGMA busy_timeout={wait}")
    return busy is not None and busy[0] == 0


def make_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def transaction(sessions: SessionFactory) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on any error. On SQLite the whole unit
    holds the process's writer lock (`sqlite_writer`)."""
    async with sqlite_writer(sessions), sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


_WRITER_LOCKS: weakref.WeakKeyDictionary[Any, asyncio.Lock] = weakref.WeakKeyDictionary()
_HOLDING: contextvars.ContextVar[bool] = contextvars.ContextVar("vvs_sqlite_writer",
                                                               default=False)


def holding_writer() -> bool:
    """Whether this task holds the SQLite writer lock (what every write must do there)."""
    return _HOLDING.get()


@asynccontextmanager
async def sqlite_writer(sessions: SessionFactory) -> AsyncIterator[None]:
    """SQLite: one writing transaction at a time in this process, first come first served,
    held from the transaction's start to its end. Its statements run on the event loop
    (`vvs.sqlite_inline`): a writer waiting in SQLite's busy handler would stop the loop, and
    with it the writer it waits for. An asyncio lock queues writers instead (fairly, where
    SQLite's busy handler served them by chance). Re-entrant within a task: a transaction
    opened inside another must commit before the outer one writes. PostgreSQL: nothing to
    do (row locks)."""
    engine = sessions.kw.get("bind")
    if engine is None or engine.dialect.name != "sqlite" or _HOLDING.get():
        yield
        return
    lock = _WRITER_LOCKS.setdefault(engine.sync_engine, asyncio.Lock())
    async with lock:
        token = _HOLDING.set(True)
        try:
            yield
        finally:
            _HOLDING.reset(token)


@asynccontextmanager
async def released(sessions: SessionFactory,
                   session: AsyncSession | None = None) -> AsyncIterator[None]:
    """A slow await inside a unit of work (a content reload in a thread): the other writers
    of this process go in meanwhile. Only while `session` has written nothing (SQLite's own
    lock is then free, and its reads took no snapshot to keep); else the lock is kept."""
    engine = sessions.kw.get("bind")
    lock = _WRITER_LOCKS.get(engine.sync_engine) if engine is not None else None
    if lock is None or not _HOLDING.get() or (session is not None and await _writing(session)):
        yield
        return
    lock.release()
    token = _HOLDING.set(False)
    try:
        yield
    finally:
        _HOLDING.reset(token)
        # the unit of work releases the lock when it ends: it must hold it again, even if
        # this task is cancelled meanwhile
        waiter = asyncio.ensure_future(lock.acquire())
        cancelled = False
        while not waiter.done():
            try:
                await asyncio.shield(waiter)
            except asyncio.CancelledError:
                cancelled = True
        if cancelled:
            raise asyncio.CancelledError


async def _writing(session: AsyncSession) -> bool:
    raw = await (await session.connection()).get_raw_connection()
    return bool(getattr(raw.driver_connection, "in_transaction", False))


# Statements a unit of work runs on its raw driver connection, outside SQLAlchemy
# (`vvs.turnend`), announced to the listeners of their engine as SQLAlchemy's own are to its
# events: `listen_statements` sees both (the tests' SQL echo and fault injection, the load
# benchmark's counts)
_RAW_LISTENERS: weakref.WeakKeyDictionary[
    Any, list[tuple[Callable[[str], None], Callable[[], None]]]] = weakref.WeakKeyDictionary()


def before_raw(engine: Any, statement: str) -> None:
    """Announce a statement about to run on a raw connection of `engine` (a sync engine);
    a listener may raise, as one of SQLAlchemy's `before_cursor_execute` may."""
    for on_statement, _on_commit in _RAW_LISTENERS.get(engine, ()):
        on_statement(statement)


def committed_raw(engine: Any) -> None:
    """Announce that a raw statement that writes committed on its own (autocommit)."""
    for _on_statement, on_commit in _RAW_LISTENERS.get(engine, ()):
        on_commit()


def listen_statements(engine: AsyncEngine, on_statement: Callable[[str], None],
                      on_commit: Callable[[], None]) -> Callable[[], None]:
    """Call `on_statement` before every statement the engine runs, SQLAlchemy's and its units
    of work's raw ones, and `on_commit` at every commit (an autocommit statement that writes
    counts as one); returns the function that stops listening."""
    sync = engine.sync_engine

    def statement(_conn: Any, _cursor: Any, text: str, *_rest: Any) -> None:
        on_statement(text)

    def commit(_conn: Any) -> None:
        on_commit()

    pair = (on_statement, on_commit)
    event.listen(sync, "before_cursor_execute", statement)
    event.listen(sync, "commit", commit)
    _RAW_LISTENERS.setdefault(sync, []).append(pair)

    def stop() -> None:
        event.remove(sync, "before_cursor_execute", statement)
        event.remove(sync, "commit", commit)
        _RAW_LISTENERS[sync].remove(pair)

    return stop


def is_postgres(engine_or_session: object) -> bool:
    bind = getattr(engine_or_session, "bind", None) or engine_or_session
    return getattr(getattr(bind, "dialect", None), "name", "") == "postgresql"
