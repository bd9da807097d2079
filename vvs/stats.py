"""Statistics from the event log: monthly summaries, retention, the key figures of `/stats`.

One shape, `Summary`, is built from raw events (recent months) and read back from the monthly
aggregate tables (months past the retention period), so the report and `/stats` read the
same structure whatever the age of the data; the retention job writes exactly what
`summarise` computes, which is why aggregating keeps every total the report shows.
Months are calendar months in UTC.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from sqlalchemy import delete, func, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select

from vvs.clock import Clock
from vvs.db import is_postgres
from vvs.events import COUNT_VALUE_KINDS, DURATION_KINDS
from vvs.i18n import _, current_language
from vvs.jobs import JobHandler, Scheduler
from vvs.models import Event, EventMonth, EventMonthPeople

ALL = "*"  # every département together (distinct physicians are not additive)
NONE = ""  # no département, category or detail
SESSION_GAP = timedelta(minutes=30)  # a longer silence starts a new session
# Fixed bins (minutes) of the duration histograms: bin i is [BINS[i], BINS[i+1]).
DURATION_BINS = (0, 5, 15, 30, 60, 120, 240, 480, 720, 1440, 2880, 4320, 10080, 20160, 43200)
RETENTION_JOB = "stats_retention"
RETENTION_LOCK = 7_235_014  # advisory lock: one aggregation at a time on PostgreSQL

Key = tuple[str, str, str, str]  # kind, département, category, detail ('' for none)
Row = tuple[datetime, str, str | None, str | None, str | None, float | None, str | None]


def month_of(moment: datetime | date) -> date:
    return date(moment.year, moment.month, 1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def month_start(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=UTC)


def _bin(value: float) -> int:
    return max(0, bisect.bisect_right(DURATION_BINS, value) - 1)


@dataclass
class Durations:
    """Durations in minutes: exact values (raw events) and/or a histogram (aggregates)."""

    values: list[float] = field(default_factory=list)
    hist: list[int] = field(default_factory=lambda: [0] * len(DURATION_BINS))

    @property
    def count(self) -> int:
        return len(self.values) + sum(self.hist)

    def add(self, other: Durations) -> None:
        self.values.extend(other.values)
        self.hist = [a + b for a, b in zip(self.hist, other.hist, strict=True)]

    @property
    def exact(self) -> bool:
        return not any(self.hist)

    def quantile(self, q: float) -> float | None:
        """The q-quantile: exact (median, nearest rank) over raw values; interpolated in its
        bin once aggregated months are included (`exact` is then False)."""
        n = self.count
        if n == 0:
            return None
        if self.exact:
            ordered = sorted(self.values)
            if q == 0.5:
                return float(statistics.median(ordered))
            return ordered[max(0, math.ceil(q * n) - 1)]
        hist = list(self.hist)
        for value in self.values:
            hist[_bin(value)] += 1
        rank, seen = q * n, 0
        for i, count in enumerate(hist):
            if count and seen + count >= rank:
                low = DURATION_BINS[i]
                high = DURATION_BINS[i + 1] if i + 1 < len(DURATION_BINS) else low * 2
                return low + (high - low) * (rank - seen) / count
            seen += count
        return float(DURATION_BINS[-1])


@dataclass
class Summary:
    """Counted events of one month (or of a period, once months are added together)."""

    counts: Counter[Key] = field(default_factory=Counter)
    zeros: Counter[Key] = field(default_factory=Counter)
    durations: dict[Key, Durations] = field(default_factory=lambda: defaultdict(Durations))
    physicians: Counter[str] = field(default_factory=Counter)  # département → distinct
    sessions: Counter[str] = field(default_factory=Counter)

    def add(self, other: Summary) -> None:
        """Add another month; distinct physicians add up as physician-months."""
        self.counts.update(other.counts)
        self.zeros.update(other.zeros)
        for key, d in other.durations.items():
            self.durations[key].add(d)
        self.physicians.update(other.physicians)
        self.sessions.update(other.sessions)

    def _match(self, key: Key, kind: str, filters: dict[str, str | None]) -> bool:
        if key[0] != kind:
            return False
        for index, name in ((1, "department"), (2, "category"), (3, "detail")):
            if name in filters and key[index] != (filters[name] or NONE):
                return False
        return True

    def count(self, kind: str, **filters: str | None) -> int:
        """Events of `kind` (filter on department, category, detail; None means none)."""
        return sum(n for k, n in self.counts.items() if self._match(k, kind, filters))

    def zero(self, kind: str, **filters: str | None) -> int:
        """Events of `kind` whose value was 0 (a search that found nothing)."""
        return sum(n for k, n in self.zeros.items() if self._match(k, kind, filters))

    def by(self, kind: str, field_name: str, *, zeros: bool = False,
           **filters: str | None) -> Counter[str]:
        """Counts of `kind` (or of its zero values) split by one field ('department',
        'category', 'detail')."""
        index = {"department": 1, "category": 2, "detail": 3}[field_name]
        out: Counter[str] = Counter()
        for key, n in (self.zeros if zeros else self.counts).items():
            if self._match(key, kind, filters):
                out[key[index]] += n
        return out

    def duration(self, kind: str, **filters: str | None) -> Durations:
        out = Durations()
        for key, d in self.durations.items():
            if self._match(key, kind, filters):
                out.add(d)
        return out


def summarise(rows: Iterable[Row]) -> tuple[dict[date, Summary], Counter[str]]:
    """Monthly summaries of raw event rows (any order), and the distinct physicians of all
    the rows together per département (`ALL` for everyone)."""
    months: dict[date, Summary] = defaultdict(Summary)
    per_user: dict[str, list[tuple[datetime, str | None]]] = defaultdict(list)
    for at, kind, department, category, detail, value, user_key in rows:
        month = month_of(at)
        summary = months[month]
        key = (kind, department or NONE, category or NONE, detail or NONE)
        summary.counts[key] += 1
        if value is not None:
            if kind in DURATION_KINDS:
                summary.durations[key].values.append(float(value))
            elif kind in COUNT_VALUE_KINDS and value == 0:
                summary.zeros[key] += 1
        if user_key is not None:
            per_user[user_key].append((at, department))
    period: Counter[str] = Counter()
    for events in per_user.values():
        events.sort(key=lambda e: e[0])
        _count_physician(events, months, period)
    return dict(months), period


def _count_physician(events: list[tuple[datetime, str | None]], months: dict[date, Summary],
                     period: Counter[str]) -> None:
    """One physician's events in time order: their months, départements and sessions."""
    seen: dict[date, set[str]] = defaultdict(set)
    sessions: list[tuple[date, str]] = []
    last: datetime | None = None
    for at, department in events:
        month = month_of(at)
        if department:
            seen[month].add(department)
        else:
            seen.setdefault(month, set())
        if last is None or at - last > SESSION_GAP:
            sessions.append((month, department or NONE))
        elif department and not sessions[-1][1]:
            sessions[-1] = (sessions[-1][0], department)  # first département known
        last = at
    everywhere: set[str] = set()
    for month, departments in seen.items():
        counted = departments or {NONE}
        everywhere |= counted
        for department in (*counted, ALL):
            months[month].physicians[department] += 1
    for department in (*everywhere, ALL):
        period[department] += 1
    for month, department in sessions:
        months[month].sessions[department] += 1
        months[month].sessions[ALL] += 1


