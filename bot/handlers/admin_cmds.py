"""Admin commands in the bot: /recharger publishes the content files on disk, /stats shows
the key figures of the last 30 days."""

from __future__ import annotations

import html

from bot.content_service import publish
from bot.handlers.router import Router
from bot.handlers.turn import Turn
from vvs.i18n import _
from vvs.stats import key_figures, render_key_figures
from vvs.ui import Reply

MAX_LISTED_ERRORS = 15


def _refused(turn: Turn) -> bool:
    """Answer a non-admin (ADMIN_IDS) and say so."""
    if turn.services.is_admin(turn.user_id):
        return False
    turn.reply(Reply(_("Cette commande est réservée aux administrateurs.")))
    return True


async def recharger(turn: Turn) -> None:
    """/recharger (admins only): validate and swap the content; refuse a broken edit."""
    if _refused(turn):
        return
    result = await publish(turn.services, actor_key=turn.user_key, origin="command",
                           session=turn.session)
    if result.ok:
        text = _("Contenu rechargé : version {version}.").format(version=result.version)
        if result.warnings:
            text += "\n" + _("{n} avertissement(s) : lancez « vvs-admin content check ».").format(
                n=len(result.warnings))
        turn.reply(Reply(text))
        return
    lines = [html.escape(str(e)) for e in result.errors[:MAX_LISTED_ERRORS]]
    more = len(result.errors) - len(lines)
    text = _("Modification refusée ({n} erreur(s)) ; la version {version} reste en service :"
             ).format(n=len(result.errors), version=result.version) + "\n" + "\n".join(lines)
    if more > 0:
        text += "\n" + _("… et {n} autre(s).").format(n=more)
    turn.reply(Reply(text))


async def stats(turn: Turn) -> None:
    """/stats (admins only): the key figures of the last 30 days, exact counts."""
    if _refused(turn):
        return
    figures = await key_figures(turn.session, turn.services.clock)
    turn.reply(Reply(render_key_figures(figures)))


def setup(router: Router) -> None:
    router.command("recharger", "reload")(recharger)
    router.command("stats")(stats)
