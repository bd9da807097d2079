"""Running an Application outside `run_polling`/`run_webhook`, with its hooks.

PTB calls `post_init`, `post_stop` and `post_shutdown` only inside its own run loops; the
production entry point, the demo and the tests all start the application by hand, so they
share this one lifecycle.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from telegram import Update
from telegram.ext import Application


@contextlib.asynccontextmanager
async def started(application: Application, *, polling: bool,
                  poll_timeout: int = 10) -> AsyncIterator[Application]:
    """Initialise, run the post-init hook, start (polling or not); stop cleanly."""
    async with application:
        if application.post_init:
            await application.post_init(application)
        updater = application.updater if polling else None
        try:
            if polling:
                assert updater is not None, "polling needs an Application updater"
                await application.bot.delete_webhook()
                await updater.start_polling(
                    poll_interval=0.0, timeout=poll_timeout, allowed_updates=Update.ALL_TYPES)
            await application.start()
            try:
                yield application
            finally:
                if updater is not None:
                    await updater.stop()
                await application.stop()
                if application.post_stop:
                    await application.post_stop(application)
        finally:
            if application.post_shutdown:
                await application.post_shutdown(application)