# ---------------------------------------------------------------------- reading a period
@dataclass
class Period:
    """What the report needs over [start, end): months in order and their sum."""

    start: datetime
    end: datetime
    months: dict[date, Summary]
    total: Summary
    physicians: Counter[str] | None  # distinct over the period; None over aggregated months
    aggregated: tuple[date, ...]  # months read from the aggregates (whole months)

    @property
    def empty(self) -> bool:
        return not self.total.counts and not self.total.physicians


async def raw_rows(session: AsyncSession, start: datetime, end: datetime,
                   max_id: int | None = None) -> list[Row]:
    """Event rows in [start, end) (`summarise` needs no order)."""
    # sqlmodel.select is typed for up to four columns: its Select class takes any number
    query: Select[datetime, str, str | None, str | None, str | None, float | None,
                  str | None] = Select(
        col(Event.at), col(Event.kind), col(Event.department), col(Event.category),
        col(Event.detail), col(Event.value), col(Event.user_key))
    query = query.where(col(Event.at) >= start, col(Event.at) < end)
    if max_id is not None:
        query = query.where(col(Event.id) <= max_id)
    return [(at, kind, department, category, detail, value, user_key)
            for at, kind, department, category, detail, value, user_key
            in (await session.exec(query)).all()]


async def aggregated_months(session: AsyncSession, first: date, last: date
                            ) -> dict[date, Summary]:
    """Summaries read back from the aggregate tables for months in [first, last]."""
    out: dict[date, Summary] = defaultdict(Summary)
    query = select(EventMonth).where(col(EventMonth.month) >= first,
                                     col(EventMonth.month) <= last)
    for row in await session.exec(query):
        summary = out[row.month]
        key = (row.kind, row.department, row.category, row.detail)
        summary.counts[key] += row.count
        if row.zeros:
            summary.zeros[key] += row.zeros
        if row.hist:
            d = summary.durations[key]
            d.hist = [a + b for a, b in zip(d.hist, row.hist, strict=False)]
    people = select(EventMonthPeople).where(col(EventMonthPeople.month) >= first,
                                            col(EventMonthPeople.month) <= last)
    for seen in await session.exec(people):
        out[seen.month].physicians[seen.department] += seen.physicians
        out[seen.month].sessions[seen.department] += seen.sessions
    return dict(out)


