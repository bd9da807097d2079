"""Escalations in the bot (thin): the physician's request, the referents' side, the relay."""

from __future__ import annotations

import html
from dataclasses import replace

from annuaire.finder import idf_department
from annuaire.model import Directory
from annuaire.render import council_contacts
from bot.handlers.router import Router
from bot.handlers.turn import Turn
from escalation import screens
from escalation.errors import (
    AlreadyTaken,
    Blocked,
    IdentityFound,
    InvalidCode,
    NoRecipient,
    NotTaken,
    TooManyActions,
    TooManyOpen,
)
from escalation.models import Escalation
from escalation.referents import enrol_with_code
from escalation.service import INFO, MAX_MESSAGE, EscalationService
from escalation.state import EscalationDraft, RelayState
from escalation.texts import CATEGORIES, taken_buttons
from vvs.answers import department_in
from vvs.departements import IDF_DEPARTMENTS
from vvs.errors import NotAllowed, StaleAction
from vvs.i18n import N_, _, current_language
from vvs.identity import identity_warning
from vvs.outbox import OutboundMessage
from vvs.ui import Reply, menu_button, with_rows

CONTACT, MESSAGE, CONFIRM, DEPT, RELAY = (
    "esc_contact", "esc_message", "esc_confirm", "esc_dept", "relay")
STEPS = (CONTACT, MESSAGE, CONFIRM, DEPT)
VICTIM_CATEGORIES = frozenset({"victime", "vss"})  # the physician is the victim


def _svc(turn: Turn) -> EscalationService:
    return turn.services.escalations


def _id(value: str) -> int:
    if not value.isdigit() or len(value) > 12:
        raise StaleAction(value)
    return int(value)


def _display_name(turn: Turn) -> str:
    name = turn.first_name or _("Médecin")
    return f"{name} (@{turn.username})" if turn.username else name


# ---------------------------------------------------------------- physician: new request

async def start_request(turn: Turn, category: str, dept: str | None = None) -> None:
    """`e:new:<category>[:<dept>]`: explain, then collect what will be shared. A département
    in the button is the one answered in the procedure: it is the request's. Otherwise the
    physician chooses, the remembered one offered first (a default, never imposed)."""
    if category not in CATEGORIES or (dept is not None and dept not in IDF_DEPARTMENTS):
        raise StaleAction(category)
    if not turn.is_private:
        turn.reply(Reply(_("Faites cette demande dans une conversation privée avec le bot.")))
        return
    hours = turn.services.settings.escalation_regional_minutes // 60 or 1
    turn.reply(screens.intro(hours))
    turn.conv.set_mode(DEPT, EscalationDraft(cat=category))
    if dept is not None:
        await _choose_department(turn, dept)
    else:
        turn.reply(screens.ask_department(turn.conv.department))


def _draft(turn: Turn) -> EscalationDraft:
    draft = turn.conv.state_of(EscalationDraft, *STEPS)
    if draft is None:
        raise StaleAction(turn.conv.mode)
    return draft


async def _choose_department(turn: Turn, dept: str) -> None:
    if dept not in IDF_DEPARTMENTS:
        raise StaleAction(dept)
    turn.conv.set_mode(CONTACT, replace(_draft(turn), dept=dept))
    turn.reply(screens.ask_contact())


async def on_department_text(turn: Turn) -> None:
    """Text at « Dans quel département exercez-vous ? »: a code, a name or a commune (« 93 »,
    « seine saint denis », « bobigny »), else the question again with a hint; the request
    is kept."""
    dept = department_in(turn.text) or idf_department(
        turn.services.content.get("annuaire", Directory), turn.text)
    if dept is not None:
        await _choose_department(turn, dept)
        return
    turn.reply(Reply(_("Je n'ai pas reconnu de département d'Île-de-France. Choisissez-le "
                       "ci-dessous, ou tapez son numéro (par exemple 93) ou son nom ; votre "
                       "demande n'est pas annulée.")), screens.ask_department())


async def on_contact(turn: Turn) -> None:
    """The physician shared their own number with Telegram's contact button."""
    draft = _draft(turn)
    if not turn.contact_phone:
        turn.reply(Reply(_("Partagez uniquement votre propre numéro, avec le bouton.")),
                   screens.ask_contact())
        return
    await _ask_message(turn, replace(draft, phone=turn.contact_phone), _("Numéro ajouté."))


