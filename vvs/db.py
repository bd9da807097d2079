"""Database engine and units of work (SQLite by default, PostgreSQL for replicas)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

SessionFactory = async_sessionmaker[AsyncSession]


def make_engine(url: str) -> AsyncEngine:
    """Create the async engine; SQLite gets WAL, `synchronous=NORMAL`, `secure_delete` and a
    busy timeout so writers wait."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


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
async def transaction(sessions: SessionFactory) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on any error."""
    async with sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


def is_postgres(engine_or_session: object) -> bool:
    bind = getattr(engine_or_session, "bind", None) or engine_or_session
    return getattr(getattr(bind, "dialect", None), "name", "") == "postgresql"
