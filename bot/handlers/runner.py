"""The one PTB callback: update → Turn (one unit of work) → domain handlers → replies."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import replace
from typing import Any

from telegram import Bot, Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import ContextTypes

from bot.handlers import common
from bot.handlers.render import edit_keyboard, keyboard_of, send_reply, split_text
from bot.handlers.router import Router
from bot.handlers.turn import Turn
from bot.intake import is_turn
from bot.services import Services
from vvs.db import transaction
from vvs.emergency import detect_emergency, emergency_reply
from vvs.errors import StaleAction, StateMoved
from vvs.events import EmergencyDetected, Started
from vvs.i18n import _, current_language, normalize, set_language, use_language
from vvs.outbox import REPLY, OutboundMessage
from vvs.state import Conversation, StateWrite
from vvs.turnend import TurnEnd, TurnUnit, turn_unit
from vvs.ui import Button, Reply

log = logging.getLogger(__name__)

MAX_TEXT = 2000  # longer free text is refused politely: nobody types a question that long
# PostgreSQL: a turn whose user's state changed under it (another replica) runs again on the
# new state; past this, it fails and is retried from the inbox
STATE_ATTEMPTS = 3


def services_of(context: ContextTypes.DEFAULT_TYPE) -> Services:
    services: Services = context.application.bot_data["services"]
    return services


async def on_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Entry point for every update from a user."""
    services = services_of(context)
    if not is_turn(update):
        # edits (an old message edited would be taken for a new one: relayed, answered),
        # membership changes (bot added to a group, blocked), join requests, channel posts…
        if update.callback_query and update.effective_chat is None:
            await update.callback_query.answer()  # a press on an inline message
        return
    if update.callback_query:  # stop the spinner (a retried turn finds it answered)
        with contextlib.suppress(TelegramError):
            await update.callback_query.answer()
    # a webhook request waiting for this turn: the update was never stored
    stored = not services.intake.pending(update.update_id)
    try:
        outcome = await _run_turn(update, services, services.router, stored=stored)
    except Exception as exc:
        if services.intake.settle(update.update_id, exc):
            return  # the webhook stores it: retried from the inbox in a moment
        if await services.inbox.failed(update.update_id, exc):
            raise  # parked: the error handler tells the user
        return  # retried from the inbox in a moment; the user is not told twice
    services.intake.settle(update.update_id)  # committed: the webhook answers 200 now
    if outcome is None:
        log.info("update %s already processed", update.update_id)
        if stored:
            await services.inbox.drop(update.update_id)
        return
    turn, plan = outcome
    if turn.flood_warning:
        await context.bot.send_message(turn.chat_id, turn.flood_warning)
        return
    if turn.edit_pressed and turn.message_id:
        await edit_keyboard(context.bot, turn.chat_id, turn.message_id)
    await _deliver(context.bot, services, turn, plan)
    if turn.queued:  # notifications, relays, timers: the worker delivers them now
        services.wake.set()


# what the turn sends after its commit, in order: a committed reply row (sent at once), or a
# reply's documents and venues (never stored: sent directly, announced again if that fails)
Planned = tuple[int, OutboundMessage] | Reply


async def _deliver(bot: Bot, services: Services, turn: Turn, plan: list[Planned]) -> None:
    """Send the turn's replies. The turn is committed, its texts are outbox rows: each is
    sent now (the fast path), and one the Bot API refuses stays in the outbox, retried by
    the worker (labelled as a possible duplicate after a timeout). A document, never stored,
    is announced so the user presses its button again."""
    failed_documents = False
    for item in plan:
        if isinstance(item, tuple):
            row_id, message = item
            if not await services.outbox.send_claimed(row_id, turn.chat_id, message):
                log.info("chat %s blocked the bot: replies dropped", turn.chat_id)
                return
            continue
        try:
            await send_reply(bot, turn.chat_id, item)
        except Forbidden:
            log.info("chat %s blocked the bot: replies dropped", turn.chat_id)
            return
        except TelegramError as exc:
            log.warning("document not sent (%s): announced", exc)
            failed_documents = True
    if failed_documents:
        async with transaction(services.sessions) as session:
            await services.outbox.enqueue(session, turn.chat_id, OutboundMessage(_(
                "Le document n'a pas pu être envoyé : appuyez de nouveau sur son bouton."),
                (), current_language()), user_key=turn.user_key, purpose=REPLY)
        services.wake.set()


