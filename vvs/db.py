"""Database engine and units of work (SQLite by default, PostgreSQL for replicas)."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

SessionFactory = async_sessionmaker[AsyncSession]
# `session.info` key set when a transaction adds work for the background worker (an outbox
# row, a job): the caller wakes the worker after the commit, and only then
QUEUED = "vvs.queued"
POOL_RECYCLE_SECONDS = 300


def make_engine(url: str) -> AsyncEngine:
    """Create the async engine; SQLite gets WAL, `synchronous=NORMAL`, `secure_delete` and a
    busy timeout so writers wait."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # No cap on connections: a turn holds its connection while it queues for the writer
        # lock, and the lock's holder may need one more (an inbox insert takes the lock,
        # then a connection); with a capped pool, enough queued turns starved the holder and
        # nobody was answered. The turns (64 at most) and the lock bound the count anyway.
        engine = create_async_engine(url, connect_args={"timeout": 30}, pool_size=20,
                                     max_overflow=-1)
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
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


async def scrub_wal(engine: AsyncEngine) -> bool:
    """SQLite: copy the write-ahead log into the database and truncate it to zero bytes.

    `secure_delete` zeroes a deleted row in the database file, but the WAL still holds the
    page versions written before the deletion until a checkpoint and a truncation; the worker
    calls this every few seconds so a processed update's raw text does not linger there.
    True when the log was emptied (another connection reading can make it wait a turn)."""
    if engine.dialect.name != "sqlite":
        return True
    async with engine.connect() as conn:
        busy = (await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")).first()
    return busy is not None and busy[0] == 0


def make_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def transaction(sessions: SessionFactory, *,
                      writer: bool = True) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on any error.

    On SQLite the whole unit holds the process's writer lock (`sqlite_writer`), unless
    `writer=False`: the caller then takes it itself around its writes (the turn does, so
    its handlers run without holding it)."""
    async with contextlib.AsyncExitStack() as stack:
        if writer:
            await stack.enter_async_context(sqlite_writer(sessions))
        async with sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise


_WRITER_LOCKS: weakref.WeakKeyDictionary[Any, asyncio.Lock] = weakref.WeakKeyDictionary()
_HOLDING: contextvars.ContextVar[bool] = contextvars.ContextVar("vvs_sqlite_writer",
                                                               default=False)


@asynccontextmanager
async def sqlite_writer(sessions: SessionFactory,
                        session: AsyncSession | None = None) -> AsyncIterator[None]:
    """SQLite: one writing transaction at a time in this process, first come first served.

    SQLite lets one writer in and makes the others sleep and poll in its busy handler, which
    serves them unfairly (seconds of tail latency under load); an asyncio lock queues them
    instead. Re-entrant within a task. When `session` has already begun writing (it holds
    SQLite's lock), the lock is not taken: waiting for it could wait on a writer that waits
    for us. PostgreSQL: nothing to do (row locks)."""
    engine = sessions.kw.get("bind")
    if engine is None or engine.dialect.name != "sqlite" or _HOLDING.get():
        yield
        return
    if session is not None and await _writing(session):
        yield
        return
    lock = _WRITER_LOCKS.setdefault(engine.sync_engine, asyncio.Lock())
    async with lock:
        token = _HOLDING.set(True)
        try:
            yield
        finally:
            _HOLDING.reset(token)


async def _writing(session: AsyncSession) -> bool:
    raw = await (await session.connection()).get_raw_connection()
    return bool(getattr(raw.driver_connection, "in_transaction", False))


def is_postgres(engine_or_session: object) -> bool:
    bind = getattr(engine_or_session, "bind", None) or engine_or_session
    return getattr(getattr(bind, "dialect", None), "name", "") == "postgresql"
