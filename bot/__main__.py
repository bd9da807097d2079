"""Entry point: settings → `bot.compose.compose` (every part) → transport."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

from telegram import Update

from bot.compose import composed
from bot.content_service import publish
from bot.lifecycle import started
from bot.server import http_server
from bot.services import App, Services
from bot.web import WEBHOOK_PATH
from vvs.errors import ConfigError, ContentInvalid
from vvs.logsafe import configure_logging
from vvs.settings import BotMode, Settings, get_settings

log = logging.getLogger("bot")


def install_signals(stop: asyncio.Event, services: Services) -> None:
    """SIGTERM/SIGINT stop cleanly; SIGHUP reloads the content."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    with contextlib.suppress(NotImplementedError, RuntimeError, AttributeError):
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(
            publish(services, actor_key=None, origin="sighup")))


async def run_polling(services: Services, stop: asyncio.Event) -> None:
    """Long polling until `stop` is set; our HTTP server serves /healthz and the console."""
    async with started(services.application, polling=True), http_server(services):
        await stop.wait()


async def run_webhook(services: Services, settings: Settings, stop: asyncio.Event) -> None:
    """Our aiohttp server receives updates; PTB processes them from its queue."""
    application = services.application
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    async with started(application, polling=False):
        await application.bot.set_webhook(
            url=f"{settings.webhook_url.rstrip('/')}{WEBHOOK_PATH}"
            if settings.webhook_url and not settings.webhook_url.endswith(WEBHOOK_PATH)
            else settings.webhook_url, secret_token=secret,
            allowed_updates=Update.ALL_TYPES)
        async with http_server(services, secret):
            await stop.wait()


async def serve(settings: Settings) -> None:
    """Run the real bot with the configured transport (or the demo without a token)."""
    stop = asyncio.Event()
    if settings.demo:
        await serve_demo(settings, stop)
        return
    polling = settings.bot_mode is BotMode.polling
    async with composed(settings, updater=polling) as services:
        install_signals(stop, services)
        if polling:
            await run_polling(services, stop)
        else:
            await run_webhook(services, settings, stop)


async def serve_demo(settings: Settings, stop: asyncio.Event) -> None:
    """The same service, its bot pointed at the embedded stand-in, chatting in the terminal."""
    from bot.demo import enrol_demo_referents, run_demo

    async with contextlib.AsyncExitStack() as stack:
        async def build(base_url: str) -> App:
            services = await stack.enter_async_context(composed(settings, base_url=base_url))
            install_signals(stop, services)
            await enrol_demo_referents(services)
            await stack.enter_async_context(http_server(services))  # the console
            return services.application

        await run_demo(build, save_dir=settings.data_dir / "demo")


def main() -> None:
    """`vvs-bot` / `python -m bot`."""
    try:
        settings = get_settings()
    except ConfigError as exc:
        print(f"Configuration invalide — {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    level = settings.log_level.upper()
    if settings.demo and "log_level" not in settings.model_fields_set:
        level = "WARNING"  # the terminal is the demo's chat window: keep it readable
    configure_logging(level, settings.log_secrets())
    for warning in settings.startup_warnings():
        log.warning("%s", warning)
    try:
        asyncio.run(serve(settings))
    except ContentInvalid as exc:
        print("Contenu invalide, démarrage refusé :", file=sys.stderr)
        for error in exc.errors:
            print(f"  {error}", file=sys.stderr)
        raise SystemExit(3) from None
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
