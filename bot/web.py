"""Webhook transport: our own aiohttp app (PTB's custom-webhook pattern) and /healthz."""

from __future__ import annotations

import hmac
import json
import logging

from aiohttp import web
from sqlalchemy import text
from telegram import Update
from telegram.ext import Application

log = logging.getLogger(__name__)

APPLICATION: web.AppKey[Application] = web.AppKey("application", Application)
SECRET: web.AppKey[str] = web.AppKey("secret", str)
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1 << 20


async def telegram_webhook(request: web.Request) -> web.Response:
    """Check the secret, then hand the update to PTB's queue; answer at once."""
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), request.app[SECRET].encode()):
        return web.Response(status=403, text="forbidden")
    try:
        data = json.loads(await request.read())
        application = request.app[APPLICATION]
        update = Update.de_json(data, application.bot)
    except (ValueError, TypeError, KeyError):
        return web.Response(status=400, text="bad update")
    if update is None:
        return web.Response(status=400, text="bad update")
    await application.update_queue.put(update)
    return web.Response(text="ok")


async def healthz(request: web.Request) -> web.Response:
    """Liveness and database reachability, for the load balancer."""
    services = request.app[APPLICATION].bot_data["services"]
    try:
        async with services.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        log.exception("health check failed")
        return web.json_response({"ok": False}, status=503)
    return web.json_response({"ok": True, "content_version": services.content.version})


def make_web_app(application: Application, secret: str) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[APPLICATION] = application
    app[SECRET] = secret
    app.router.add_post(WEBHOOK_PATH, telegram_webhook)
    app.router.add_get("/healthz", healthz)
    return app
