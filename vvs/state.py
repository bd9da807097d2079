"""Conversation state: per user, in the database, so restarts and replicas agree.

One place decides what free text means: the `mode`. Modes are plain strings owned by the
features (`idle`, `flow`, `annuaire`, `esc_message`, `relay`, …). A mode left untouched for
longer than the expiry is dropped at the user's next message, and they are told so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, text, update
from sqlmodel.ext.asyncio.session import AsyncSession

from vvs.clock import Clock
from vvs.db import SessionFactory, is_postgres, transaction
from vvs.models import UserState
from vvs.privacy import LABEL_STATE, ErasureStep

IDLE = "idle"


@dataclass
class Conversation:
    """A user's state as loaded for one update; `expired` is set when a mode timed out."""

    user_key: str
    mode: str = IDLE
    data: dict[str, Any] = field(default_factory=dict)
    language: str | None = None
    department: str | None = None
    expired_mode: str | None = None
    exists: bool = False

    def set_mode(self, mode: str, data: dict[str, Any] | None = None) -> None:
        self.mode = mode
        self.data = dict(data or {})

    def idle(self) -> None:
        self.set_mode(IDLE)

    @property
    def is_empty(self) -> bool:
        """Idle with no preference: nothing worth a row in the database."""
        return self.mode == IDLE and not self.data and not self.language \
            and not self.department


class StateStore:
    """Loads and saves `Conversation`s inside the caller's unit of work."""

    def __init__(self, clock: Clock, expiry: timedelta) -> None:
        self.clock = clock
        self.expiry = expiry

    async def load(self, session: AsyncSession, user_key: str) -> Conversation:
        """Read the user's state, dropping a mode that has expired.

        On PostgreSQL the user's turns are serialised across replicas by a transaction-level
        advisory lock, so two updates of one user never overwrite each other's state.
        """
        if is_postgres(session):
            await session.exec(text("SELECT pg_advisory_xact_lock(hashtext(:k))").bindparams(
                k=user_key))
        row = await session.get(UserState, user_key)
        if row is None:
            return Conversation(user_key)
        conv = Conversation(user_key, row.mode, dict(row.data or {}), row.language,
                            row.department, exists=True)
        if conv.mode != IDLE and self.clock.now() - row.updated_at > self.expiry:
            conv.expired_mode = conv.mode
            conv.idle()
        return conv

    async def save(self, session: AsyncSession, conv: Conversation) -> None:
        """Write the state back (one row per user); keep no row when there is nothing to keep."""
        row = await session.get(UserState, conv.user_key)
        if conv.is_empty:
            if row is not None:
                await session.delete(row)
            return
        if row is None:
            row = UserState(user_key=conv.user_key, updated_at=self.clock.now())
        row.mode, row.data = conv.mode, dict(conv.data)
        row.language, row.department = conv.language, conv.department
        row.updated_at = self.clock.now()
        session.add(row)


async def purge_expired(sessions: SessionFactory, clock: Clock, expiry: timedelta) -> int:
    """Clear the data of steps left idle past the expiry (a request's draft holds the
    physician's message and phone number); the mode stays, so the user is still told."""
    async with transaction(sessions) as session:
        result = await session.exec(
            update(UserState).where(UserState.mode != IDLE,
                                    UserState.updated_at < clock.now() - expiry)
            .values(data={}))
        return result.rowcount or 0


async def _erase(session: AsyncSession, user_key: str) -> int:
    result = await session.exec(
        delete(UserState).where(UserState.user_key == user_key)
    )
    return result.rowcount or 0


ERASURE = ErasureStep(LABEL_STATE, _erase, order=50)
