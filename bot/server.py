"""The bot's own aiohttp server, in every mode: the webhook route (webhook mode only),
/healthz, and the operators' console under /console (unless its URL forbids it)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from bot.console.web import ConsoleConfig, make_console
from bot.services import Services
from bot.web import make_web_app
from vvs.settings import BotMode

log = logging.getLogger(__name__)
LOOPBACK = "127.0.0.1"


def listen_host(services: Services) -> str:
    """HTTP_HOST; in polling and the demo, loopback unless HTTP_HOST is set: nothing but the
    console is served there, and its default URL is on loopback."""
    settings = services.settings
    if settings.bot_mode is BotMode.webhook and not settings.demo:
        return settings.http_host
    return settings.http_host if "http_host" in settings.model_fields_set else LOOPBACK


def build_web_app(services: Services, webhook_secret: str | None) -> web.Application:
    """The routes of this process; the console only when CONSOLE_URL allows it."""
    config = ConsoleConfig.from_settings(services.settings, services.pseudonym_key)
    if config is None:
        log.error("%s", services.settings.console_problem())
    console = make_console(services, config) if config is not None else None
    return make_web_app(services.application, webhook_secret, console)


@contextlib.asynccontextmanager
async def http_server(services: Services, webhook_secret: str | None = None, *,
                      host: str | None = None, port: int | None = None
                      ) -> AsyncIterator[web.AppRunner]:
    """Serve `build_web_app` on HTTP_HOST:HTTP_PORT until the block ends."""
    runner = web.AppRunner(build_web_app(services, webhook_secret))
    await runner.setup()
    try:
        host = host or listen_host(services)
        port = port or services.settings.http_port
        try:
            await web.TCPSite(runner, host, port).start()
            log.info("HTTP server on %s:%s", host, port)
        except OSError as exc:
            if webhook_secret is not None:  # webhook mode: Telegram must reach us
                raise
            # Polling and the demo serve only the console there: the bot still works.
            log.warning("HTTP server not started on %s:%s (%s): no console in this "
                        "process", host, port, exc.strerror or exc)
        yield runner
    finally:
        await runner.cleanup()
