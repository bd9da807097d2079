"""Composition root: settings → database → services → Application → transport."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.app import build_application, build_services
from bot.content_service import publish
from bot.lifecycle import started
from bot.services import Services
from bot.web import WEBHOOK_PATH, make_web_app
from vvs.errors import ConfigError, ContentInvalid
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


async def run_polling(application: Application, stop: asyncio.Event) -> None:
    """Long polling until `stop` is set."""
    async with started(application, polling=True):
        await stop.wait()


async def run_webhook(application: Application, settings: Settings,
                      stop: asyncio.Event) -> None:
    """Our aiohttp server receives updates; PTB processes them from its queue."""
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    runner = web.AppRunner(make_web_app(application, secret))
    async with started(application, polling=False):
        await application.bot.set_webhook(
            url=f"{settings.webhook_url.rstrip('/')}{WEBHOOK_PATH}"
            if settings.webhook_url and not settings.webhook_url.endswith(WEBHOOK_PATH)
            else settings.webhook_url, secret_token=secret,
            allowed_updates=Update.ALL_TYPES)
        await runner.setup()
        await web.TCPSite(runner, settings.http_host, settings.http_port).start()
        log.info("webhook server on %s:%s", settings.http_host, settings.http_port)
        await stop.wait()
        await runner.cleanup()


async def serve(settings: Settings) -> None:
    """Run the real bot with the configured transport (or the demo without a token)."""
    services = await build_services(settings)
    stop = asyncio.Event()
    install_signals(stop, services)
    try:
        if settings.demo:
            from bot.demo import DEMO_TOKEN, run_demo

            await run_demo(lambda base_url: build_application(
                services, token=DEMO_TOKEN, base_url=base_url))
            return
        token = settings.telegram_bot_token.get_secret_value()
        application = build_application(services, token=token,
                                        base_url=settings.telegram_api_base_url,
                                        updater=settings.bot_mode is BotMode.polling)
        if settings.bot_mode is BotMode.webhook:
            await run_webhook(application, settings, stop)
        else:
            await run_polling(application, stop)
    finally:
        await services.engine.dispose()


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
    logging.basicConfig(level=level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
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
