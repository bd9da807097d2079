"""Shared fixtures: databases (SQLite and PostgreSQL in one run) and a fake clock."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from vvs.clock import FakeClock
from vvs.db import SessionFactory, holding_writer, make_engine, make_session_factory
from vvs.migrate import upgrade
from vvs.settings import async_database_url

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"


WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


@pytest.fixture(autouse=True)
def sqlite_writes_hold_the_writer_lock():
    """Every test: on SQLite, no row is written outside the writer lock. Its statements run
    on the event loop (`vvs.sqlite_inline`): a write that met another writer would wait in
    SQLite's busy handler with the whole loop."""
    outside: list[str] = []

    def before(conn, _cursor, statement, *_args) -> None:
        if conn.dialect.name != "sqlite" or holding_writer():
            return
        if statement.lstrip()[:7].upper().startswith(WRITES) \
                and "alembic_version" not in statement:  # migrations: before any turn
            outside.append(" ".join(statement.split()[:4]))

    event.listen(Engine, "before_cursor_execute", before)
    yield
    event.remove(Engine, "before_cursor_execute", before)
    assert not outside, f"written outside the SQLite writer lock: {outside}"


@dataclass
class Database:
    kind: str
    url: str
    engine: AsyncEngine
    sessions: SessionFactory


async def _reset_postgres(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[Database]:
    """A migrated, empty database of each kind; PostgreSQL is skipped only when optional."""
    if request.param == "postgres":
        if not POSTGRES_URL:
            if REQUIRE_POSTGRES:
                pytest.fail("REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set")
            pytest.skip("TEST_POSTGRES_URL not set")
        url = async_database_url(POSTGRES_URL)
    else:
        url = async_database_url(f"sqlite:///{tmp_path / 'test.db'}")
    engine = make_engine(url)
    try:
        if request.param == "postgres":
            await _reset_postgres(engine)
        await upgrade(engine)
        yield Database(request.param, url, engine, make_session_factory(engine))
    finally:
        await engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
