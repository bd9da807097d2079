"""The one PTB callback: update → Turn (one unit of work) → domain handlers → replies."""

from __future__ import annotations

import logging
from dataclasses import replace

from telegram import Bot, Update
from telegram.error import Forbidden, TelegramError, TimedOut
from telegram.ext import ContextTypes

from bot.handlers import common
from bot.handlers.render import edit_keyboard, send_reply, split_text
from bot.handlers.router import Router
from bot.handlers.turn import Turn
from bot.services import Services
from vvs.db import transaction
from vvs.dedupe import claim_update
from vvs.emergency import detect_emergency, emergency_reply
from vvs.errors import StaleAction
from vvs.events import EmergencyDetected, Started
from vvs.i18n import _, current_language, normalize, set_language, use_language
from vvs.outbox import OutboundMessage
from vvs.state import Conversation
from vvs.ui import Button, Reply

log = logging.getLogger(__name__)

Rows = tuple[tuple[Button, ...], ...]
MAX_TEXT = 2000  # longer free text is refused politely: nobody types a question that long


def services_of(context: ContextTypes.DEFAULT_TYPE) -> Services:
    services: Services = context.application.bot_data["services"]
    return services


async def on_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Entry point for every update from a user."""
    services = services_of(context)
    if update.message is None and update.callback_query is None:
        # edits (an old message edited would be taken for a new one: relayed, answered),
        # membership changes (bot added to a group, blocked), join requests, channel posts…
        return
    user = update.effective_user
    chat = update.effective_chat
    if update.callback_query and chat is None:  # a press on an inline message: stop the spinner
        await update.callback_query.answer()
        return
    if user is None or chat is None or user.is_bot:
        return
    if not await claim_update(services.sessions, services.clock, update.update_id):
        log.info("update %s already processed", update.update_id)
        return
    allowed, warn = services.flood.allow(services.user_key(user.id))
    if not allowed:
        if warn:
            with use_language(normalize(user.language_code)):
                text = _("Vous envoyez beaucoup de messages à la fois : je mets de côté les "
                         "suivants quelques secondes. Renvoyez votre message dans un instant.")
            await context.bot.send_message(chat.id, text)
        if update.callback_query:
            await update.callback_query.answer()
        return
    if update.callback_query:
        await update.callback_query.answer()
    turn = await _run_turn(update, services, services.router)
    if turn.edit_pressed and turn.message_id:
        await edit_keyboard(context.bot, chat.id, turn.message_id)
    await _deliver(context.bot, services, turn)
    services.wake.set()  # the turn may have queued outbox messages: deliver them now


async def _deliver(bot: Bot, services: Services, turn: Turn) -> None:
    """Send the turn's replies. The turn is already committed, so a reply the Bot API
    refuses (5xx after one retry, long 429, timeout) is not an error to "try again": its
    text goes to the outbox (retried, labelled as a possible duplicate after a timeout);
    a document, never stored, is announced so the user presses its button again."""
    queued: list[tuple[str, Rows, bool]] = []
    for reply in turn.replies:
        for part in (replace(reply, documents=(), venues=()),
                     replace(reply, text="", buttons=())):
            if not (part.text or part.documents or part.venues):
                continue
            try:
                await send_reply(bot, turn.chat_id, part)
            except Forbidden:
                log.info("chat %s blocked the bot: replies dropped", turn.chat_id)
                return
            except TelegramError as exc:
                log.warning("reply not sent (%s): queued", exc)
                maybe_sent = isinstance(exc, TimedOut)
                if part.text:
                    queued.append((part.text, part.buttons, maybe_sent))
                elif part.documents:
                    queued.append((_("Le document n'a pas pu être envoyé : appuyez de "
                                     "nouveau sur son bouton."), (), False))
    if queued:
        await _queue_replies(services, turn, queued)


async def _queue_replies(services: Services, turn: Turn,
                         queued: list[tuple[str, Rows, bool]]) -> None:
    async with transaction(services.sessions) as session:
        for text, rows, maybe_sent in queued:
            parts = split_text(text)
            for i, part in enumerate(parts):
                message = OutboundMessage(part, rows if i == len(parts) - 1 else (),
                                          current_language())
                msg = await services.outbox.enqueue(session, turn.chat_id, message,
                                                    user_key=turn.user_key, purpose="reply")
                msg.possible_duplicate = maybe_sent


async def _run_turn(update: Update, services: Services, router: Router) -> Turn:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    async with transaction(services.sessions) as session:
        conv = await services.state.load(session, services.user_key(user.id))
        set_language(conv.language or normalize(user.language_code))
        private = chat.type == "private"
        if not private:  # a group never reads nor changes the member's private conversation
            conv = Conversation(conv.user_key, language=conv.language,
                                department=conv.department)
        turn = Turn(services, router, session, conv, user.id, chat.id, chat.type,
                    user.first_name, user.username)
        _fill(turn, update)
        if conv.expired_mode:
            turn.reply(Reply(_(
                "Votre démarche précédente est restée sans réponse plus d'un jour : je l'ai "
                "refermée. Vous pouvez la reprendre depuis le menu."
            ), ((Button(_("Menu principal"), "m:menu"),),)))
        await _dispatch(turn, update, router)
        await turn.record_events()
        if private:  # (a conversation erased during the turn is not saved: see forget)
            await services.state.save(session, conv)
    return turn


def _fill(turn: Turn, update: Update) -> None:
    msg = update.effective_message
    if update.callback_query:
        turn.callback = update.callback_query.data or ""
        if update.callback_query.message:
            turn.message_id = update.callback_query.message.message_id
        return
    if msg is None:
        return
    turn.text = (msg.text or "").strip()
    if msg.reply_to_message:
        turn.reply_to_message_id = msg.reply_to_message.message_id
    if msg.location:
        turn.location = (msg.location.latitude, msg.location.longitude)
    if msg.contact:
        own = msg.from_user is not None and msg.contact.user_id == msg.from_user.id
        turn.contact_phone = msg.contact.phone_number if own else None


async def _dispatch(turn: Turn, update: Update, router: Router) -> None:
    try:
        if turn.callback is not None:
            await _on_button(turn, router)
        elif not turn.is_private and not turn.text.startswith("/"):
            return  # in a group only commands and buttons are for the bot
        elif turn.location is not None:
            await _by_mode(turn, router.location, common.unsupported_media)
        elif update.effective_message and update.effective_message.contact:
            await _by_mode(turn, router.contact, common.unsupported_media)
        elif turn.text.startswith("/"):
            await _on_command(turn, router)
        elif turn.text:
            await _on_text(turn, router)
        elif update.effective_message and update.effective_message.text is not None:
            turn.reply(Reply(_("Votre message est vide. Écrivez votre question en quelques "
                               "mots, ou utilisez le menu.")), common.main_menu(turn))
        else:
            await common.unsupported_media(turn)
    except StaleAction:
        turn.discard()
        turn.reply(Reply(_("Ce bouton n'est plus valable (étape expirée ou déjà traitée).")))
        if not turn.is_private:
            return
        rerender = router.rerender.get(turn.conv.mode)
        if rerender is not None:
            await rerender(turn)
        else:
            if turn.callback is None:  # typed text the mode can no longer use: leave it
                turn.conv.idle()
            turn.reply(common.main_menu(turn))


async def _by_mode(turn: Turn, table: dict, fallback) -> None:
    handler = table.get(turn.conv.mode) or table.get("*") or fallback
    await handler(turn)


async def _on_command(turn: Turn, router: Router) -> None:
    head, *args = turn.text.split()
    name = head[1:].split("@", 1)[0].lower()
    turn.args = args
    handler = router.commands.get(name)
    if handler is None:
        await common.unknown_command(turn)
        return
    deep_link = router.deep_links(turn, args[0]) if name == "start" and args \
        and router.deep_links else None
    if deep_link is not None:
        turn.conv.idle()
        turn.note(Started(deep_link=True))
        await deep_link(turn)
        return
    await handler(turn)


async def _on_button(turn: Turn, router: Router) -> None:
    data = turn.callback or ""
    prefix, _sep, rest = data.partition(":")
    handler = router.buttons.get(prefix)
    if handler is None or len(data.encode()) > 64:
        raise StaleAction(data[:64])
    await handler(turn, rest.split(":") if rest else [])


async def _on_text(turn: Turn, router: Router) -> None:
    if len(turn.text) > MAX_TEXT:
        if detect_emergency(turn.text):
            turn.reply(emergency_reply())
        turn.reply(Reply(_(
            "Votre message est très long. Résumez votre question en une ou deux phrases, "
            "sans élément permettant d'identifier un patient."
        )))
        return
    if detect_emergency(turn.text):
        turn.note(EmergencyDetected(turn.conv.mode))
        turn.reply(emergency_reply())
    if turn.text in (_("Annuler"), _("Ne pas partager")) \
            and turn.conv.mode not in router.reads_keyboard:
        await common.annuler(turn)
        return
    if turn.reply_to_message_id is not None:
        for hook in router.reply_hooks:
            if await hook(turn):
                return
    handler = router.modes.get(turn.conv.mode) or router.idle_text
    if handler is None:
        await common.not_yet(turn)
        return
    await handler(turn)