async def on_contact_text(turn: Turn) -> None:
    """Text while the contact keyboard is shown: 'Ne pas partager', 'Annuler', or again."""
    draft = _draft(turn)
    if turn.text == _("Annuler"):
        await _abort(turn)
    elif turn.text == _("Ne pas partager"):
        await _ask_message(turn, replace(draft, phone=None), _("Numéro non partagé."))
    else:
        turn.reply(screens.ask_contact())


async def _ask_message(turn: Turn, draft: EscalationDraft, ack: str) -> None:
    turn.conv.set_mode(MESSAGE, draft)
    turn.reply(Reply(ack, remove_keyboard=True), screens.ask_message())


async def on_message_text(turn: Turn) -> None:
    """The optional short message: refused (to rephrase) when it holds an identity."""
    draft = _draft(turn)
    if len(turn.text) > MAX_MESSAGE:
        turn.reply(Reply(_("Message trop long : {n} caractères au plus.").format(n=MAX_MESSAGE)))
        return
    try:
        EscalationService.check_text(turn.text, draft.phone)
    except IdentityFound as exc:
        turn.reply(Reply(identity_warning(exc.findings)))
        return
    _show_summary(turn, replace(draft, msg=turn.text))


def _show_summary(turn: Turn, draft: EscalationDraft) -> None:
    turn.conv.set_mode(CONFIRM, draft)
    turn.reply(screens.summary(draft, _display_name(turn)))


async def _send(turn: Turn) -> None:
    """'Envoyer': create the request (the notifications leave through the outbox)."""
    draft = _draft(turn)
    if turn.conv.mode != CONFIRM or draft.dept is None:
        raise StaleAction("e:send")
    try:
        esc = await _svc(turn).create(
            turn.session, user_key=turn.user_key, chat_id=turn.chat_id,
            name=_display_name(turn), department=draft.dept, category=draft.cat,
            phone=draft.phone, message=draft.msg, language=current_language())
    except TooManyOpen:
        end = Reply(_("Vous avez déjà {n} demandes en cours : attendez leur réponse ou "
                      "annulez-en une avec /mademande.").format(
            n=turn.services.settings.max_open_requests))
    except TooManyActions as exc:
        end = Reply(_("Vous avez déjà envoyé {n} demandes ces dernières 24 h : c'est le "
                      "maximum par ce bot. Réessayez demain, ou contactez directement "
                      "votre conseil départemental de l'Ordre. En cas de danger, appelez "
                      "le 17 ou le 112.").format(n=exc.limit))
    except Blocked:
        end = Reply(_("Vous ne pouvez plus envoyer de demande par ce bot. Contactez "
                      "directement votre conseil départemental de l'Ordre."))
    except NoRecipient:
        contacts = council_contacts(turn.services.content.get("annuaire", Directory),
                                    draft.dept, victim=draft.cat in VICTIM_CATEGORIES)
        end = Reply(_("Aucun référent n'est joignable par ce bot pour le moment : votre "
                      "demande n'a pas été envoyée ni conservée. Contactez "
                      "directement :") + "\n\n" + contacts)
    else:
        turn.edit_pressed = True
        end = screens.sent(esc)
    turn.reply(with_rows(end, (menu_button(),)))  # an end screen: a way back
    turn.conv.idle()


async def _abort(turn: Turn) -> None:
    turn.conv.idle()
    # The phone keyboard goes away with this message; a message has one keyboard, so the way
    # back to the menu follows on its own.
    turn.reply(Reply(_("Demande abandonnée : rien n'a été envoyé."), remove_keyboard=True),
               Reply(_("Retour au menu :"), ((menu_button(),),)))


# ---------------------------------------------------------------- referents

async def _take(turn: Turn, esc_id: int) -> None:
    esc, ref = await _svc(turn).take(turn.session, esc_id, turn.user_id, turn.chat_id)
    turn.edit_pressed = True
    if turn.is_private:
        turn.reply(Reply(_("Vous avez pris en charge la demande n°{id}. Le médecin est "
                           "prévenu ; écrivez-lui avec « Répondre ».").format(id=esc.id),
                         _rows(esc)))
    else:  # the group sees who took it; the referent gets the controls in private
        turn.reply(Reply(_("✅ Demande n°{id} prise en charge par {who}.").format(
            id=esc.id, who=html.escape(ref.name))))


