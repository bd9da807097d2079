"""The webhook door: anything that is not an update object gets 400 and one log line, never a
traceback; ids beyond 64 bits are refused before they reach the database."""

from __future__ import annotations

import json
import logging

import aiohttp
import pytest
from telegram.ext import Application

from bot.fakeapi import FakeBotAPI
from bot.web import SECRET_HEADER, bad_update
from tests.botharness import TOKEN, webhook_server

SECRET = "s3cret-" + "y" * 24
HUGE = 1 << 64


def _message(update_id: int = 7, chat: int = 42, user: int = 42) -> dict:
    return {"update_id": update_id, "message": {
        "message_id": 1, "date": 0, "chat": {"id": chat, "type": "private"},
        "from": {"id": user, "is_bot": False, "first_name": "A"}, "text": "bonjour"}}


BAD_BODIES = [
    b"[]", b'"abc"', b"123", b"null", b"not json", b"{}", b'{"update_id": "1"}',
    b'{"update_id": true}', json.dumps({"update_id": 1, "message": "x"}).encode(),
    json.dumps({"update_id": 1, "callback_query": [1, 2]}).encode(),
    json.dumps(_message(update_id=HUGE)).encode(),
    json.dumps(_message(chat=HUGE)).encode(),
    json.dumps(_message(user=-HUGE)).encode(),
]


@pytest.mark.parametrize("body", BAD_BODIES, ids=range(len(BAD_BODIES)))
async def test_bad_bodies_get_400_one_log_line_and_nothing_queued(body: bytes, caplog) -> None:
    async with FakeBotAPI(token=TOKEN) as api:
        application = Application.builder().token(TOKEN).base_url(api.base_url) \
            .updater(None).build()
        async with webhook_server(application, SECRET) as url:
            caplog.clear()
            with caplog.at_level(logging.DEBUG):
                async with aiohttp.ClientSession() as http, http.post(
                        url, data=body, headers={SECRET_HEADER: SECRET,
                                                 "Content-Type": "application/json"}) as resp:
                    assert resp.status == 400
            mine = [r for r in caplog.records if r.name == "bot.web"]
            assert len(mine) == 1 and mine[0].exc_info is None
            assert not any(r.levelno >= logging.ERROR for r in caplog.records)
            assert application.update_queue.qsize() == 0
            async with aiohttp.ClientSession() as http, http.post(
                    url, json=_message(), headers={SECRET_HEADER: SECRET}) as resp:
                assert resp.status == 200
            assert application.update_queue.qsize() == 1


def test_bad_update_accepts_the_largest_telegram_ids() -> None:
    assert bad_update(_message(update_id=(1 << 63) - 1, chat=-(1 << 62))) is None
    assert bad_update(_message(update_id=1 << 63)) == "update_id outside 64 bits"
