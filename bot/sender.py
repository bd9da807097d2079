"""The outbox's sender: a payload → one Bot API call, PTB errors → outbox outcomes."""

from __future__ import annotations

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
