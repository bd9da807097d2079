"""`vvs-admin stats`: the annual review's report (built by `report.annual`) and retention."""

from __future__ import annotations

import argparse
import asyncio
from datetime import date
from pathlib import Path

from report.annual import (
    DEFAULT_THRESHOLD,
    Labels,
    build_report,
    empty_labels,
    labels_of,
    write_report,
)


def content_labels(content_dir: Path | None) -> Labels:
    """Load the content as `vvs-admin content check` does; an unloadable set is noted."""
    from bot.compose import default_content_sets
    from vvs.content import load_all

    if content_dir is None:
        return empty_labels()
    snapshot, _findings = load_all(content_dir, default_content_sets())
    return empty_labels() if snapshot is None else labels_of(snapshot)


# ------------------------------------------------------------------ vvs-admin


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"date attendue AAAA-MM-JJ : {value!r}") from exc


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `vvs-admin stats report` and `vvs-admin stats aggregate`."""
    group = subparsers.add_parser("stats", help="bilan annuel : rapport, rétention")
    inner = group.add_subparsers(dest="stats_command", required=True)
    report = inner.add_parser("report", help="rapport HTML et CSV d'une période")
    report.add_argument("--from", dest="start", type=_date, required=True)
    report.add_argument("--to", dest="end", type=_date, required=True)
    report.add_argument("--out", type=Path, required=True, help="dossier de sortie")
    report.add_argument("--publish", action="store_true",
                        help="version publiable : petits effectifs masqués")
    report.add_argument("--threshold", type=int, default=None,
                        help=f"seuil des petits effectifs (défaut : STATS_PUBLISH_THRESHOLD, "
                             f"{DEFAULT_THRESHOLD})")
    aggregate = inner.add_parser("aggregate",
                                 help="agréger et supprimer les événements trop anciens")
    aggregate.add_argument("--retention-months", type=int, default=None)
    group.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run one `stats` command against DATABASE_URL."""
    from vvs.settings import get_settings

    settings = get_settings()
    if args.stats_command == "report":
        if args.end < args.start:
            print("--to précède --from")
            return 2
        content_dir = Path(args.content_dir) if getattr(args, "content_dir", None) \
            else settings.content_dir
        labels = content_labels(content_dir)
        threshold = args.threshold or settings.stats_publish_threshold
        path = asyncio.run(_report(settings.resolved_database_url(), args, labels, threshold))
        print(f"rapport écrit : {path}")
        return 0
    months = args.retention_months or settings.event_retention_months
    folded = asyncio.run(_aggregate(settings.resolved_database_url(), months))
    print(f"{folded} événement(s) agrégé(s) et supprimé(s)")
    return 0


async def _report(url: str, args: argparse.Namespace, labels: Labels, threshold: int) -> Path:
    from vvs.db import make_engine, make_session_factory, transaction
    from vvs.settings import async_database_url

    engine = make_engine(async_database_url(url))
    try:
        async with transaction(make_session_factory(engine)) as session:
            report = await build_report(session, args.start, args.end, labels=labels,
                                        publish=args.publish, threshold=threshold)
        return write_report(report, args.out)
    finally:
        await engine.dispose()


async def _aggregate(url: str, months: int) -> int:
    from vvs.clock import SystemClock
    from vvs.db import make_engine, make_session_factory, transaction
    from vvs.settings import async_database_url
    from vvs.stats import aggregate_old_events

    engine = make_engine(async_database_url(url))
    try:
        async with transaction(make_session_factory(engine)) as session:
            return await aggregate_old_events(session, SystemClock(), months)
    finally:
        await engine.dispose()


__all__ = ["build_report", "content_labels", "register", "write_report"]
