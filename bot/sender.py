"""The outbox's sender: a payload → one Bot API call, PTB errors → outbox outcomes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import ExtBot

from bot.handlers.render import outbound_markup, retry_after_seconds
from vvs.i18n import _, use_language
from vvs.outbox import MaybeSent, OutboundMessage, Permanent, RetryLater, Sender

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class OutboxBot(ExtBot[Any]):
    """PTB's bot, plus the outbox's one call. `send_message` builds a `Message` from the
    answer (the chat, the sender, the keyboard again): about a tenth of a turn's CPU, for an
    id, the only thing the outbox keeps. Same request, defaults, rate limiter and errors."""

    async def send_text(self, chat_id: int, text: str,
                        reply_markup: dict[str, Any] | None) -> int:
        """`sendMessage` in HTML without link previews (`reply_markup` as the Bot API's JSON
        object); the new message's id."""
        result = await self._post("sendMessage", {
            "chat_id": chat_id, "text": text, "parse_mode": ParseMode.HTML,
            "reply_markup": reply_markup, "link_preview_options": NO_PREVIEW})
        return int(result["message_id"])


def make_sender(bot: OutboxBot) -> Sender:
    """Build the sender the outbox calls; it never retries by itself."""

    async def send(chat_id: int, message: OutboundMessage, possible_duplicate: bool) -> int:
        text = message.text
        if any(b.url and BOT_PLACEHOLDER in b.url for row in message.buttons for b in row):
            message = _with_bot_links(message, bot.username)
        if possible_duplicate:
            with use_language(message.language):
                text = _("(Possible doublon d'un message précédent)") + "\n" + text
        try:
            return await bot.send_text(chat_id, text, outbound_markup(message))
        except RetryAfter as exc:
            raise RetryLater(str(exc), retry_after_seconds(exc)) from exc
        except TimedOut as exc:
            raise MaybeSent(str(exc)) from exc
        except (Forbidden, BadRequest) as exc:
            raise Permanent(str(exc)) from exc
        except NetworkError as exc:  # 5xx and connection errors: not delivered
            raise RetryLater(str(exc)) from exc

    return send


BOT_PLACEHOLDER = "{bot}"  # in a button's URL: this bot's username (a deep link)


def _with_bot_links(message: OutboundMessage, username: str) -> OutboundMessage:
    rows = tuple(tuple(replace(b, url=b.url.replace(BOT_PLACEHOLDER, username)) if b.url else b
                       for b in row) for row in message.buttons)
    return replace(message, buttons=rows)