def whole_days(start: date, end: date) -> tuple[datetime, datetime]:
    """The period from `start` to `end` included, in whole UTC days, as the [begin, finish)
    bounds `read_period` takes."""
    begin = datetime(start.year, start.month, start.day, tzinfo=UTC)
    return begin, datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1)


async def read_period(session: AsyncSession, start: datetime, end: datetime) -> Period:
    """Raw events in [start, end), plus the aggregated months that overlap it (whole)."""
    first, last = month_of(start), month_of(end - timedelta(microseconds=1))
    old = await aggregated_months(session, first, last)
    months, physicians = summarise(await raw_rows(session, start, end))
    for month, summary in old.items():
        months.setdefault(month, Summary()).add(summary)
    total = Summary()
    ordered = {}
    month = first
    while month <= last:
        ordered[month] = months.get(month, Summary())
        total.add(ordered[month])
        month = add_months(month, 1)
    aggregated = tuple(sorted(old))
    return Period(start, end, ordered, total, None if aggregated else physicians, aggregated)


# ---------------------------------------------------------------------- retention
async def aggregate_old_events(session: AsyncSession, clock: Clock,
                               retention_months: int = 13) -> int:
    """Fold raw events of the months wholly older than `retention_months` into the monthly
    aggregates and delete them, in the caller's transaction; return how many were folded.

    Idempotent (a month already folded has no raw events left; a late event found in a
    folded month is added to its counts). On PostgreSQL an advisory lock serialises two
    runs; on SQLite the single writer does.
    """
    if is_postgres(session):
        connection = await session.connection()
        await connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": RETENTION_LOCK})
    cutoff = add_months(month_of(clock.now()), -retention_months)
    first = (await session.exec(select(func.min(col(Event.at))).where(
        col(Event.at) < month_start(cutoff)))).first()
    if first is None:
        return 0
    folded, month = 0, month_of(first)
    while month < cutoff:
        start, end = month_start(month), month_start(add_months(month, 1))
        max_id = (await session.exec(select(func.max(col(Event.id))).where(
            col(Event.at) >= start, col(Event.at) < end))).first()
        if max_id is not None:
            rows = await raw_rows(session, start, end, max_id)
            summaries, _period = summarise(rows)
            await _store(session, month, summaries[month])
            await session.exec(delete(Event).where(
                col(Event.at) >= start, col(Event.at) < end, col(Event.id) <= max_id))
            folded += len(rows)
        month = add_months(month, 1)
    return folded


async def _store(session: AsyncSession, month: date, summary: Summary) -> None:
    existing = {(r.kind, r.department, r.category, r.detail): r for r in await session.exec(
        select(EventMonth).where(col(EventMonth.month) == month))}
    for key, n in summary.counts.items():
        row = existing.get(key) or EventMonth(month=month, kind=key[0], department=key[1],
                                               category=key[2], detail=key[3])
        row.count += n
        row.zeros += summary.zeros.get(key, 0)
        if key in summary.durations:
            hist = list(row.hist or [0] * len(DURATION_BINS))
            for value in summary.durations[key].values:
                hist[_bin(value)] += 1
            row.hist = hist
        session.add(row)
    people = {r.department: r for r in await session.exec(
        select(EventMonthPeople).where(col(EventMonthPeople.month) == month))}
    for department in set(summary.physicians) | set(summary.sessions):
        seen = people.get(department) or EventMonthPeople(month=month, department=department)
        seen.physicians += summary.physicians.get(department, 0)
        seen.sessions += summary.sessions.get(department, 0)
        session.add(seen)
    await session.flush()


