"""/console: a one-time link to the operators' console, for admins, validators, referents."""

from __future__ import annotations

import html

from bot.console.access import LINK_MINUTES, identify, issue_link
from bot.console.web import ConsoleConfig
from bot.handlers.router import Router
from bot.handlers.turn import Turn
from vvs.i18n import _
from vvs.ui import Reply


async def console(turn: Turn) -> None:
    """/console (private chat, operators only): a signed link valid 10 minutes, used once."""
    if not turn.is_private:
        turn.reply(Reply(_("Envoyez /console dans une conversation privée avec le bot.")))
        return
    services = turn.services
    operator = await identify(turn.session, services.settings.admin_ids, turn.user_id,
                              turn.first_name or str(turn.user_id))
    if operator is None:
        turn.reply(Reply(_("La console est réservée aux administrateurs, aux validateurs de la "
                           "commission VVS et aux référents départementaux.")))
        return
    config = ConsoleConfig.from_settings(services.settings, services.pseudonym_key)
    if config is None:
        turn.reply(Reply(_("La console n'est pas disponible sur ce serveur (adresse non "
                           "sécurisée) : prévenez l'administrateur technique.")))
        return
    token = await issue_link(turn.session, config.keys, services.clock.now(), operator)
    link = html.escape(config.link(token), quote=True)
    turn.reply(Reply(_("Votre lien personnel vers la console, valable {minutes} minutes et "
                       "utilisable une seule fois. Ne le transmettez pas.").format(
        minutes=LINK_MINUTES) + f'\n\n<a href="{link}">{link}</a>'))


def setup(router: Router) -> None:
    router.command("console")(console)  # not in the physicians' command menu
