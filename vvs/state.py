"""Conversation state: per user, in the database, so restarts and replicas agree.

One place decides what free text means: the `mode`. Modes are plain strings owned by the
features (`idle`, `flow`, `annuaire`, `esc_message`, `relay`, …), and each mode's state is a
small dataclass the feature declares with the router (`router.mode(MODE, state=…)`). The
store writes a state as JSON with its version (`{"v": 1, …fields}`, the class's `VERSION`)
and reads it back with that type. A class that changes its shape bumps `VERSION` and may
read its earlier shapes with a classmethod `upgrade(version, fields) -> fields` (the fields
of that version, without "v", turned into the current ones; ValueError when they do not
read), so a user mid-way through a step keeps their place across a deploy. A mode it does
not know, or a state of another shape or version that does not upgrade, returns the user to
idle (logged, never an error). A mode left untouched for longer than the expiry is dropped
at the user's next message, and they are told so.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple, TypeVar

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Executable, bindparam, delete, insert, select, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from vvs.clock import Clock
from vvs.db import SessionFactory, transaction
from vvs.models import UserState
from vvs.privacy import LABEL_STATE, ErasureStep

log = logging.getLogger(__name__)
# Built once: a turn executes them with its values (no statement to build, cache key to
# compute or ORM path to take on every turn)
_KEY = col(UserState.user_key) == bindparam("k")
_STATE = UserState.__table__.c  # type: ignore[attr-defined]  # SQLModel's table
_COLUMNS = (_STATE.mode, _STATE.data, _STATE.language, _STATE.department, _STATE.updated_at)
SELECT = select(*_COLUMNS).where(_KEY)  # the row of user `k`, as `Stored` reads it
# PostgreSQL, on a turn's own connection, outside any transaction: the row and its version
# (`xmin`, the id of the transaction that wrote it), which the turn's end compares
# (`vvs.turnend`): no lock is held while the handlers run
PG_READ = ("SELECT " + ", ".join(c.name for c in _COLUMNS)
           + ", xmin::text FROM user_state WHERE user_key = $1")
_INSERT = insert(UserState)
_UPDATE = update(UserState).where(_KEY)
_DELETE = delete(UserState).where(_KEY)

IDLE = "idle"
# `updated_at` of an unchanged state is rewritten at most this often: it drives the expiry
# of a mode and the purge of drafts (hours), so minutes of slack cost nothing, and most turns
# then write no state row at all
STATE_TOUCH = timedelta(minutes=5)
VERSION_KEY = "v"
S = TypeVar("S")
# mode → the dataclass of its state (a class may serve several modes)
StateTypes = Mapping[str, type[object]]


class Stored(NamedTuple):
    """A `user_state` row as a turn reads it (`vvs.turnend`)."""

    mode: str
    data: dict[str, Any]
    language: str | None
    department: str | None
    updated_at: datetime
    version: str | None = None  # PostgreSQL: the row's `xmin` (`StateStore.read`)


@dataclass
class Conversation:
    """A user's state as loaded for one update; `expired_mode` is set when a mode timed out."""

    user_key: str
    mode: str = IDLE
    state: object | None = None  # an instance of the mode's state dataclass
    language: str | None = None
    department: str | None = None
    expired_mode: str | None = None
    exists: bool = False
    forgotten: bool = False  # erased during this update: nothing is saved
    # the row as loaded, to write only what changed (and nothing when nothing did)
    stored: Stored | None = field(default=None, repr=False, compare=False)

    def set_mode(self, mode: str, state: object | None = None) -> None:
        self.mode = mode
        self.state = state

    def idle(self) -> None:
        self.set_mode(IDLE)

    def state_of(self, kind: type[S], *modes: str) -> S | None:
        """The state if it is a `kind` (and the mode one of `modes`, when given)."""
        if isinstance(self.state, kind) and (not modes or self.mode in modes):
            return self.state
        return None

    def forget(self) -> None:
        """Everything about the user was erased: back to a blank, unsaved conversation."""
        self.idle()
        self.language = self.department = None
        self.exists = False
        self.forgotten = True

    @property
    def is_empty(self) -> bool:
        """Idle with no preference: nothing worth a row in the database."""
        return self.mode == IDLE and self.state is None and not self.language \
            and not self.department


Upgrade = Callable[[int, dict[str, Any]], dict[str, Any]]


def encode(state: object | None) -> dict[str, Any]:
    """A mode's state as the JSON stored in `user_state.data` (JSON types: a tuple is
    written as a list, as the database returns it, so an unchanged state compares equal)."""
    if state is None:
        return {}
    if not dataclasses.is_dataclass(state) or isinstance(state, type):
        raise TypeError(f"a mode's state must be a dataclass instance, not {type(state)}")
    kind = type(state)
    fields: dict[str, Any] = _adapter(kind).dump_python(state, mode="json")
    return {VERSION_KEY: _version(kind), **fields}


