"""Logs that hold no secret and no personal data, at every level.

At DEBUG, python-telegram-bot logs whole updates and every Bot API call (names, message
texts, chat ids) and httpx logs URLs that contain the bot token. The filter sits on the
handler, so it sees the records of every library, and rewrites each record's text: known
secrets, anything shaped like a bot token, the values of personal fields (text, names, phone
numbers…) and Telegram ids are replaced before anything is written.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import TextIO

REDACTED = "[redacted]"
# A bot token: the bot's numeric id, a colon, 30-odd URL-safe characters.
_TOKEN = re.compile(r"(?<!\d)\d{5,}:[A-Za-z0-9_-]{20,}")
# Personal or free-text fields, in reprs, JSON and keyword form ('text': '…', text='…').
_FIELDS = ("text", "caption", "first_name", "last_name", "username", "phone_number", "title",
           "full_name", "name", "query", "vcard", "bio", "description", "question")
_FIELD_VALUE = re.compile(
    r"""(?P<key>(?P<kq>['"]?)\b(?:""" + "|".join(_FIELDS) + r""")(?P=kq)\s*[:=]\s*)"""
    r"""(?P<q>['"])(?:\\.|(?!(?P=q)).)*(?P=q)""", re.DOTALL)
# Ids, as fields ('id': 123, chat_id=123) or as long bare numbers (Telegram ids have 6+ digits).
_ID_FIELD = re.compile(r"""((?:['"]?)\b(?:\w*_)?id(?:['"]?)\s*[:=]\s*)-?\d+""")
# A shared position says where the physician is.
_POSITION = re.compile(r"""((?P<pq>['"]?)\b(?:latitude|longitude|lat|lon)(?P=pq)\s*[:=]\s*)"""
                       r"""-?\d+(?:\.\d+)?""")
_LONG_NUMBER = re.compile(r"(?<![\w.:/-])-?\d{6,}(?![\w.])")


class Redactor(logging.Filter):
    """Rewrite every record's message (and its traceback) without secrets or personal data."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        text = _TOKEN.sub(REDACTED, text)
        text = _FIELD_VALUE.sub(lambda m: m.group("key") + repr(REDACTED), text)
        text = _ID_FIELD.sub(lambda m: m.group(1) + "[id]", text)
        text = _POSITION.sub(lambda m: m.group(1) + REDACTED, text)
        return _LONG_NUMBER.sub("[id]", text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: keep the template only, never the arguments
            message = str(record.msg)
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def configure_logging(level: str, secrets: Iterable[str | None] = (),
                      stream: TextIO | None = None) -> logging.Handler:
    """The process's one log handler, with the redactor on it; returns the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(Redactor(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # httpx's request lines are noise except when debugging (and then redacted like the rest).
    logging.getLogger("httpx").setLevel(logging.DEBUG if root.level <= logging.DEBUG
                                        else logging.WARNING)
    return handler