def _rows(esc: Escalation) -> tuple:
    return tuple(tuple(row) for row in taken_buttons(int(esc.id or 0)))


async def _close_ask(turn: Turn, esc_id: int) -> None:
    svc = _svc(turn)
    esc = await svc.get(turn.session, esc_id)
    await svc.authorised(turn.session, esc, turn.user_id)
    if esc.status not in ("open", "taken"):
        raise StaleAction(f"e:close:{esc_id}")
    turn.reply(screens.outcomes(esc_id))


async def _close(turn: Turn, esc_id: int, outcome: str) -> None:
    esc = await _svc(turn).close(turn.session, esc_id, turn.user_id, outcome)
    turn.edit_pressed = True
    turn.reply(Reply(_("Demande n°{id} close. Merci.").format(id=esc.id)))
    _leave_relay(turn, esc_id)


async def _release(turn: Turn, esc_id: int) -> None:
    esc = await _svc(turn).release(turn.session, esc_id, turn.user_id)
    turn.edit_pressed = True
    turn.reply(Reply(_("Demande n°{id} rendue : les référents du département sont de nouveau "
                       "prévenus.").format(id=esc.id)))
    _leave_relay(turn, esc_id)


async def _reassign_ask(turn: Turn, esc_id: int) -> None:
    svc = _svc(turn)
    esc, ref = await svc.in_charge(turn.session, esc_id, turn.user_id)
    others = [r for r in await svc.department_referents(turn.session, esc.department)
              if not r.is_group and r.id != ref.id]
    turn.reply(screens.reassign_choices(esc_id, others))


async def _reassign(turn: Turn, esc_id: int, ref_id: int) -> None:
    esc, other = await _svc(turn).reassign(turn.session, esc_id, turn.user_id, ref_id)
    turn.edit_pressed = True
    turn.reply(Reply(_("Demande n°{id} confiée à {who}.").format(
        id=esc.id, who=html.escape(other.name))))
    _leave_relay(turn, esc_id)


async def _block_ask(turn: Turn, esc_id: int) -> None:
    svc = _svc(turn)
    await svc.authorised(turn.session, await svc.get(turn.session, esc_id), turn.user_id)
    turn.reply(screens.confirm_block(esc_id))


async def _block(turn: Turn, esc_id: int) -> None:
    await _svc(turn).block(turn.session, esc_id, turn.user_id)
    turn.edit_pressed = True
    turn.reply(Reply(_("Médecin bloqué ; la demande n°{id} est close.").format(id=esc_id)))


def _leave_relay(turn: Turn, esc_id: int) -> None:
    relay = turn.conv.state_of(RelayState, RELAY)
    if relay is not None and relay.id == esc_id:
        turn.conv.idle()


async def dossiers(turn: Turn) -> None:
    """/dossiers: a referent's open and taken cases, with buttons."""
    svc = _svc(turn)
    ref = await svc.referent(turn.session, turn.user_id)
    if ref is None:
        turn.reply(Reply(_("Cette commande est réservée aux référents inscrits.")))
        return
    cases = screens.referent_cases(ref, await svc.cases_for(turn.session, ref))
    if not turn.is_private:  # physicians' names and links never go to a group: in private
        for case in cases:
            await svc.outbox.enqueue(turn.session, int(ref.telegram_id or 0),
                                     OutboundMessage(case.text, case.buttons), purpose=INFO)
        return
    turn.reply(*cases)


async def inscription(turn: Turn) -> None:
    """/inscription CODE: a referent (private chat) or a group enrols with a one-time code."""
    if len(turn.args) != 1:
        turn.reply(Reply(_("Envoyez : /inscription suivi du code reçu de l'administrateur.")))
        return
    group = not turn.is_private
    try:
        ref = await enrol_with_code(
            _svc(turn), turn.session, turn.args[0], name=None if group else _display_name(turn),
            telegram_id=None if group else turn.user_id, chat_id=turn.chat_id if group else None)
    except InvalidCode:
        turn.reply(Reply(_("Code inconnu, déjà utilisé ou expiré. Demandez-en un nouveau à "
                           "l'administrateur.")))
        return
    if group:
        turn.reply(Reply(_("Ce groupe recevra les demandes du département {dept}. Seuls les "
                           "référents inscrits individuellement peuvent les prendre en charge."
                           ).format(dept=ref.department)))
    else:
        turn.reply(Reply(_("Vous êtes inscrit comme référent du département {dept}. "
                           "/dossiers liste les demandes.").format(dept=ref.department)))


