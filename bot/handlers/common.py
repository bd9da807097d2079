"""Greeting, menu, help, emergency numbers, privacy, language, cancel and erasure."""

from __future__ import annotations

import html

from bot.console.access import privacy_notice as console_privacy_notice
from bot.handlers import flows
from bot.handlers.turn import Turn
from vvs.departements import IDF_DEPARTMENTS
from vvs.emergency import all_numbers_text
from vvs.errors import StaleAction
from vvs.events import EmergencyNumbersShown, LanguageChosen, Started
from vvs.i18n import _, current_language, set_language
from vvs.inbox import privacy_notice as inbox_privacy_notice
from vvs.privacy import editors_queue_notice, erase_user, statistics_notice
from vvs.ui import Button, Reply, menu_button


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
    """/menu: the main menu; leaves whatever was in progress (text typed next is read at
    the menu, not as the answer to an abandoned step)."""
    turn.conv.idle()
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
    turn.reply(Reply(all_numbers_text(), ((menu_button(),),),
                     events=(EmergencyNumbersShown(),)))


async def annuler(turn: Turn) -> None:
    """/annuler: leave whatever is in progress."""
    was = turn.conv.mode
    turn.conv.idle()
    text = _("C'est annulé.") if was != "idle" else _("Rien n'était en cours.")
    turn.reply(Reply(text, remove_keyboard=True), main_menu(turn))


async def confidentialite(turn: Turn) -> None:
    """/confidentialite: who is responsible, why, what is kept and for how long, the
    physician's rights and how to use them, the CNIL."""
    settings = turn.services.settings
    controller = settings.data_controller or _(
        "non renseigné par l'exploitant du service (paramètre DATA_CONTROLLER)")
    turn.reply(Reply(_(
        "<b>Vos données</b>\n"
        "Responsable du traitement : {controller}.\n\n"
        "<b>Pourquoi</b>\n"
        "• Répondre à vos questions juridiques, vous guider dans vos démarches et vous "
        "orienter vers les ressources d'Île-de-France.\n"
        "• Vous mettre en relation avec un référent de l'Ordre, si vous le demandez.\n"
        "• Établir le bilan annuel du dispositif (convention entre le conseil régional de "
        "l'Ordre des médecins d'Île-de-France et l'ARS Île-de-France, qui prévoit en son "
        "article 5 que chaque partie est responsable des données qu'elle traite, dans le "
        "respect du RGPD)."
    ).format(controller=html.escape(controller))), Reply(_(
        "<b>Ce qui est conservé, et combien de temps</b>\n"
        "• Le texte de vos questions n'est pas conservé : il est traité puis oublié, sauf "
        "une question que vous choisissez de transmettre aux rédacteurs des fiches (voir "
        "plus bas). Quand je vous la montre avant de l'envoyer, elle attend votre réponse "
        "avec votre démarche en cours, et s'efface avec elle.\n"
        "• Votre démarche en cours (étape, brouillon de demande) : effacée après {state} h "
        "sans réponse. Votre langue et votre département, si vous acceptez qu'il soit "
        "retenu : jusqu'à /effacer. Le tout sous un pseudonyme (empreinte chiffrée de votre "
        "identifiant Telegram), jamais sous votre identifiant en clair.\n"
        "• Les numéros des messages reçus (pour ne jamais traiter deux fois le même) : "
        "{updates} h.\n"
        "• Une demande à un référent : votre nom Telegram, votre identifiant et, si vous le "
        "donnez, votre numéro, le temps de la demande ; une demande close est supprimée "
        "après {days} jours. Les messages relayés sont supprimés dès leur remise.\n"
        "• Les messages en attente d'envoi (notifications, relais) : leur texte et "
        "l'identifiant du destinataire sont supprimés dès la remise, ou dès l'abandon "
        "après plusieurs essais ; il n'en reste qu'une trace sans contenu (date, type de "
        "message), jusqu'à /effacer."
    ).format(state=settings.state_expiry_hours,
             updates=settings.processed_update_retention_hours,
             days=settings.escalation_retention_days) + "\n" + inbox_privacy_notice(
        settings.processed_update_retention_hours) + "\n" + editors_queue_notice(
        settings.question_retention_days) + "\n" + statistics_notice(
        settings.event_retention_months, settings.stats_publish_threshold) + "\n"
        + console_privacy_notice(settings.console_session_hours,
                                 settings.console_audit_retention_days)), Reply(_(
        "<b>Vos droits</b>\n"
        "• Accès : /mademande montre vos demandes en cours ; pour obtenir tout ce qui est "
        "conservé sous votre pseudonyme, écrivez au responsable du traitement.\n"
        "• Effacement : /effacer supprime aussitôt tout ce qui est rattaché à vous, sauf, le "
        "cas échéant, votre inscription de référent (retirée par un administrateur) et un "
        "blocage pour abus (conservé {block} jours sous pseudonyme, pour qu'il ne puisse pas "
        "être contourné) ; vos statistiques passées ne sont plus rattachées à vous.\n"
        "• Opposition : vous pouvez cesser d'utiliser l'assistant à tout moment et lancer "
        "/effacer ; pour vous opposer à un traitement en particulier, écrivez au "
        "responsable du traitement.\n"
        "• Réclamation : si vous estimez que vos droits ne sont pas respectés, vous pouvez "
        "adresser une réclamation à la CNIL (Commission nationale de l'informatique et des "
        "libertés), sur son site cnil.fr.\n"
        "• Les échanges avec un bot Telegram ne sont pas chiffrés de bout en bout : "
        "n'écrivez jamais l'identité d'un patient."
    ).format(block=settings.block_retention_days)))


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
        "demandes de contact en cours, questions transmises aux rédacteurs) ? Les "
        "statistiques déjà comptées restent, mais ne seront plus rattachées à vous."
    ), ((Button(_("Oui, tout effacer"), "s:erase:yes"), Button(_("Non"), "s:erase:no")),)))


async def erase_confirmed(turn: Turn) -> None:
    """Run every registered erasure step and say what was erased."""
    # the replies already delivered are not "waiting to be sent": record them first (the
    # turn has written nothing yet, so this transaction of its own goes first)
    await turn.services.outbox.flush()
    report = await erase_user(turn.session, turn.user_key, turn.services.erasure)
    turn.conv.forget()  # its row is gone: the turn saves nothing back
    erased = [f"• {_(label)}" for label, count in report if count]
    nothing = [f"• {_(label)}" for label, count in report if not count]
    parts = [_("C'est fait. J'ai effacé :") + "\n" + "\n".join(erased) if erased
             else _("C'est fait. Il n'y avait rien à effacer.")]
    if erased and nothing:
        parts.append(_("Il n'y avait rien à effacer pour :") + "\n" + "\n".join(nothing))
    turn.reply(Reply("\n\n".join(parts)))


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
