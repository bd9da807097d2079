"""Turn domain `Reply`s into Bot API calls (the only place that builds keyboards)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import lru_cache, partial
from typing import Any, TypeVar

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from vvs.i18n import _, use_language
from vvs.outbox import OutboundMessage
from vvs.ui import MESSAGE_MAX_CHARS, Button, Reply

T = TypeVar("T")
# What a message carries under its text: inline buttons, or the keyboard Telegram provides
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


def inline_keyboard(buttons: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(b.label, url=b.url) if b.url
         else InlineKeyboardButton(b.label, callback_data=b.data) for b in row]
        for row in buttons
    ])


def reply_markup(reply: Reply) -> Markup | None:
    """Inline buttons, or the location/contact keyboard Telegram provides."""
    return _markup(keyboard_of(reply), reply.buttons)


def keyboard_of(reply: Reply) -> str:
    """The reply keyboard a reply asks for, as `OutboundMessage.keyboard` names it."""
    if reply.request_location:
        return "location"
    if reply.request_contact:
        return "contact"
    return "remove" if reply.remove_keyboard else ""


def outbound_markup(message: OutboundMessage) -> dict[str, Any] | None:
    """The markup of a message the outbox delivers (its keyboard labels in its language), as
    the Bot API's JSON object."""
    return _outbound_markup(message.keyboard, message.buttons, message.language)


# Built once per keyboard and language: PTB's objects, then their `to_dict`, were about 3 %
# of a question's CPU. Callers only serialise the dict, never change it.
@lru_cache(maxsize=1024)
def _outbound_markup(keyboard: str, buttons: tuple[tuple[Button, ...], ...],
                     language: str) -> dict[str, Any] | None:
    with use_language(language):
        markup = _markup(keyboard, buttons)
    return markup.to_dict() if markup is not None else None


def _markup(keyboard: str, buttons: tuple[tuple[Button, ...], ...]) -> Markup | None:
    if keyboard == "location":
        return ReplyKeyboardMarkup(
            [[KeyboardButton(_("📍 Partager ma position"), request_location=True)],
             [KeyboardButton(_("Annuler"))]],
            resize_keyboard=True, one_time_keyboard=True)
    if keyboard == "contact":
        return ReplyKeyboardMarkup(
            [[KeyboardButton(_("📞 Partager mon numéro"), request_contact=True)],
             [KeyboardButton(_("Ne pas partager"))]],
            resize_keyboard=True, one_time_keyboard=True)
    if keyboard == "remove":
        return ReplyKeyboardRemove()
    return inline_keyboard(buttons)


def split_text(text: str, limit: int = MESSAGE_MAX_CHARS) -> list[str]:
    """Split on paragraph then line boundaries so no message exceeds Telegram's limit."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # a single monstrous line: hard cut
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current or not chunks:
        chunks.append(current)
    return chunks


def retry_after_seconds(exc: RetryAfter) -> float:
    """The wait a 429 asks for, in seconds (PTB gives an int or a timedelta)."""
    wait = exc.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


MAX_INLINE_WAIT = 10.0  # longer flood waits surface as an error rather than a frozen chat


async def with_retry(call: Callable[[], Awaitable[T]]) -> T:
    """One retry for an answer the user is waiting for: after a short 429 wait or a 5xx.

    A timeout is not retried: the message may have been delivered already.
    """
    try:
        return await call()
    except RetryAfter as exc:
        seconds = retry_after_seconds(exc)
        if seconds > MAX_INLINE_WAIT:
            raise
        await asyncio.sleep(seconds)
    except (TimedOut, Forbidden, BadRequest):
        raise
    except NetworkError:
        await asyncio.sleep(1.0)
    return await call()


async def send_reply(bot: Bot, chat_id: int, reply: Reply) -> Message | None:
    """Send one reply (text, then documents and venues); return the last text message."""
    last: Message | None = None
    if reply.text:
        parts = split_text(reply.text)
        for i, part in enumerate(parts):
            markup = reply_markup(reply) if i == len(parts) - 1 else None
            last = await with_retry(partial(
                bot.send_message, chat_id, part, parse_mode=ParseMode.HTML,
                reply_markup=markup, disable_web_page_preview=True))
    for doc in reply.documents:
        await with_retry(partial(
            bot.send_document, chat_id, io.BytesIO(doc.content), filename=doc.filename,
            caption=doc.caption or None))
    for venue in reply.venues:
        await with_retry(partial(
            bot.send_venue, chat_id, venue.lat, venue.lon, venue.title[:100],
            venue.address[:100] or "-"))
    return last


async def edit_keyboard(bot: Bot, chat_id: int, message_id: int) -> None:
    """Remove the keyboard of a message whose step is over (ignore 'not modified')."""
    try:
        await bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)
    except Exception:
        return
