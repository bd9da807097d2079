"""SQLite's prepared statements (`vvs.sqlite_inline.Prepared`), which a turn runs below
SQLAlchemy's execution: what they store must be exactly what SQLAlchemy stores for the same
values (dates, JSON, booleans, defaults), and what they read must come back as its types."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, insert

from vvs.db import sqlite_writer
from vvs.events import INSERT_EVENT, event_values
from vvs.outbox import INSERT_REPLY, OutboundMessage, Outbox
from vvs.sqlite_inline import Prepared, prepared
from vvs.state import SELECT, Conversation, StateStore, write_statement
from vvs.ui import Button

KEY = "k" * 64


@pytest.fixture
async def sqlite_db(db):
    if db.kind != "sqlite":
        pytest.skip("SQLite's driver")
    return db


def _stored(path: str, table: str) -> list[tuple]:
    """The rows as sqlite3 sees them in the file, without their key."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
    return [row[1:] for row in rows]


async def _through_prepared(db, statement, values: dict) -> None:
    """Write `values` with `Prepared` on a raw sqlite3 connection, as a turn does."""
    async with sqlite_writer(db.sessions), db.engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        prepared(db.engine.dialect, statement, tuple(values)).execute(raw, values)
        raw.commit()


async def _both(db, statement, values: dict) -> None:
    """Write `values` through SQLAlchemy, then through `Prepared`."""
    async with sqlite_writer(db.sessions), db.engine.begin() as conn:
        await conn.execute(statement, values)
    await _through_prepared(db, statement, values)


async def test_prepared_inserts_store_what_sqlalchemy_stores(sqlite_db, clock) -> None:
    db = sqlite_db
    path = db.url.split(":///", 1)[1]
    await _both(db, INSERT_EVENT, event_values(clock, "question", department="93",
                                               category="answered", value=1.5,
                                               user_key=KEY))
    outbox = Outbox(db.sessions, clock, None)  # type: ignore[arg-type]
    reply = outbox.claimed_values(4242, OutboundMessage(
        "réponse « é » <b>gras</b>", ((Button("Menu", "m:menu"),),), "fr"), user_key=KEY)
    await _both(db, INSERT_REPLY, reply)  # status, attempts, possible_duplicate: defaults
    events, replies = _stored(path, "event"), _stored(path, "outbox")
    assert len(events) == 2 and events[0] == events[1]
    assert len(replies) == 2 and replies[0] == replies[1]
    assert "pending" in replies[0] and isinstance(events[0][0], str)  # a stored date


async def test_prepared_state_writes_and_reads_round_trip(sqlite_db, clock) -> None:
    db = sqlite_db
    path = db.url.split(":///", 1)[1]
    write = StateStore(clock, timedelta(hours=24)).changes(
        Conversation(KEY, mode="idle", language="fr", department="93"))
    assert write is not None
    statement, values = write_statement(write)
    async with sqlite_writer(db.sessions), db.engine.begin() as conn:
        await conn.execute(statement, values)
        expected = (await conn.execute(SELECT, {"k": KEY})).one()
    through_sqlalchemy = _stored(path, "user_state")
    async with sqlite_writer(db.sessions), db.engine.begin() as conn:
        await conn.exec_driver_sql("DELETE FROM user_state")
    await _through_prepared(db, statement, values)
    async with db.engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        read = prepared(db.engine.dialect, SELECT)
        (row,) = read.rows(read.execute(raw, {"k": KEY}))
    assert _stored(path, "user_state") == through_sqlalchemy
    assert row == tuple(expected)
    assert row[4] == clock.now() and isinstance(row[1], dict)  # a date and JSON, read back


def test_prepared_refuses_what_it_cannot_do_alone(sqlite_db) -> None:
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True),
                  Column("at", DateTime, default=datetime.now))
    with pytest.raises(ValueError, match="at: give a value"):
        Prepared(insert(table), sqlite_db.engine.dialect, ("id",))
    statement = Prepared(insert(table), sqlite_db.engine.dialect, ("id", "at"))
    with pytest.raises(KeyError):
        statement.execute(sqlite3.connect(":memory:"), {"id": 1})