def _pieces(turn: Turn) -> list[OutboundMessage | Reply]:
    """What the turn sends, in order: each reply's text as messages (split to Telegram's
    limit, the keyboard on the last part), then its documents and venues (kept in memory)."""
    pieces: list[OutboundMessage | Reply] = []
    language = current_language()
    for reply in turn.replies:
        if reply.text:
            parts = split_text(reply.text)
            for i, part in enumerate(parts):
                last = i == len(parts) - 1
                pieces.append(OutboundMessage(part, reply.buttons if last else (), language,
                                              keyboard_of(reply) if last else ""))
        if reply.documents or reply.venues:
            pieces.append(replace(reply, text="", buttons=()))
    return pieces


async def _finish(services: Services, turn: Turn, update_id: int, *, stored: bool,
                  state: StateWrite | None, events: list[dict[str, Any]]
                  ) -> list[Planned] | None:
    """Write the turn's end (claim, state, events, the replies' texts as outbox rows leased
    to this process); the plan of what to send after the commit, or None for a duplicate."""
    pieces = _pieces(turn)
    replies = [services.outbox.claimed_values(turn.chat_id, piece, user_key=turn.user_key)
               for piece in pieces if isinstance(piece, OutboundMessage)]
    ids = await turn.unit.end(services.inbox, TurnEnd(
        update_id, stored, state, events, replies, check_state=not turn.conv.forgotten))
    if ids is None:
        return None
    row_ids = iter(ids)
    return [(next(row_ids), piece) if isinstance(piece, OutboundMessage) else piece
            for piece in pieces]


async def _run_turn(update: Update, services: Services, router: Router, *,
                    stored: bool) -> tuple[Turn, list[Planned]] | None:
    """The whole turn as one unit of work (`vvs.turnend.turn_unit`): run the handlers, then
    write the turn's end — claim the update, delete its inbox row (when `stored`), save the
    state, record the events and add the replies as outbox rows (None when the update was
    processed already: all of it is undone). Run again when the state moved under it."""
    user = update.effective_user
    assert user is not None
    user_key = services.user_key(user.id)
    allowed, warn = services.flood.allow(user_key)
    for attempt in range(1, STATE_ATTEMPTS + 1):
        try:
            async with turn_unit(services.sessions) as unit:
                if not allowed:
                    return await _set_aside(update, services, router, unit, user_key,
                                            stored, warn)
                return await _attempt(update, services, router, unit, user_key, stored)
        except StateMoved:
            if attempt == STATE_ATTEMPTS:
                raise
            log.info("update %s: the state moved under the turn, run again", update.update_id)
    raise AssertionError("unreachable")


async def _set_aside(update: Update, services: Services, router: Router, unit: TurnUnit,
                     user_key: str, stored: bool, warn: bool
                     ) -> tuple[Turn, list[Planned]] | None:
    """Flood control: the update is consumed (claimed, inbox row deleted), unanswered."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    turn = Turn(services, router, unit, Conversation(user_key), user.id, chat.id, chat.type,
                user.first_name, user.username)
    if warn:
        with use_language(normalize(user.language_code)):
            turn.flood_warning = _(
                "Vous envoyez beaucoup de messages à la fois : je mets de côté les "
                "suivants quelques secondes. Renvoyez votre message dans un instant.")
    if await unit.end(services.inbox, TurnEnd(update.update_id, stored)) is None:
        return None
    return turn, []


async def _attempt(update: Update, services: Services, router: Router, unit: TurnUnit,
                   user_key: str, stored: bool) -> tuple[Turn, list[Planned]] | None:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    conv = await unit.load(services.state, user_key)
    set_language(conv.language or normalize(user.language_code))
    private = chat.type == "private"
    if not private:  # a group never reads nor changes the member's private conversation
        conv = Conversation(conv.user_key, language=conv.language,
                            department=conv.department)
    turn = Turn(services, router, unit, conv, user.id, chat.id, chat.type,
                user.first_name, user.username)
    _fill(turn, update)
    if conv.expired_mode:
        turn.reply(Reply(_(
            "Votre démarche précédente est restée sans réponse plus d'un jour : je l'ai "
            "refermée. Vous pouvez la reprendre depuis le menu."
        ), ((Button(_("Menu principal"), "m:menu"),),)))
    await _dispatch(turn, update, router)
    events = turn.event_rows()
    # (a group's turn never saves; a conversation erased during the turn neither)
    state = services.state.changes(conv) if private else None
    plan = await _finish(services, turn, update.update_id, stored=stored, state=state,
                         events=events)
    if plan is None:
        return None
    turn.queued = unit.queued
    return turn, plan


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
    else:
        await handler(turn)
    if name == "start" and turn.is_private:
        for hook in router.start_hooks:
            await hook(turn)


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
