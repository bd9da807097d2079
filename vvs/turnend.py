"""The end of a turn, in its transaction: the claim of its update (and its inbox row's
deletion), the conversation's state, the turn's events and its replies as outbox rows
leased to this process.

PostgreSQL writes them in one statement (data-modifying CTEs, which all run to completion):
with the state's locked read, a turn costs two statements whatever it writes, instead of one
round trip to the server per table. The rows go as JSON arrays, so the statement's text is
the same whatever their number and is prepared once per connection. SQLite, whose statements
run inline on the event loop and cost no round trip, writes one statement per row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, String, bindparam, text
from sqlmodel.ext.asyncio.session import AsyncSession

from vvs.db import is_postgres
from vvs.events import insert_events
from vvs.inbox import Inbox
from vvs.outbox import insert_claimed
from vvs.state import StateWrite, apply

# A processed update inserts no claim (`claimed` 0): the caller rolls the whole turn back.
# At most one of `saved` and `dropped` has a row (`StateWrite`).
_END = text("""
WITH claimed AS (
    INSERT INTO processed_update (update_id, processed_at) VALUES (:update_id, :now)
    ON CONFLICT (update_id) DO NOTHING RETURNING update_id
), unstored AS (
    DELETE FROM inbox WHERE :stored AND update_id = :update_id
), saved AS (
    INSERT INTO user_state (user_key, mode, data, language, department, updated_at)
    SELECT s.user_key, s.mode, s.data, s.language, s.department, s.updated_at
    FROM json_populate_recordset(NULL::user_state, CAST(:states AS JSON)) AS s
    ON CONFLICT (user_key) DO UPDATE SET mode = excluded.mode, data = excluded.data,
        language = excluded.language, department = excluded.department,
        updated_at = excluded.updated_at
), dropped AS (
    DELETE FROM user_state WHERE user_key = :dropped
), new_events AS (
    INSERT INTO event (at, kind, department, category, detail, value, user_key)
    SELECT e.at, e.kind, e.department, e.category, e.detail, e.value, e.user_key
    FROM json_populate_recordset(NULL::event, CAST(:events AS JSON)) AS e
), new_replies AS (
    INSERT INTO outbox (chat_id, payload, status, attempts, next_attempt_at, created_at,
                        possible_duplicate, user_key, purpose, locked_until)
    SELECT r.chat_id, r.payload, 'pending', 0, r.next_attempt_at, r.created_at, false,
           r.user_key, r.purpose, r.locked_until
    FROM json_populate_recordset(NULL::outbox, CAST(:replies AS JSON)) WITH ORDINALITY AS r
    ORDER BY r.ordinality
    RETURNING id
)
SELECT (SELECT count(*) FROM claimed) AS claimed,
       ARRAY(SELECT id FROM new_replies ORDER BY id) AS ids
""").bindparams(bindparam("update_id", type_=BigInteger),
                bindparam("now", type_=DateTime(timezone=True)),
                bindparam("stored", type_=Boolean), bindparam("states", type_=String),
                bindparam("dropped", type_=String), bindparam("events", type_=String),
                bindparam("replies", type_=String))


@dataclass(frozen=True)
class TurnEnd:
    """What a turn writes once its handlers are done."""

    update_id: int
    stored: bool  # an inbox row to delete (a webhook update answered after its commit has none)
    state: StateWrite | None = None  # `StateStore.changes`
    events: Sequence[Mapping[str, Any]] = ()  # `vvs.events.event_values`
    replies: Sequence[Mapping[str, Any]] = ()  # `Outbox.claimed_values`


async def write(session: AsyncSession, inbox: Inbox, end: TurnEnd) -> list[int] | None:
    """Write the turn's end in its transaction. The replies' outbox ids, in order; None
    when the update was processed already: the turn is rolled back (the caller then calls
    `Inbox.drop`)."""
    if not is_postgres(session):
        if not await inbox.claim(session, end.update_id, stored=end.stored):
            return None
        conn = await session.connection()
        if end.state is not None:
            await apply(conn, end.state)
        await insert_events(conn, end.events)
        return await insert_claimed(conn, end.replies)
    state = end.state
    saved = [state.values] if state is not None and state.values is not None else []
    dropped = state.user_key if state is not None and state.values is None else None
    found = (await (await session.connection()).execute(_END, {
        "update_id": end.update_id, "now": inbox.clock.now(), "stored": end.stored,
        "states": _json_rows(saved), "dropped": dropped, "events": _json_rows(end.events),
        "replies": _json_rows(end.replies)})).one()
    if not found.claimed:
        await session.rollback()
        return None
    return list(found.ids)


def _json_rows(rows: Sequence[Mapping[str, Any]]) -> str:
    """Rows as a JSON array for `json_populate_recordset` (datetimes in ISO 8601, with
    their offset)."""
    return json.dumps(list(rows), default=_iso, separators=(",", ":"), ensure_ascii=False)


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a column value")
