"""A whole session at DEBUG: the logs hold no token, no secret, no Telegram id, no name and no
message text, although python-telegram-bot and httpx log every update and request there."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from annuaire.loader import AnnuaireSet
from tests.botharness import TOKEN, Chat, make_settings, running_bot
from vvs.logsafe import Redactor, configure_logging

USER = 7345098123  # a realistic Telegram id (10 digits)
WEBHOOK_SECRET = "wh-secret-" + "q" * 20
PATIENT_TEXT = "Zqxjkv phrase du medecin"


@pytest.fixture
def debug_log():
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, logging.getLogger("httpx").level)
    stream = io.StringIO()
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])
    logging.getLogger("httpx").setLevel(saved[2])


@pytest.mark.asyncio
async def test_a_debug_session_logs_nothing_personal_or_secret(db, tmp_path: Path,
                                                              debug_log) -> None:
    settings = make_settings(db.url, tmp_path, webhook_secret=WEBHOOK_SECRET)
    configure_logging("DEBUG", settings.log_secrets(), debug_log)
    async with running_bot(settings, content_sets=[AnnuaireSet()]) as (api, _services):
        chat = Chat(api, USER, first_name="Zorglub")
        await chat.command("/start")
        await chat.say(PATIENT_TEXT)
        await chat.command("/annuaire")
        await chat.say("crip 93")
        await chat.exchange(lambda: api.send_location(USER, 48.9362, 2.3574))
    logs = debug_log.getvalue()
    assert "sendMessage" in logs and "DEBUG" in logs  # the session was logged, at DEBUG
    for leak in (TOKEN, TOKEN.split(":")[1], WEBHOOK_SECRET, "k" * 32, str(USER), "Zorglub",
                 "Zqxjkv", "48.9362"):
        assert leak not in logs, leak


def test_redactor_rewrites_reprs_json_and_tracebacks() -> None:
    redactor = Redactor(["topsecretvalue"])
    record = logging.LogRecord("x", logging.DEBUG, __file__, 1,
                               "call %s with %s", ("sendMessage", {
                                   "chat_id": 501, "text": "l'enfant de Mme X",
                                   "from": {"first_name": "Ann", "id": 99}}), None)
    redactor.filter(record)
    text = record.getMessage()
    assert "Mme X" not in text and "Ann" not in text and "501" not in text and "99" not in text
    assert "sendMessage" in text
    assert redactor.redact('{"text": "a \\"quoted\\" word", "ok": 1}') == \
        "{\"text\": '[redacted]', \"ok\": 1}"
    assert redactor.redact("POST /bot123456:ABCdefGHIjklMNOpqrSTUvwxYZ012345/getMe") == \
        "POST /bot[redacted]/getMe"
    assert redactor.redact("key topsecretvalue used") == "key [redacted] used"
    try:
        raise ValueError("text='Jean Dupont' chat_id=1234")
    except ValueError:
        import sys
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", None,
                                   sys.exc_info())
    redactor.filter(record)
    assert "Jean Dupont" not in record.exc_text and "1234" not in record.exc_text
