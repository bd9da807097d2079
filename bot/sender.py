"""The outbox's sender: a payload → one Bot API call, PTB errors → outbox outcomes."""

from __future__ import annotations

from dataclasses import replace

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.handlers.render import outbound_markup, retry_after_seconds
from vvs.i18n import _, use_language
from vvs.outbox import MaybeSent, OutboundMessage, Permanent, RetryLater, Sender


def make_sender(bot: Bot) -> Sender:
    """Build the sender the outbox calls; it never retries by itself."""

    async def send(chat_id: int, message: OutboundMessage, possible_duplicate: bool) -> int:
        text = message.text
        if any(b.url and BOT_PLACEHOLDER in b.url for row in message.buttons for b in row):
            message = _with_bot_links(message, bot.username)
        if possible_duplicate:
            with use_language(message.language):
                text = _("(Possible doublon d'un message précédent)") + "\n" + text
        try:
            sent = await bot.send_message(
                chat_id, text, parse_mode=ParseMode.HTML,
                reply_markup=outbound_markup(message),
                disable_web_page_preview=True,
                )
        except RetryAfter as exc:
            raise RetryLater(str(exc), retry_after_seconds(exc)) from exc
        except TimedOut as exc:
            raise MaybeSent(str(exc)) from exc
        except (Forbidden, BadRequest) as exc:
            raise Permanent(str(exc)) from exc
        except NetworkError as exc:  # 5xx and connection errors: not delivered
            raise RetryLater(str(exc)) from exc
        return sent.message_id

    return send


BOT_PLACEHOLDER = "{bot}"  # in a button's URL: this bot's username (a deep link)


def _with_bot_links(message: OutboundMessage, username: str) -> OutboundMessage:
    rows = tuple(tuple(replace(b, url=b.url.replace(BOT_PLACEHOLDER, username)) if b.url else b
                       for b in row) for row in message.buttons)
    return replace(message, buttons=rows)
