"""The PTB Application (update processor, error handler, hooks) and the background worker.

`bot.compose.compose` builds it, with the bot it was given, after the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

from telegram import BotCommand, Update
from telegram.ext import (
    Application,
    BaseUpdateProcessor,
    ContextTypes,
    ExtBot,
    TypeHandler,
)

from bot.content_service import follow_published, record_startup_version
from bot.handlers.runner import on_update
from bot.heap import freeze_heap, thaw_heap
from bot.intake import InboxQueue
from bot.services import App, Services
from vvs.db import scrub_wal
from vvs.dedupe import purge_processed
from vvs.i18n import _, use_language
from vvs.state import purge_expired

log = logging.getLogger(__name__)
WAL_SCRUB_LOOPS = 10  # about every 10 s: no processed update lingers in SQLite's WAL


class PerUserProcessor(BaseUpdateProcessor):
    """Updates of one user in order, different users concurrently.

    The user's lock is taken before a concurrency slot, so a user who floods the bot waits
    on their own lock and never holds the slots other users need.
    """

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    # PTB marks it final; taking the user's lock before a slot is the point of this class
    async def process_update(  # type: ignore[misc]
            self, update: object, coroutine: Awaitable[Any]) -> None:
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
        with use_language(user.language_code or "fr" if user else "fr"), \
                contextlib.suppress(Exception):
            await context.bot.send_message(update.effective_chat.id, _(
                "Désolé, une erreur s'est produite de mon côté. Réessayez dans un instant ; "
                "en cas de danger, appelez le 17 ou le 112."))


def build_application(bot: ExtBot[Any], queue: InboxQueue, *, updater: bool = True) -> App:
    """The PTB Application around `bot`, fed by `queue` (which stores each update in the
    inbox first); every update goes to the one runner callback."""
    builder = (Application.builder().bot(bot).update_queue(queue)
               .concurrent_updates(PerUserProcessor())
               .post_init(_post_init).post_shutdown(_post_shutdown))
    if not updater:
        builder = builder.updater(None)
    application = builder.build()
    application.add_handler(TypeHandler(Update, on_update))
    application.add_error_handler(error_handler)
    return application


async def _post_init(application: App) -> None:
    services: Services = application.bot_data["services"]
    commands = [BotCommand(name, desc) for name, desc in services.router.descriptions]
    with contextlib.suppress(Exception):  # cosmetic; must not block start-up
        await application.bot.set_my_commands(commands)
    await record_startup_version(services)
    application.bot_data["worker"] = asyncio.create_task(background_worker(services))
    freeze_heap()  # the content, flows and directory: out of every later collection


async def _post_shutdown(application: App) -> None:
    task = application.bot_data.pop("worker", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    services: Services = application.bot_data["services"]
    await services.outbox.settle()  # record the replies sent by the fast path
    await services.outbox.close()
    await scrub_wal(services.engine)
    thaw_heap()


async def background_worker(services: Services, tick: float = 1.0) -> None:
    """Deliver the outbox, run due jobs, follow content published by other replicas."""
    loops = 0
    while True:
        try:
            await services.outbox.deliver_due()
            await services.intake.requeue(services.application.bot)
            await services.jobs.run_due()
            loops += 1
            if loops % max(1, int(services.settings.content_poll_seconds / tick)) == 0:
                await follow_published(services)
            if loops % WAL_SCRUB_LOOPS == 0:
                await scrub_wal(services.engine)
            if loops % 3600 == 0:
                retention = timedelta(hours=services.settings.processed_update_retention_hours)
                await purge_processed(services.sessions, services.clock, retention)
                await services.inbox.purge_parked(retention)
                await purge_expired(services.sessions, services.clock, services.state_expiry)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background worker iteration failed")
        services.wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(services.wake.wait(), tick)
