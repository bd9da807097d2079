"""Webhook transport: our own aiohttp app (PTB's custom-webhook pattern) and /healthz."""

from __future__ import annotations

import hmac
import json
import logging

from aiohttp import web
from sqlalchemy import text
from telegram import Update
from telegram.ext import Application

from bot.intake import InboxQueue

log = logging.getLogger(__name__)

APPLICATION: web.AppKey[Application] = web.AppKey("application", Application)
SECRET: web.AppKey[str] = web.AppKey("secret", str)
WEBHOOK_PATH = "/telegram/webhook"
CONSOLE_PATH = "/console"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1 << 20


INT64 = range(-(1 << 63), 1 << 63)
# Nested objects an update may carry, whose `id` must fit the database's 64-bit integers.
_ID_KEYS = frozenset({"update_id", "id", "message_id", "chat_id", "user_id"})


def bad_update(data: object) -> str | None:
    """Why a decoded webhook body is not an update we accept, or None. Telegram's ids fit in
    64 bits; anything larger would overflow the database, so it is refused at the door."""
    if not isinstance(data, dict):
        return f"body is a JSON {type(data).__name__}, not an object"
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        return "update_id missing or not an integer"
    todo: list[object] = [data]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key in _ID_KEYS and isinstance(value, int) and value not in INT64:
                    return f"{key} outside 64 bits"
                todo.append(value)
        elif isinstance(item, list):
            todo.extend(item)
    return None


def _refuse(reason: str) -> web.Response:
    log.warning("webhook body refused: %s", reason)  # one line, never the body itself
    return web.Response(status=400, text="bad update")


async def telegram_webhook(request: web.Request) -> web.Response:
    """Check the secret, then hand the update to PTB's queue; answer at once."""
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), request.app[SECRET].encode()):
        return web.Response(status=403, text="forbidden")
    try:
        data = json.loads(await request.read())
    except ValueError:
        return _refuse("not JSON")
    reason = bad_update(data)
    if reason:
        return _refuse(reason)
    application = request.app[APPLICATION]
    try:
        update = Update.de_json(data, application.bot)
    except Exception as exc:  # PTB raises whatever a malformed field makes it raise
        return _refuse(f"not an update ({type(exc).__name__})")
    if update is None:
        return _refuse("empty update")
    queue = application.update_queue
    if isinstance(queue, InboxQueue):
        await queue.put_received(update, data)
    else:
        await queue.put(update)
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


def make_web_app(application: Application, secret: str | None,
                 console: web.Application | None = None) -> web.Application:
    """The routes: the webhook (when `secret` is given: webhook mode), /healthz, and the
    operators' console under CONSOLE_PATH when it is started."""
    app = web.Application(client_max_size=MAX_BODY)
    app[APPLICATION] = application
    if secret is not None:
        app[SECRET] = secret
        app.router.add_post(WEBHOOK_PATH, telegram_webhook)
    app.router.add_get("/healthz", healthz)
    if console is not None:
        app.add_subapp(CONSOLE_PATH, console)
    return app
