"""Figures of the referent requests for the operators' console: what is open now, by
département and age, what is overdue, and how long taking in charge and closing took.

Open requests are read from the `escalation` table (status, département, category, times:
never the physician's name, phone, chat or message, which are not even selected). Times to
take in charge and to close come from the statistics events (`escalation_taken`,
`escalation_closed`: minutes since the request was made), read through `vvs.stats` like the
annual report, so closed requests deleted after their retention still count and the
percentiles are the report's (exact over raw events, estimated in their bin over months
already folded into the monthly aggregates).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import load_only
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from escalation.models import LIVE, OPEN, TAKEN, Escalation
from vvs.stats import Durations, Summary, read_period

# the only columns of a request the figures read (not the physician's name, chat, phone or
# message, which stay unloaded: reading one would raise)
SHOWN = ("id", "department", "category", "status", "created_at", "reminded", "escalated")


@dataclass(frozen=True)
class OpenRequest:
    """A live request as the console shows it: no name, phone or message."""

    id: int
    department: str
    category: str
    status: str  # open (waiting for a referent) | taken (in charge, not closed)
    age_minutes: float  # since it was made
    waiting_minutes: float | None  # since it was made, while nobody has it in charge
    reminded: bool
    escalated: bool  # sent to the regional chat
    overdue: bool  # waiting longer than the reminder delay
    late: bool  # waiting longer than the regional delay


@dataclass(frozen=True)
class Delays:
    """Durations of one kind over the period: how many, median and 90th percentile."""

    count: int
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, durations: Durations) -> Delays:
        return cls(durations.count, durations.quantile(0.5), durations.quantile(0.9))


@dataclass(frozen=True)
class DepartmentFigures:
    department: str  # a département code, or "" for the total
    waiting: int  # open, nobody in charge
    overdue: int  # waiting longer than the reminder delay
    late: int  # waiting longer than the regional delay
    taken: int  # in charge, not closed
    oldest_waiting: float | None  # minutes
    created: int  # made during the period (events)
    take: Delays  # time to take in charge, during the period
    close: Delays  # time to close, during the period


@dataclass(frozen=True)
class EscalationFigures:
    start: datetime
    end: datetime
    reminder: timedelta
    regional: timedelta
    departments: tuple[DepartmentFigures, ...]
    total: DepartmentFigures | None  # only when several départements are shown
    open: tuple[OpenRequest, ...]  # oldest first
    exact: bool  # False when aggregated months make the percentiles estimates


def _minutes(delta: timedelta) -> float:
    return round(delta.total_seconds() / 60, 1)


async def open_requests(session: AsyncSession, now: datetime, departments: Sequence[str],
                        reminder: timedelta, regional: timedelta) -> list[OpenRequest]:
    """Live requests of these départements, oldest first (only the SHOWN columns)."""
    query = select(Escalation).options(load_only(
        *(getattr(Escalation, name) for name in SHOWN), raiseload=True)).where(
        col(Escalation.status).in_(LIVE), col(Escalation.department).in_(list(departments))
    ).order_by(col(Escalation.created_at), col(Escalation.id))
    rows = (await session.exec(query)).all()
    out = []
    for esc in rows:
        age = now - esc.created_at
        waiting = esc.status == OPEN
        out.append(OpenRequest(
            int(esc.id or 0), esc.department, esc.category, esc.status, _minutes(age),
            _minutes(age) if waiting else None, esc.reminded, esc.escalated,
            waiting and age >= reminder, waiting and age >= regional))
    return out


def _department(code: str, live: Sequence[OpenRequest], summary: Summary,
                codes: Sequence[str]) -> DepartmentFigures:
    mine = [r for r in live if r.department in codes]
    waiting = [r for r in mine if r.status == OPEN]

    def durations(kind: str) -> Durations:
        out = Durations()
        for department in codes:
            out.add(summary.duration(kind, department=department))
        return out

    return DepartmentFigures(
        department=code, waiting=len(waiting), overdue=sum(r.overdue for r in waiting),
        late=sum(r.late for r in waiting), taken=sum(r.status == TAKEN for r in mine),
        oldest_waiting=max((r.age_minutes for r in waiting), default=None),
        created=sum(summary.count("escalation_created", department=d) for d in codes),
        take=Delays.of(durations("escalation_taken")),
        close=Delays.of(durations("escalation_closed")))


async def escalation_figures(session: AsyncSession, now: datetime, *,
                             departments: Sequence[str], start: datetime, end: datetime,
                             reminder: timedelta, regional: timedelta) -> EscalationFigures:
    """The figures of these départements: open requests now, delays over [start, end)."""
    live = await open_requests(session, now, departments, reminder, regional)
    period = await read_period(session, start, end)
    rows = tuple(_department(d, live, period.total, (d,)) for d in departments)
    total = _department("", live, period.total, departments) if len(departments) > 1 else None
    exact = all(period.total.duration(kind, department=d).exact for d in departments
                for kind in ("escalation_taken", "escalation_closed"))
    return EscalationFigures(start, end, reminder, regional, rows, total, tuple(live), exact)
