"""Composition: services, the PTB Application, the background worker."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import os
import socket
from collections.abc import Awaitable, Sequence
from datetime import timedelta
from typing import Any

from telegram import BotCommand, Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    BaseUpdateProcessor,
    ContextTypes,
    TypeHandler,
)

from bot.content_service import follow_published, record_startup_version
from bot.handlers import build_router
from bot.handlers.escalation import install_escalations
from bot.handlers.runner import on_update
from bot.sender import make_sender
from bot.services import Services
from vvs.clock import Clock, SystemClock
from vvs.content import ContentRegistry, ContentSet
from vvs.db import make_engine, make_session_factory
from vvs.dedupe import purge_processed
from vvs.flood import FloodGuard
from vvs.i18n import _, use_language
from vvs.jobs import JobQueue
from vvs.migrate import upgrade
from vvs.outbox import Outbox
from vvs.settings import Settings
from vvs.state import StateStore, purge_expired

log = logging.getLogger(__name__)


def default_content_sets() -> list[ContentSet]:
    """Every admin-edited file set, in load order (later sets may check earlier ones)."""
    from annuaire.loader import AnnuaireSet
    from bot.flows.loader import FlowSet
    from knowledge.loader import KnowledgeSet

    return [KnowledgeSet(), AnnuaireSet(), FlowSet()]


async def build_services(settings: Settings, *, clock: Clock | None = None,
                         content_sets: Sequence[ContentSet] | None = None,
                         migrate: bool = True) -> Services:
    """Database (migrated), content (validated: raises ContentInvalid) and queues."""
    clock = clock or SystemClock()
    registry = ContentRegistry(settings.content_dir, content_sets
                               if content_sets is not None else default_content_sets())
    registry.load_initial()
    engine = make_engine(settings.resolved_database_url())
    if migrate:
        await upgrade(engine)
    sessions = make_session_factory(engine)
    worker_id = f"{socket.gethostname()}-{os.getpid()}"
    services = Services(
        settings=settings, clock=clock, engine=engine, sessions=sessions, registry=registry,
        state=StateStore(clock, timedelta(hours=settings.state_expiry_hours)),
        outbox=Outbox(sessions, clock, _unbound_sender),
        jobs=JobQueue(sessions, clock, worker_id),
        flood=FloodGuard(settings.flood_rate_per_second, settings.flood_burst),
        pseudonym_key=settings.resolved_pseudonym_key(),
    )
    services.outbox.dead_alert = _admin_alert(services)
    await record_startup_version(services)
    await install_escalations(services)
    return services


def _admin_alert(services: Services):
    """On a dead letter, tell the admins (never about their own alerts: no loop)."""

    async def alert(session, msg, error: str) -> None:
        if msg.purpose == "admin_alert":
            return
        with use_language("fr"):
            text = _("⚠️ Message non délivrable ({purpose}) après {n} essai(s) : {error}"
                     ).format(purpose=msg.purpose or "-", n=msg.attempts + 1,
                              error=html.escape(error[:200]))
        for admin_id in services.settings.admin_ids:
            await services.outbox.enqueue(session, admin_id, {"text": text},
                                          purpose="admin_alert")

    return alert


async def _unbound_sender(chat_id: int, payload: dict, dup: bool) -> int:
    raise RuntimeError("outbox sender not bound to a bot yet")


class PerUserProcessor(BaseUpdateProcessor):
    """Updates of one user in order, different users concurrently.

    The user's lock is taken before a concurrency slot, so a user who floods the bot waits
    on their own lock and never holds the slots other users need.
    """

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _user_id(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock, self._semaphore:
                await self.do_process_update(update, coroutine)
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key], self._locks[key]

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await coroutine

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


def _user_id(update: object) -> int:
    if isinstance(update, Update) and update.effective_user:
        return update.effective_user.id
    return 0


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the error; tell the user in plain French that it failed and nothing was lost."""
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat:
        user = update.effective_user
        with use_language(user.language_code if user else "fr"), \
                contextlib.suppress(Exception):
            await context.bot.send_message(update.effective_chat.id, _(
                "Désolé, une erreur s'est produite de mon côté. Réessayez dans un instant ; "
                "en cas de danger, appelez le 17 ou le 112."))


def build_application(services: Services, *, token: str, base_url: str,
                      base_file_url: str | None = None, updater: bool = True,
                      rate_limit: bool = True) -> Application:
    """The PTB Application, built in one place; handlers registered in one place.

    `rate_limit=False` only for benchmarks of our own processing against the stand-in:
    Telegram itself caps a bot at about 30 messages a second.
    """
    builder = (Application.builder().token(token).base_url(base_url)
               .concurrent_updates(PerUserProcessor())
               .post_init(_post_init).post_shutdown(_post_shutdown))
    if rate_limit:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=0))
    if base_file_url:
        builder = builder.base_file_url(base_file_url)
    if not updater:
        builder = builder.updater(None)
    application = builder.build()
    router = build_router()
    application.bot_data["services"] = services
    application.bot_data["router"] = router
    services.extras["router"] = router
    application.add_handler(TypeHandler(Update, on_update))
    application.add_error_handler(error_handler)
    services.outbox.sender = make_sender(application.bot)
    return application


async def _post_init(application: Application) -> None:
    router = application.bot_data["router"]
    commands = [BotCommand(name, desc) for name, desc in router.descriptions]
    with contextlib.suppress(Exception):  # cosmetic; must not block start-up
        await application.bot.set_my_commands(commands)
    services: Services = application.bot_data["services"]
    application.bot_data["worker"] = asyncio.create_task(background_worker(services))


async def _post_shutdown(application: Application) -> None:
    task = application.bot_data.pop("worker", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def background_worker(services: Services, tick: float = 1.0) -> None:
    """Deliver the outbox, run due jobs, follow content published by other replicas."""
    loops = 0
    while True:
        try:
            await services.outbox.deliver_due()
            await services.jobs.run_due()
            loops += 1
            if loops % max(1, int(services.settings.content_poll_seconds / tick)) == 0:
                await follow_published(services)
            if loops % 3600 == 0:
                await purge_processed(services.sessions, services.clock, timedelta(
                    hours=services.settings.processed_update_retention_hours))
                await purge_expired(services.sessions, services.clock, services.state_expiry)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background worker iteration failed")
        services.wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(services.wake.wait(), tick)
