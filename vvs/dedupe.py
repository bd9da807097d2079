"""Process each Telegram update once, even when it is delivered twice."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from vvs.clock import Clock
from vvs.db import SessionFactory, transaction
from vvs.models import ProcessedUpdate


async def claim_update(sessions: SessionFactory, clock: Clock, update_id: int) -> bool:
    """Record `update_id`; False when another worker (or an earlier delivery) has it."""
    try:
        async with transaction(sessions) as session:
            session.add(ProcessedUpdate(update_id=update_id, processed_at=clock.now()))
    except IntegrityError:
        return False
    return True


async def purge_processed(sessions: SessionFactory, clock: Clock, retention: timedelta) -> int:
    """Forget update ids older than the retention (Telegram redelivers within hours)."""
    async with transaction(sessions) as session:
        result = await session.exec(delete(ProcessedUpdate).where(
            col(ProcessedUpdate.processed_at) < clock.now() - retention))
        return result.rowcount or 0