# ---------------------------------------------------------------- physician follow-up, relay

async def mademande(turn: Turn) -> None:
    """/mademande: the physician's requests, their status, and a cancel button."""
    turn.reply(screens.physician_cases(await _svc(turn).live_for(turn.session, turn.user_key)))


async def _cancel(turn: Turn, esc_id: int) -> None:
    try:
        esc = await _svc(turn).cancel(turn.session, esc_id, turn.user_key)
    except TooManyActions as exc:
        turn.reply(Reply(_("Vous avez déjà annulé {n} demandes ces dernières 24 h : celle-ci "
                           "reste ouverte. Vous pourrez dire au référent qui vous contactera "
                           "qu'elle n'a plus lieu d'être, ou réessayer demain.").format(
            n=exc.limit)))
        return
    turn.edit_pressed = True
    _leave_relay(turn, esc_id)
    turn.reply(Reply(_("Demande n°{id} annulée ; les référents sont prévenus.").format(
        id=esc.id)))


async def _reply_button(turn: Turn, esc_id: int) -> None:
    """'Répondre': the next text message is relayed (and only that one)."""
    svc = _svc(turn)
    esc = await svc.get(turn.session, esc_id)
    if esc.user_key == turn.user_key and esc.status in ("open", "taken"):
        to_physician = False
    else:
        await svc.in_charge(turn.session, esc_id, turn.user_id)
        to_physician = True
    if not turn.is_private:
        raise StaleAction(f"e:reply:{esc_id}")
    turn.conv.set_mode(RELAY, RelayState(esc_id))
    turn.reply(screens.write_prompt(to_physician))


async def _relay(turn: Turn, esc: Escalation) -> None:
    """Relay `turn.text` to the other side of `esc`; the sender decides who they are."""
    svc = _svc(turn)
    if len(turn.text) > MAX_MESSAGE:
        turn.reply(Reply(_("Message trop long : {n} caractères au plus.").format(n=MAX_MESSAGE)))
        return
    try:
        if esc.user_key == turn.user_key:
            await svc.relay_to_referent(turn.session, int(esc.id or 0), turn.user_key,
                                        turn.text)
            sent_to = _("au référent")
        else:
            await svc.relay_to_physician(turn.session, int(esc.id or 0), turn.user_id,
                                         turn.text)
            sent_to = _("au médecin")
    except IdentityFound as exc:
        turn.reply(Reply(identity_warning(exc.findings)))  # stays in relay mode: rephrase
        return
    except (NotTaken, NotAllowed):  # closed, released, or the sender is no longer a referent
        turn.conv.idle()
        turn.reply(Reply(_("Cette demande n'est pas (ou plus) prise en charge : message non "
                           "transmis.")))
        return
    turn.conv.idle()
    turn.reply(Reply(_("Message transmis {to}. Pour écrire encore, utilisez « Répondre » ou "
                       "répondez à son message.").format(to=sent_to)))


async def on_relay_text(turn: Turn) -> None:
    """Free text after 'Répondre'."""
    relay = turn.conv.state_of(RelayState, RELAY)
    if relay is None:
        raise StaleAction(turn.conv.mode)
    await _relay(turn, await _svc(turn).get(turn.session, relay.id))


async def on_reply(turn: Turn) -> bool:
    """A text sent as a reply to a relayed message (or a notification) is relayed."""
    if not turn.is_private or turn.reply_to_message_id is None:
        return False
    esc = await _svc(turn).by_reply(turn.session, turn.chat_id, turn.reply_to_message_id)
    if esc is None:
        return False
    await _relay(turn, esc)
    return True


# ---------------------------------------------------------------- wiring

