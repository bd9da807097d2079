"""Durable jobs: timers that survive restarts and run once across replicas.

A job is claimed with a lease (`locked_until`) by a conditional UPDATE, after a
`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL (ignored by SQLite, where one writer at a
time makes the conditional UPDATE enough). The handler runs inside the transaction that
marks the job done, so its database effects and its completion commit together.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from sqlalchemy import ColumnElement, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from vvs.clock import Clock
from vvs.db import QUEUED, SessionFactory, transaction
from vvs.models import Job

log = logging.getLogger(__name__)

JobHandler = Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]
# schedule(session, run_at, dedupe_key): how a recurring job's handler schedules its next run
Scheduler = Callable[[AsyncSession, datetime, str], Awaitable[object]]


async def claim_jobs(
    session: AsyncSession, due: list[ColumnElement[bool]], now: datetime, lease: timedelta,
    worker: str | None, limit: int,
) -> list[int]:
    """Lease up to `limit` due jobs; return the ids this worker won."""
    locked_until = col(Job.locked_until)
    free = or_(locked_until.is_(None), locked_until < now)
    query = select(col(Job.id)).where(*due, free).order_by(col(Job.id)).limit(limit)
    found = (await session.exec(query.with_for_update(skip_locked=True))).all()
    won = []
    for row_id in found:
        if row_id is None:  # a primary key read back: never None
            continue
        values: dict[str, datetime | str] = {"locked_until": now + lease}
        if worker is not None:
            values["locked_by"] = worker
        result = await session.exec(
            update(Job).where(col(Job.id) == row_id, free).values(**values))
        if result.rowcount == 1:
            won.append(row_id)
    return won


class JobScheduler:
    """Schedules and cancels jobs in the caller's transaction (what domain code needs)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def schedule(self, session: AsyncSession, kind: str, run_at: datetime,
                       payload: dict[str, Any] | None = None,
                       dedupe_key: str | None = None) -> Job | None:
        """Add a job in the caller's transaction; a live job with the same key is kept."""
        if dedupe_key is not None:
            query = select(Job).where(col(Job.dedupe_key) == dedupe_key)
            existing = (await session.exec(query)).first()
            if existing is not None:
                return None
        job = Job(kind=kind, payload=payload or {}, run_at=run_at, dedupe_key=dedupe_key)
        session.add(job)
        session.info[QUEUED] = True
        return job

    def scheduler_for(self, kind: str) -> Scheduler:
        """`schedule` bound to `kind`, for a recurring job that schedules its next run."""
        async def schedule(session: AsyncSession, run_at: datetime, dedupe_key: str
                           ) -> Job | None:
            return await self.schedule(session, kind, run_at, dedupe_key=dedupe_key)

        return schedule

    async def cancel(self, session: AsyncSession, dedupe_key: str) -> None:
        """Mark a pending job done without running it (e.g. a reminder no longer needed)."""
        await session.exec(update(Job).where(col(Job.dedupe_key) == dedupe_key,
                                             col(Job.done_at).is_(None))
                           .values(done_at=self.clock.now(), last_error="cancelled"))


class JobQueue(JobScheduler):
    """Schedules and runs durable jobs with the handlers, by kind, given at construction."""

    def __init__(self, sessions: SessionFactory, clock: Clock, worker_id: str,
                 handlers: Mapping[str, JobHandler] | None = None,
                 lease: timedelta = timedelta(minutes=5), max_attempts: int = 8) -> None:
        super().__init__(clock)
        self.sessions = sessions
        self.worker_id = worker_id
        self.handlers: Mapping[str, JobHandler] = MappingProxyType(dict(handlers or {}))
        self.lease = lease
        self.max_attempts = max_attempts

    async def run_due(self, limit: int = 20) -> int:
        """Run the jobs that are due; return how many completed."""
        now = self.clock.now()
        async with transaction(self.sessions) as session:
            due = [col(Job.done_at).is_(None), col(Job.run_at) <= now]
            ids = await claim_jobs(session, due, now, self.lease, self.worker_id, limit)
        done = 0
        for job_id in ids:
            done += await self._run_one(job_id)
        return done

    async def _run_one(self, job_id: int) -> int:
        try:
            async with transaction(self.sessions) as session:
                job = await session.get(Job, job_id)
                if job is None or job.done_at is not None or job.locked_by != self.worker_id:
                    return 0
                handler = self.handlers.get(job.kind)
                if handler is None:
                    raise LookupError(f"no handler for job kind {job.kind!r}")
                await handler(session, dict(job.payload))
                job.done_at = self.clock.now()
                job.locked_until = None
                session.add(job)
            return 1
        except Exception as exc:
            log.exception("job %s failed", job_id)
            await self._failed(job_id, exc)
            return 0

    async def _failed(self, job_id: int, exc: Exception) -> None:
        async with transaction(self.sessions) as session:
            job = await session.get(Job, job_id)
            if job is None:
                return
            job.attempts += 1
            job.last_error = repr(exc)[:500]
            job.locked_until = None
            if job.attempts >= self.max_attempts:
                job.done_at = self.clock.now()  # given up: visible in the table for admins
            else:
                job.run_at = self.clock.now() + timedelta(seconds=30 * 2 ** job.attempts)
            session.add(job)