def decode(kind: type[S], data: Mapping[str, Any]) -> S:
    """Read a stored state back as `kind`; ValueError when its version or shape differs.

    A state without a version was written before states were typed, with the same keys: it
    is read as version 1. An earlier version is read through the class's `upgrade`, when it
    has one."""
    fields = dict(data)
    version = fields.pop(VERSION_KEY, 1)
    current = _version(kind)
    if version != current:
        upgrade: Upgrade | None = getattr(kind, "upgrade", None)
        if upgrade is None or not isinstance(version, int) or not 1 <= version < current:
            raise ValueError(f"{kind.__name__} version {version!r}")
        fields = upgrade(version, fields)
    try:
        return _adapter(kind).validate_python(fields)
    except ValidationError as exc:
        raise ValueError(f"{kind.__name__}: {exc.error_count()} field(s) do not fit") from exc


def _version(kind: type[object]) -> int:
    return int(getattr(kind, "VERSION", 1))


_ADAPTERS: dict[type[object], TypeAdapter[Any]] = {}


def _adapter(kind: type[S]) -> TypeAdapter[S]:
    """One pydantic adapter per state class, built at its first use."""
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    return adapter


class StateStore:
    """Reads `Conversation`s from their rows and says what saving one writes; a turn's unit
    of work runs the statements (`vvs.turnend`)."""

    def __init__(self, clock: Clock, expiry: timedelta, types: StateTypes | None = None
                 ) -> None:
        self.clock = clock
        self.expiry = expiry
        self.types = dict(types or {})

    async def read(self, conn: Any, user_key: str) -> Conversation:
        """PostgreSQL: read the user's state with its version on a raw asyncpg connection,
        outside any transaction and without a lock; the turn's end writes only if the row
        is still at that version (`vvs.turnend`)."""
        found = await conn.fetchrow(PG_READ, user_key)
        return self.conversation(user_key, None if found is None else Stored(*found))

    def conversation(self, user_key: str, row: Stored | None) -> Conversation:
        """The conversation a stored row holds (none: a new one), its mode dropped when it
        expired or no longer reads."""
        if row is None:
            return Conversation(user_key)
        conv = Conversation(user_key, row.mode, None, row.language, row.department,
                            exists=True, stored=row)
        if conv.mode != IDLE and self.clock.now() - row.updated_at > self.expiry:
            conv.expired_mode = conv.mode
            conv.idle()
            return conv
        conv.state = self._read(row.mode, row.data or {})
        if conv.state is None and conv.mode != IDLE:
            conv.idle()
        return conv

    def _read(self, mode: str, data: Mapping[str, Any]) -> object | None:
        kind = self.types.get(mode)
        if kind is None:
            if mode != IDLE:
                log.info("state of unknown mode %r dropped: back to idle", mode)
            return None
        if mode == IDLE and not data:
            return None
        try:
            return decode(kind, data)
        except ValueError as exc:
            log.info("state of mode %r does not read (%s): back to idle", mode, exc)
            return None

    def changes(self, conv: Conversation) -> StateWrite | None:
        """What saving `conv` writes (one row per user, none when there is nothing to keep);
        None when nothing changed since it was loaded and it was touched recently."""
        if conv.forgotten:
            return None
        row = conv.stored
        if conv.is_empty:
            return StateWrite(conv.user_key, None, exists=True) if row is not None else None
        now = self.clock.now()
        data = encode(conv.state)
        if row is not None and (row.mode, row.data, row.language, row.department) == (
                conv.mode, data, conv.language, conv.department) \
                and now - row.updated_at < STATE_TOUCH:
            return None  # unchanged and recently touched: no write
        return StateWrite(conv.user_key, {
            "user_key": conv.user_key, "mode": conv.mode, "data": data,
            "language": conv.language, "department": conv.department, "updated_at": now},
            exists=row is not None)

@dataclass(frozen=True)
class StateWrite:
    """A conversation's row to write (`values`), or to delete (`values` None)."""

    user_key: str
    values: dict[str, Any] | None
    exists: bool  # the row is there: an update, not an insert


def write_statement(write: StateWrite) -> tuple[Executable, dict[str, Any]]:
    """The one statement that writes a `StateWrite`, and its values."""
    if write.values is None:
        return _DELETE, {"k": write.user_key}
    if write.exists:
        values = {key: value for key, value in write.values.items() if key != "user_key"}
        return _UPDATE, {"k": write.user_key, **values}
    return _INSERT, write.values


async def purge_expired(sessions: SessionFactory, clock: Clock, expiry: timedelta) -> int:
    """Clear the data of steps left idle past the expiry (a request's draft holds the
    physician's message and phone number); the mode stays, so the user is still told."""
    async with transaction(sessions) as session:
        result = await session.exec(
            update(UserState).where(col(UserState.mode) != IDLE,
                                    col(UserState.updated_at) < clock.now() - expiry)
            .values(data={}))
        return result.rowcount or 0


async def _erase(session: AsyncSession, user_key: str) -> int:
    result = await session.exec(
        delete(UserState).where(col(UserState.user_key) == user_key)
    )
    return result.rowcount or 0


ERASURE = ErasureStep(LABEL_STATE, _erase, order=50)
