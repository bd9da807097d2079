"""Pseudonymous event log for the annual review (the report reads only this table)."""

from __future__ import annotations

import re

from sqlalchemy import update
from sqlmodel.ext.asyncio.session import AsyncSession

from vvs.clock import Clock
from vvs.models import Event
from vvs.privacy import LABEL_EVENTS, ErasureStep

_CATEGORICAL = re.compile(r"^[a-z0-9_.:-]{1,60}$")
DEPARTMENTS = frozenset(
    {f"{n:02d}" for n in range(1, 96) if n != 20} | {"2A", "2B", "971", "972", "973", "974", "976"}
)


def _categorical(name: str, value: str | None) -> str | None:
    """Refuse anything that is not a short code: free text must never reach the log."""
    if value is None:
        return None
    if not _CATEGORICAL.match(value):
        # the message must not echo the value: it could be text a user typed
        raise ValueError(f"event {name} must be a short code (got {len(value)} characters)")
    return value


async def record_event(
    session: AsyncSession,
    clock: Clock,
    kind: str,
    *,
    user_key: str | None = None,
    department: str | None = None,
    category: str | None = None,
    detail: str | None = None,
    value: float | None = None,
) -> Event:
    """Add one event to the unit of work `session` belongs to."""
    if department is not None and department not in DEPARTMENTS:
        department = None
    event = Event(
        at=clock.now(),
        kind=_categorical("kind", kind) or kind,
        department=department,
        category=_categorical("category", category),
        detail=_categorical("detail", detail),
        value=value,
        user_key=user_key,
    )
    session.add(event)
    return event


async def _anonymise(session: AsyncSession, user_key: str) -> int:
    result = await session.exec(
        update(Event).where(Event.user_key == user_key).values(user_key=None)
    )
    return result.rowcount or 0


ERASURE = ErasureStep(LABEL_EVENTS, _anonymise, order=90)