async def on_button(turn: Turn, args: list[str]) -> None:
    """`e:` buttons; data is never trusted: parse, check, or StaleAction/refusal."""
    try:
        await _dispatch(turn, args)
    except NotAllowed:
        turn.reply(Reply(_("Cette action est réservée aux référents inscrits du département "
                           "concerné.")))
    except AlreadyTaken as exc:
        turn.edit_pressed = True
        turn.reply(Reply(_("Trop tard : cette demande est déjà {state}.").format(
            state=_("prise en charge par {who}").format(who=exc.by) if exc.by
            else _(STATES.get(exc.status, STATES["closed"])))))
    except NotTaken:
        turn.reply(Reply(_("Vous n'avez pas cette demande en charge.")))


STATES = {"taken": N_("prise en charge"), "closed": N_("close"), "cancelled": N_("annulée")}


async def _dispatch(turn: Turn, args: list[str]) -> None:
    match args:
        case ["new", category]:
            await start_request(turn, category)
        case ["new", category, dept]:
            await start_request(turn, category, dept)
        case ["dept", dept]:
            await _choose_department(turn, dept)
        case ["skip"]:
            _show_summary(turn, _draft(turn))
        case ["msg"]:
            await _ask_message(turn, _draft(turn), _("Nouveau message :"))
        case ["send"]:
            await _send(turn)
        case ["abort"]:
            await _abort(turn)
        case ["noop"]:
            turn.edit_pressed = True
        case _:
            await _dispatch_case(turn, args)


async def _dispatch_case(turn: Turn, args: list[str]) -> None:
    match args:
        case ["take", esc_id]:
            await _take(turn, _id(esc_id))
        case ["close", esc_id]:
            await _close_ask(turn, _id(esc_id))
        case ["out", esc_id, outcome]:
            await _close(turn, _id(esc_id), outcome)
        case ["rel", esc_id]:
            await _release(turn, _id(esc_id))
        case ["ra", esc_id]:
            await _reassign_ask(turn, _id(esc_id))
        case ["rato", esc_id, ref_id]:
            await _reassign(turn, _id(esc_id), _id(ref_id))
        case ["block", esc_id]:
            await _block_ask(turn, _id(esc_id))
        case ["blockyes", esc_id]:
            await _block(turn, _id(esc_id))
        case ["cancel", esc_id]:
            await _cancel(turn, _id(esc_id))
        case ["reply", esc_id]:
            await _reply_button(turn, _id(esc_id))
        case _:
            raise StaleAction("e:" + ":".join(args))


async def _rerender(turn: Turn) -> None:
    """After a stale button during a request: show the current step again."""
    draft = turn.conv.state_of(EscalationDraft, *STEPS)
    if turn.conv.mode == CONFIRM and draft is not None and draft.dept is not None:
        _show_summary(turn, draft)
    elif turn.conv.mode == MESSAGE:
        turn.reply(screens.ask_message())
    elif turn.conv.mode == CONTACT:
        turn.reply(screens.ask_contact())
    elif turn.conv.mode == DEPT:
        turn.reply(screens.ask_department(turn.conv.department))


def setup(router: Router) -> None:
    """Register the `e` buttons, commands, modes and the reply-to-relay hook."""
    router.button("e")(on_button)
    router.command("dossiers", "cases", description=N_("Référents : vos demandes"))(dossiers)
    router.command("mademande", "myrequest", description=N_("Votre demande à un référent"))(
        mademande)
    router.command("inscription", "enrol")(inscription)
    router.mode(CONTACT, state=EscalationDraft, text=on_contact_text, contact=on_contact,
                rerender=_rerender, reads_keyboard=True)
    router.mode(MESSAGE, state=EscalationDraft, text=on_message_text, rerender=_rerender)
    router.mode(CONFIRM, state=EscalationDraft, text=_confirm_text, rerender=_rerender)
    router.mode(DEPT, state=EscalationDraft, text=on_department_text, rerender=_rerender)
    router.mode(RELAY, state=RelayState, text=on_relay_text)
    router.on_reply(on_reply)
    router.on_start(details_at_start)


async def details_at_start(turn: Turn) -> None:
    """A referent opens the bot: deliver the details of requests they took from a group
    while the bot could not write to them."""
    await _svc(turn).deliver_details(turn.session, turn.user_id)


async def _confirm_text(turn: Turn) -> None:
    """Text on the summary screen: take it as the new message (checked again)."""
    await on_message_text(turn)
