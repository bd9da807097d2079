"""The composition root: settings → every part of the service, in dependency order.

    content → database → state, flood guard → outbox writer, job scheduler → escalations
    → Bot → sender → outbox (with the escalations' hooks) → job queue (with their handlers)
    → Application → Services; the router (what each feature handles, and the state type of
    each mode, which the state store reads with) is built first: it depends on nothing

Each part receives what it uses at construction; nothing is patched afterwards and no
registry is filled by an import. The entry point, the demo, `vvs-admin`, the tests and the
benchmarks all build the service here.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any, TypedDict, Unpack

from sqlalchemy.exc import IntegrityError
from telegram.ext import AIORateLimiter

from bot.app import build_application
from bot.demo import DEMO_TOKEN
from bot.handlers import build_router
from bot.http import AiohttpRequest
from bot.intake import InboxQueue
from bot.sender import OutboxBot, make_sender
from bot.services import Services
from escalation.service import EscalationConfig, EscalationService
from knowledge import queue as editors_queue
from vvs import events, inbox, outbox, state, stats
from vvs.clock import Clock, SystemClock
from vvs.content import ContentRegistry, ContentSet
from vvs.db import make_engine, make_session_factory, transaction
from vvs.flood import FloodGuard
from vvs.jobs import JobQueue, JobScheduler
from vvs.migrate import upgrade
from vvs.outbox import Outbox, OutboxWriter
from vvs.privacy import pseudonym
from vvs.settings import Settings

POOL_SIZE = 256  # what PTB's builder gives a bot: updates of many users are sent at once


class ComposeOptions(TypedDict, total=False):
    """`compose`'s keyword arguments, for `composed` to pass on (mypy checks they match)."""

    clock: Clock | None
    content_sets: Sequence[ContentSet] | None
    migrate: bool
    token: str | None
    base_url: str | None
    base_file_url: str | None
    updater: bool
    rate_limit: bool


def default_content_sets() -> list[ContentSet]:
    """Every admin-edited file set, in load order (later sets may check earlier ones)."""
    from annuaire.loader import AnnuaireSet
    from bot.flows.loader import FlowSet
    from knowledge.loader import KnowledgeSet

    return [KnowledgeSet(), AnnuaireSet(), FlowSet()]


def make_bot(token: str, base_url: str, *, base_file_url: str | None = None,
             rate_limit: bool = True) -> OutboxBot:
    """The Bot API client. `rate_limit=False` only for benchmarks of our own processing
    against the stand-in: Telegram itself caps a bot at about 30 messages a second."""
    extra: dict[str, Any] = {"base_file_url": base_file_url} if base_file_url else {}
    return OutboxBot(token, base_url=base_url, request=AiohttpRequest(POOL_SIZE),
                     get_updates_request=AiohttpRequest(1),
                     rate_limiter=AIORateLimiter(max_retries=0) if rate_limit else None,
                     **extra)


async def compose(settings: Settings, *, clock: Clock | None = None,
                  content_sets: Sequence[ContentSet] | None = None, migrate: bool = True,
                  token: str | None = None, base_url: str | None = None,
                  base_file_url: str | None = None, updater: bool = True,
                  rate_limit: bool = True) -> Services:
    """Build the whole service; content is validated (raises ContentInvalid).

    `token` and `base_url` default to the settings (the demo, the tests and the benchmarks
    point them at the local stand-in). Nothing is started: see `bot.lifecycle.started`.
    """
    clock = clock or SystemClock()
    router = build_router()
    registry = ContentRegistry(settings.content_dir, content_sets
                               if content_sets is not None else default_content_sets())
    registry.load_initial()
    engine = make_engine(settings.resolved_database_url())
    if migrate:
        await upgrade(engine)
    sessions = make_session_factory(engine)
    escalations = EscalationService(OutboxWriter(clock), JobScheduler(clock), clock,
                                    EscalationConfig.from_settings(settings))
    secret = settings.telegram_bot_token
    bot = make_bot(token or (secret.get_secret_value() if secret else DEMO_TOKEN),
                   base_url or settings.telegram_api_base_url, base_file_url=base_file_url,
                   rate_limit=rate_limit and settings.bot_rate_limit)
    scheduler = JobScheduler(clock)
    job_handlers = {
        **escalations.job_handlers(),
        stats.RETENTION_JOB: stats.retention_job(
            clock, settings.event_retention_months,
            scheduler.scheduler_for(stats.RETENTION_JOB)),
        editors_queue.PURGE_JOB: editors_queue.purge_job(
            clock, timedelta(days=settings.question_retention_days),
            scheduler.scheduler_for(editors_queue.PURGE_JOB))}
    delivery = Outbox(sessions, clock, make_sender(bot), hooks=escalations.outbox_hooks(),
                      alert_chat_ids=settings.admin_ids)
    received = inbox.Inbox(sessions, clock, delivery, alert_chat_ids=tuple(settings.admin_ids))
    pseudonym_key = settings.resolved_pseudonym_key()
    queue = InboxQueue(received, lambda telegram_id: pseudonym(pseudonym_key, telegram_id),
                       patient=updater)
    services = Services(
        settings=settings, clock=clock, engine=engine, sessions=sessions, registry=registry,
        state=state.StateStore(clock, timedelta(hours=settings.state_expiry_hours),
                               router.states),
        flood=FloodGuard(settings.flood_rate_per_second, settings.flood_burst),
        pseudonym_key=pseudonym_key,
        escalations=escalations,
        erasure=(escalations.erasure_step(), state.ERASURE, inbox.ERASURE,
                 editors_queue.erasure_step(pseudonym_key), outbox.ERASURE, events.ERASURE),
        bot=bot,
        outbox=delivery,
        inbox=received,
        intake=queue,
        jobs=JobQueue(sessions, clock, f"{socket.gethostname()}-{os.getpid()}", job_handlers),
        router=router,
        application=build_application(bot, queue, updater=updater),
    )
    services.application.bot_data["services"] = services  # how PTB callbacks reach it
    async with transaction(sessions) as session:
        await escalations.schedule_purge(session)
    now = clock.now()
    for kind, (run_at, key) in ((stats.RETENTION_JOB, stats.next_retention_run(now)),
                                (editors_queue.PURGE_JOB, editors_queue.next_purge_run(now))):
        with contextlib.suppress(IntegrityError):  # a replica starting at the same time won
            async with transaction(sessions) as session:  # (the key: once across replicas)
                await scheduler.schedule(session, kind, run_at, dedupe_key=key)
    return services


@contextlib.asynccontextmanager
async def composed(settings: Settings, **options: Unpack[ComposeOptions]
                   ) -> AsyncIterator[Services]:
    """`compose`, then close the database engine on the way out."""
    services = await compose(settings, **options)
    try:
        yield services
    finally:
        await services.engine.dispose()
