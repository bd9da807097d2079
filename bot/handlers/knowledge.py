"""Legal questions: idle free text is a question for the knowledge base; `k:` buttons."""

from __future__ import annotations

from dataclasses import dataclass

from bot.handlers.router import Router
from bot.handlers.turn import Turn
from knowledge.model import KnowledgeBase
from knowledge.render import handle_callback, render_search, render_themes
from vvs.i18n import N_, _
from vvs.identity import detect_identity, identity_warning
from vvs.state import IDLE
from vvs.ui import Button, Reply

TOP = 4


@dataclass(frozen=True)
class Suggestions:
    """Idle after a question: the other entries it matched (for « pas ma question »)."""

    sugg: tuple[str, ...] = ()


def _kb(turn: Turn) -> KnowledgeBase:
    return turn.services.content["knowledge"]


async def ask(turn: Turn) -> None:
    """A free-text question: the best sourced entry, or an honest abstention."""
    findings = detect_identity(turn.text)
    if findings:
        turn.reply(Reply(identity_warning(findings)))
    result = _kb(turn).search(turn.text, top=TOP)
    ids = [entry_id for entry_id, _score in result.results]
    if turn.conv.mode == IDLE:
        turn.conv.set_mode(IDLE, Suggestions(tuple(ids[1:] if result.answered else ids)))
    turn.reply(render_search(_kb(turn), result))


async def invite(turn: Turn) -> None:
    """Menu item: how to ask, and the themes to browse."""
    turn.conv.idle()
    turn.reply(Reply(_(
        "Écrivez votre question en quelques mots, par exemple « ma patiente refuse que je "
        "signale, que faire ? » ou « c'est quoi l'ITT ? ». Ne donnez aucune information "
        "permettant d'identifier un patient."),
        ((Button(_("📚 Parcourir les thèmes"), "k:t"),),)))


async def themes(turn: Turn) -> None:
    """/fiches: every entry, by theme."""
    turn.reply(render_themes(_kb(turn)))


async def on_button(turn: Turn, args: list[str]) -> None:
    """`k:` buttons (parsed and validated by the knowledge renderer)."""
    state = turn.conv.state_of(Suggestions, IDLE)
    turn.reply(handle_callback(_kb(turn), "k:" + ":".join(args), state.sugg if state else ()))


def setup(router: Router) -> None:
    router.on_idle_text(ask)
    router.mode(IDLE, state=Suggestions)
    router.menu_item("ask", N_("⚖️ Poser une question juridique"), order=40)(invite)
    router.command("question", "fiches", "themes", description=N_("Questions juridiques"))(
        themes)
    router.button("k")(on_button)
