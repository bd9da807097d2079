"""Greeting, menu, help, emergency numbers, privacy, language, cancel and erasure."""

from __future__ import annotations

import html

from bot.handlers import flows
from bot.handlers.turn import Turn
from vvs.departements import IDF_DEPARTMENTS
from vvs.emergency import all_numbers_text
from vvs.errors import StaleAction
from vvs.events import EmergencyNumbersShown, LanguageChosen, Started
from vvs.i18n import _, current_language, set_language
from vvs.inbox import privacy_notice as inbox_privacy_notice
from vvs.privacy import erase_user
from vvs.ui import Button, Reply


def main_menu(turn: Turn, intro: str | None = None) -> Reply:
    """The main menu as buttons, one per row (thumb-friendly), after an optional intro."""
    entries = [(item.order, _(item.label), f"m:{item.key}")
               for item in turn.router.menu_items.values()]
    entries += flows.menu_entries(turn)  # order and labels come from the flow files
    buttons = tuple((Button(label, data),) for _order, label, data in
                    sorted(entries, key=lambda entry: entry[0]))
    question = _("Que souhaitez-vous faire ?")
    return Reply(f"{intro}\n\n{question}" if intro else question, buttons)


def welcome_text() -> str:
    return _(
        "Bonjour, je suis l'assistant <b>Vigilance-Violences-Sécurité</b> de l'Ordre des "
        "médecins d'Île-de-France.\n"
        "Je vous guide pour signaler des violences, je réponds à vos questions juridiques "
        "(secret médical, certificats, ITT…) et je trouve les bons interlocuteurs près de "
        "vous.\n\n"
        "⚠️ Ce n'est pas une ligne d'urgence : en cas de danger, appelez le <b>17</b> ou le "
        "<b>112</b>.\n"
        "🔒 Ne m'écrivez jamais l'identité d'un patient (nom, date de naissance, n° de "
        "sécurité sociale…) : je n'en ai jamais besoin."
    )


async def start(turn: Turn) -> None:
    """/start: greet, then the main menu (deep links open a flow directly)."""
    turn.conv.idle()
    turn.reply(Reply(welcome_text(), events=(Started(),)), main_menu(turn))


async def menu(turn: Turn) -> None:
    """/menu: the main menu; leaves nothing in progress."""
    turn.reply(main_menu(turn))


async def help_(turn: Turn) -> None:
    """/aide: what the assistant does and its commands."""
    turn.reply(Reply(_(
        "<b>Comment m'utiliser</b>\n"
        "• Écrivez votre question en quelques mots, par exemple « puis-je signaler sans "
        "l'accord de ma patiente ? ».\n"
        "• /menu : le menu principal\n"
        "• /signaler : signaler des violences ; /ip : information préoccupante\n"
        "• /annuaire : trouver une UMJ, une CRIP, un parquet, le conseil de l'Ordre…\n"
        "• /victime : vous êtes vous-même victime de violences\n"
        "• /urgence : les numéros d'urgence\n"
        "• /annuler : abandonner ce qui est en cours\n"
        "• /langue : changer de langue\n"
        "• /confidentialite et /effacer : vos données"
    )), main_menu(turn))


async def urgence(turn: Turn) -> None:
    """/urgence: every emergency number at once."""
    turn.reply(Reply(all_numbers_text(), events=(EmergencyNumbersShown(),)))


async def annuler(turn: Turn) -> None:
    """/annuler: leave whatever is in progress."""
    was = turn.conv.mode
    turn.conv.idle()
    text = _("C'est annulé.") if was != "idle" else _("Rien n'était en cours.")
    turn.reply(Reply(text, remove_keyboard=True), main_menu(turn))