def next_retention_run(now: datetime) -> tuple[datetime, str]:
    """When the daily retention job runs next (03:00 UTC) and its dedupe key."""
    run = datetime(now.year, now.month, now.day, 3, tzinfo=UTC)
    if run <= now:
        run += timedelta(days=1)
    return run, f"{RETENTION_JOB}:{run.date().isoformat()}"


def retention_job(clock: Clock, retention_months: int,
                  schedule: Scheduler | None = None) -> JobHandler:
    """The durable job's handler: fold old events, then schedule tomorrow's run.

    `schedule(session, run_at, dedupe_key)` is typically
    `lambda s, at, key: queue.schedule(s, RETENTION_JOB, at, dedupe_key=key)`; the daily
    dedupe key makes the job fire once per day across replicas.
    """
    async def handler(session: AsyncSession, _payload: dict[str, Any]) -> None:
        await aggregate_old_events(session, clock, retention_months)
        if schedule is not None:
            run_at, key = next_retention_run(clock.now())
            await schedule(session, run_at, key)

    return handler


# ---------------------------------------------------------------------- /stats
@dataclass(frozen=True)
class KeyFigures:
    """The few figures `/stats` shows (exact counts: admins only)."""

    start: datetime
    end: datetime
    physicians: int
    sessions: int
    questions: int
    answered: int
    flows_started: int
    flows_completed: int
    searches: int
    searches_empty: int
    documents: int
    escalations: int
    take_median: float | None


async def key_figures(session: AsyncSession, clock: Clock, days: int = 30) -> KeyFigures:
    """The key figures of the last `days` days, from raw events."""
    end = clock.now()
    start = end - timedelta(days=days)
    months, physicians = summarise(await raw_rows(session, start, end))
    total = Summary()
    for summary in months.values():
        total.add(summary)
    return KeyFigures(
        start=start, end=end, physicians=physicians[ALL], sessions=total.sessions[ALL],
        questions=total.count("question"),
        answered=total.count("question", category="answered")
        + total.count("question", category="clarified"),  # with alternatives: answered too
        flows_started=total.count("flow_start"), flows_completed=total.count("flow_outcome"),
        searches=total.count("annuaire_search"), searches_empty=total.zero("annuaire_search"),
        documents=total.count("flow_document"), escalations=total.count("escalation_created"),
        take_median=total.duration("escalation_taken").quantile(0.5))


def format_minutes(minutes: float, locale: str) -> str:
    """A duration for people: minutes under two hours, hours under two days, else days."""
    if minutes < 120:
        return _("{n} min").format(n=format_decimal(round(minutes), locale=locale))
    if minutes < 2880:
        return _("{n} h").format(n=format_decimal(round(minutes / 60, 1), locale=locale))
    return _("{n} j").format(n=format_decimal(round(minutes / 1440, 1), locale=locale))


def render_key_figures(figures: KeyFigures) -> str:
    """`/stats` text (Telegram HTML) in the current language."""
    locale = "fr_FR" if current_language() == "fr" else "en_GB"

    def n(value: int) -> str:
        return format_decimal(value, locale=locale)

    def share(part: int, whole: int) -> str:
        return format_percent(part / whole, locale=locale) if whole else "—"

    lines = [
        _("<b>Les {days} derniers jours</b> (du {start} au {end})").format(
            days=(figures.end - figures.start).days,
            start=format_date(figures.start.date(), "d MMM", locale=locale),
            end=format_date(figures.end.date(), "d MMM y", locale=locale)),
        _("• {physicians} médecins, {sessions} sessions").format(
            physicians=n(figures.physicians), sessions=n(figures.sessions)),
        _("• {questions} questions, {share} avec une réponse").format(
            questions=n(figures.questions), share=share(figures.answered, figures.questions)),
        _("• {started} démarches commencées, {completed} menées à leur terme, "
          "{documents} documents").format(started=n(figures.flows_started),
                                          completed=n(figures.flows_completed),
                                          documents=n(figures.documents)),
        _("• {searches} recherches dans l'annuaire, {empty} sans résultat").format(
            searches=n(figures.searches), empty=share(figures.searches_empty, figures.searches)),
    ]
    if figures.take_median is None:
        lines.append(_("• {count} demandes de référent").format(count=n(figures.escalations)))
    else:
        lines.append(_("• {count} demandes de référent, prises en charge en {median} "
                       "(médiane)").format(count=n(figures.escalations),
                                           median=format_minutes(figures.take_median, locale)))
    return "\n".join(lines)
