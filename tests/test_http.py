"""`bot.http.AiohttpRequest`, PTB's requests over aiohttp: what reaches the Bot API, and the
errors PTB's own client would raise (a timeout may have been delivered; a refused
connection was not)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import NetworkError, TimedOut

from bot.http import AiohttpRequest
from tests.botharness import served

TOKEN = "123:HTTP"


ME = {"id": 123, "is_bot": True, "first_name": "VVS", "username": "vvs_bot"}


@asynccontextmanager
async def server(handler) -> AsyncIterator[str]:
    """A Bot API whose getMe answers, and whose other methods `handler` answers."""

    async def route(request: web.Request) -> web.Response:
        if request.match_info["method"] == "getMe":
            return _ok(ME)
        return await handler(request)

    app = web.Application()
    app.router.add_post(f"/bot{TOKEN}/{{method}}", route)
    async with served(app) as base:
        yield base + "/bot"


def _ok(result: object) -> web.Response:
    return web.json_response({"ok": True, "result": result})


MESSAGE = {"message_id": 7, "date": 0, "chat": {"id": 5, "type": "private"}, "text": "x"}


async def test_json_body_with_objects_and_the_answer_parsed() -> None:
    seen: list[tuple[str, dict]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append((request.content_type, await request.json()))
        return _ok(MESSAGE)

    async with server(handler) as url:
        bot = Bot(TOKEN, base_url=url, request=AiohttpRequest(4))
        async with bot:
            markup = InlineKeyboardMarkup([[InlineKeyboardButton("é « x »", callback_data="k:e")]])
            sent = await bot.send_message(5, "Secret médical — art. 226-14", reply_markup=markup)
    assert sent.message_id == 7
    kind, body = seen[-1]
    assert kind == "application/json"
    assert body["text"] == "Secret médical — art. 226-14" and body["chat_id"] == 5
    assert body["reply_markup"] == {"inline_keyboard": [[{"text": "é « x »",
                                                          "callback_data": "k:e"}]]}


async def test_upload_is_multipart_with_its_file() -> None:
    got: dict[str, object] = {}

    async def handler(request: web.Request) -> web.Response:
        form = await request.post()
        upload = form["document"]
        assert isinstance(upload, web.FileField)
        got.update(name=upload.filename, content=upload.file.read(), chat=form["chat_id"],
                   type=upload.content_type)
        return _ok({**MESSAGE, "document": {"file_id": "f", "file_unique_id": "u"}})

    async with server(handler) as url:
        bot = Bot(TOKEN, base_url=url, request=AiohttpRequest(4))
        async with bot:
            await bot.send_document(5, b"%PDF-1.4 test", filename="brouillon.pdf")
    assert got == {"name": "brouillon.pdf", "content": b"%PDF-1.4 test", "chat": "5",
                   "type": "application/pdf"}


async def test_a_slow_answer_is_timed_out() -> None:
    async def handler(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return _ok(MESSAGE)

    async with server(handler) as url:
        bot = Bot(TOKEN, base_url=url, request=AiohttpRequest(4, read_timeout=0.2))
        async with bot:
            with pytest.raises(TimedOut):
                await bot.send_message(5, "x")


async def test_a_refused_connection_is_a_network_error() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    request = AiohttpRequest(4)
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as raised:
            await request.post(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe")
        assert not isinstance(raised.value, TimedOut)
    finally:
        await request.shutdown()


async def test_error_answers_map_as_ptb_maps_them() -> None:
    from telegram.error import BadRequest, Forbidden, RetryAfter

    answers = iter([
        web.json_response({"ok": False, "error_code": 429, "description": "Too Many",
                           "parameters": {"retry_after": 3}}, status=429),
        web.json_response({"ok": False, "error_code": 403, "description": "blocked"},
                          status=403),
        web.json_response({"ok": False, "error_code": 400, "description": "bad"}, status=400),
        web.Response(status=502, text="bad gateway"),
    ])

    async def handler(request: web.Request) -> web.Response:
        return next(answers)

    async with server(handler) as url:
        bot = Bot(TOKEN, base_url=url, request=AiohttpRequest(4))
        async with bot:
            for error in (RetryAfter, Forbidden, BadRequest, NetworkError):
                with pytest.raises(error):
                    await bot.send_message(5, "x")