async def confidentialite(turn: Turn) -> None:
    """/confidentialite: what is kept, for how long, who is responsible."""
    days = turn.services.settings.escalation_retention_days
    turn.reply(Reply(_(
        "<b>Vos données</b>\n"
        "• Je ne conserve pas le texte de vos messages. Vos questions sont traitées puis "
        "oubliées.\n"
        "• Votre conversation en cours, votre langue et votre département (si vous acceptez "
        "qu'il soit retenu) sont enregistrés sous un pseudonyme (empreinte chiffrée de votre "
        "identifiant Telegram), jamais sous votre identifiant en clair.\n"
        "• Les statistiques d'usage (bilan annuel du dispositif) sont pseudonymes et ne "
        "contiennent aucun texte.\n"
        "• Votre identifiant Telegram en clair n'est conservé que si vous demandez à être "
        "contacté par un référent, le temps de la demande ; les demandes closes sont "
        "supprimées après {days} jours. Les messages relayés sont supprimés dès leur "
        "remise.\n"
        "• Les échanges avec un bot Telegram ne sont pas chiffrés de bout en bout : "
        "n'écrivez jamais l'identité d'un patient.\n"
        "• Responsabilité : l'article 5 de la convention de partenariat (conseil régional "
        "de l'Ordre des médecins d'Île-de-France et ARS Île-de-France) prévoit que chaque "
        "partie est responsable des données qu'elle collecte et traite pour les annuaires "
        "et les communications du dispositif, dans le respect du RGPD. Responsable du "
        "traitement de cet assistant : {controller}.\n"
        "• /effacer supprime tout ce qui est rattaché à vous, sauf, le cas échéant, votre "
        "inscription de référent (retirée par un administrateur) et un blocage pour abus "
        "(conservé sous pseudonyme, pour qu'il ne puisse pas être contourné)."
    ).format(days=days, controller=html.escape(
        turn.services.settings.data_controller or _("à préciser par l'exploitant du service")))))
    turn.reply(Reply(inbox_privacy_notice(
        turn.services.settings.processed_update_retention_hours)))


async def langue(turn: Turn) -> None:
    """/langue: choose French or English."""
    turn.reply(Reply(_("Choisissez votre langue :"), (
        (Button("🇫🇷 Français", "s:lang:fr"), Button("🇬🇧 English", "s:lang:en")),
    )))


async def set_lang(turn: Turn, code: str) -> None:
    """Store the chosen language and answer in it."""
    if code not in ("fr", "en"):
        raise StaleAction(code)
    turn.conv.language = code
    set_language(code)
    turn.reply(Reply(_("Langue enregistrée : français."),
                     events=(LanguageChosen(current_language()),)), main_menu(turn))


async def effacer(turn: Turn) -> None:
    """/effacer: ask for confirmation before erasing everything keyed by the user."""
    turn.reply(Reply(_(
        "Voulez-vous effacer toutes vos données (conversation en cours, préférences, "
        "demandes de contact en cours) ? Les statistiques déjà comptées restent, mais ne "
        "seront plus rattachées à vous."
    ), ((Button(_("Oui, tout effacer"), "s:erase:yes"), Button(_("Non"), "s:erase:no")),)))


async def erase_confirmed(turn: Turn) -> None:
    """Run every registered erasure step and say what was erased."""
    report = await erase_user(turn.session, turn.user_key, turn.services.erasure)
    turn.conv.forget()  # its row is gone: the turn saves nothing back
    lines = [f"• {_(label)} : {count}" for label, count in report]
    turn.reply(Reply(_("C'est fait. Effacé :") + "\n" + "\n".join(lines)))


async def erase_cancelled(turn: Turn) -> None:
    turn.reply(Reply(_("Rien n'a été effacé.")))


async def remember_department(turn: Turn, code: str) -> None:
    """Keep (or decline to keep) the physician's département for flows and escalations."""
    if code == "no":
        turn.reply(Reply(_("Entendu, je ne retiens rien.")))
        return
    if code not in IDF_DEPARTMENTS:
        raise StaleAction(code)
    turn.conv.department = code
    turn.reply(Reply(_("Département {d} retenu. Vous pouvez l'effacer avec /effacer."
                       ).format(d=code)))


async def unknown_command(turn: Turn) -> None:
    """Any command we do not know."""
    turn.reply(main_menu(turn, _(
        "Je ne connais pas cette commande. Voici ce que je sais faire :")))


async def unsupported_media(turn: Turn) -> None:
    """Stickers, photos, voice notes, files: we cannot read them, and say so."""
    turn.reply(main_menu(turn, _(
        "Je ne lis que le texte (et une position partagée pour trouver une ressource). "
        "N'envoyez pas de photo ni de document concernant un patient. Écrivez votre "
        "question en quelques mots."
    )))


async def not_yet(turn: Turn) -> None:
    """A menu item whose feature is not available in this version."""
    turn.reply(main_menu(turn, _(
        "Cette fonction n'est pas encore disponible dans cette version.")))
