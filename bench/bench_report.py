"""Time the annual report over a year of synthetic events for 5,000 physicians (SQLite).

    python bench/bench_report.py [--physicians 5000] [--db /tmp/bench-report.db]

Prints: events written, the report built from raw events (internal, then published, with
charts), the retention job folding the whole year, and the report read from the aggregates.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select

from admin.stats import content_labels
from report.annual import build_report, write_report
from vvs.clock import FakeClock
from vvs.db import make_engine, make_session_factory, transaction
from vvs.migrate import upgrade
from vvs.models import Event
from vvs.stats import aggregate_old_events

DEPTS = ("75", "77", "78", "91", "92", "93", "94", "95", None)
FLOWS = {"mineur": ("signalement-urgent", "signalement", "information-preoccupante"),
         "majeur": ("signalement-urgent", "signalement-accord", "refus"),
         "ip": ("transmission",), "victime": ("plainte", "ordre")}
ENTRIES = ("itt", "crip", "secret-professionnel", "umj", "signalement-mineur", "dossier-medical")
KINDS = ("crip", "umj", "parquet", "cdom", "association", "")
YEAR = datetime(2025, 1, 1, tzinfo=UTC)


def session_events(rng: random.Random, user: str, dept: str | None, at: datetime) -> list[dict]:
    """One session: a start, then a procedure, questions, searches, sometimes a request."""
    rows: list[dict] = []

    def add(kind: str, **fields: object) -> None:
        nonlocal at
        at += timedelta(seconds=rng.randint(20, 300))
        rows.append({"at": at, "kind": kind, "user_key": user,
                     "department": fields.pop("department", dept), **fields})

    add("start")
    for _ in range(rng.randint(0, 3)):
        answered = rng.random() < 0.8
        add("question", category="answered" if answered else "abstained",
            detail=rng.choice(ENTRIES))
    if rng.random() < 0.5:
        flow = rng.choice(list(FLOWS))
        add("flow_start", category=flow)
        if rng.random() < 0.7:
            add("flow_outcome", category=flow, detail=rng.choice(FLOWS[flow]))
            if rng.random() < 0.4:
                add("flow_document", category=flow, detail="signalement")
        else:
            add("flow_quit", category=flow, detail="faits")
    for _ in range(rng.randint(0, 2)):
        add("annuaire_search", category=rng.choice(KINDS) or None,
            detail=rng.choice(("text", "place", "location")), value=rng.choice((0, 1, 3, 5)))
    if rng.random() < 0.03 and dept:
        category = rng.choice(("mineur", "victime", "question"))
        add("escalation_created", category=category)
        taken = rng.expovariate(1 / 300)
        rows.append({"at": at + timedelta(minutes=taken), "kind": "escalation_taken",
                     "department": dept, "category": category, "value": taken})
        closed = taken + rng.expovariate(1 / 3000)
        rows.append({"at": at + timedelta(minutes=closed), "kind": "escalation_closed",
                     "department": dept, "category": category, "detail": "conseil",
                     "value": closed})
    return rows


def synthetic_year(physicians: int, seed: int = 14) -> list[dict]:
    rng = random.Random(seed)
    rows: list[dict] = []
    for n in range(physicians):
        user, dept = f"{n:064x}", rng.choice(DEPTS)
        for _ in range(max(1, int(rng.expovariate(1 / 6)))):
            start = YEAR + timedelta(seconds=rng.randint(0, 364 * 86400))
            rows.extend(session_events(rng, user, dept, start))
    return [r for r in rows if r["at"] < YEAR.replace(year=2026)]


async def main(physicians: int, db_path: Path) -> None:
    db_path.unlink(missing_ok=True)
    engine = make_engine(f"sqlite+vvsinline:///{db_path}")
    sessions = make_session_factory(engine)
    try:
        await upgrade(engine)
        t0 = time.perf_counter()
        rows = synthetic_year(physicians)
        async with transaction(sessions) as s:
            for i in range(0, len(rows), 20_000):
                await s.exec(insert(Event), params=rows[i:i + 20_000])
        print(f"{len(rows):,} events for {physicians:,} physicians written in "
              f"{time.perf_counter() - t0:.1f} s")
        labels = content_labels(Path(__file__).resolve().parent.parent)
        out = Path(tempfile.mkdtemp(prefix="vvs-report-"))
        for name, publish in (("internal (raw events)", False),
                              ("published (raw events)", True)):
            t0 = time.perf_counter()
            async with transaction(sessions) as s:
                report = await build_report(s, date(2025, 1, 1), date(2025, 12, 31),
                                            labels=labels, publish=publish)
            write_report(report, out / name.split()[0])
            print(f"report, {name}: {time.perf_counter() - t0:.2f} s")
        t0 = time.perf_counter()
        async with transaction(sessions) as s:
            folded = await aggregate_old_events(
                s, FakeClock(datetime(2027, 3, 1, tzinfo=UTC)), 13)
        print(f"retention: {folded:,} events folded into monthly aggregates in "
              f"{time.perf_counter() - t0:.2f} s")
        async with transaction(sessions) as s:
            left = (await s.exec(select(func.count(Event.id)))).one()
        t0 = time.perf_counter()
        async with transaction(sessions) as s:
            report = await build_report(s, date(2025, 1, 1), date(2025, 12, 31),
                                        labels=labels, publish=False)
        write_report(report, out / "aggregated")
        print(f"report from the aggregates: {time.perf_counter() - t0:.2f} s "
              f"({left[0]} raw events left); files in {out}")
    finally:
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--physicians", type=int, default=5000)
    parser.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) / "bench-report.db")
    args = parser.parse_args()
    asyncio.run(main(args.physicians, args.db))
