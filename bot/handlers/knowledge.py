"""Legal questions: the knowledge answer to a text read as a question; `k:` buttons.

Every knowledge screen ends with a way back: to the procedure in progress when the sheet was
opened from it (its 📚 buttons), else to the main menu."""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.handlers import flows
from bot.handlers.router import Router
from bot.handlers.turn import Turn
from knowledge.model import KnowledgeBase
from knowledge.render import handle_callback, render_search, render_themes
from vvs.i18n import N_, _
from vvs.identity import detect_identity, identity_warning
from vvs.state import IDLE
from vvs.ui import Button, Reply, menu_button, with_rows

TOP = 4


@dataclass(frozen=True)
class Suggestions:
    """Idle after a question: the other entries it matched (for « pas ma question »)."""

    sugg: tuple[str, ...] = ()


def _kb(turn: Turn) -> KnowledgeBase:
    return turn.services.content["knowledge"]


def way_back(turn: Turn, reply: Reply) -> Reply:
    """The reply with its way back: « Retour à la démarche » while a procedure is in
    progress (the sheet was opened from it), else « Menu »."""
    if turn.conv.mode == flows.MODE:  # its way back is the procedure, not a theme list
        kept = tuple(row for row in (tuple(b for b in row if not _to_themes(b))
                                     for row in reply.buttons) if row)
        return with_rows(replace(reply, buttons=kept),
                         (Button(_("⬅️ Retour à la démarche"), "f:v"),))
    return with_rows(reply, (menu_button(),))


def _to_themes(button: Button) -> bool:
    return button.data == "k:t" or (button.data or "").startswith("k:theme:")


def warn_identity(turn: Turn) -> None:
    """Say so when the text seems to hold a patient's identity (it is never kept)."""
    findings = detect_identity(turn.text)
    if findings:
        turn.reply(Reply(identity_warning(findings)))


async def ask(turn: Turn) -> None:
    """A free-text question: the best sourced entry, or an honest abstention."""
    warn_identity(turn)
    answer(turn)


def answer(turn: Turn, *others: tuple[Button, ...]) -> None:
    """The knowledge answer to `turn.text` (the identity check is the caller's), with the
    `others` rows (the text's other plausible readings) before the way back."""
    result = _kb(turn).search(turn.text, top=TOP)
    ids = [entry_id for entry_id, _score in result.results]
    if turn.conv.mode == IDLE:
        turn.conv.set_mode(IDLE, Suggestions(tuple(ids[1:] if result.answered else ids)))
    turn.reply(way_back(turn, with_rows(render_search(_kb(turn), result), *others)))


async def invite(turn: Turn) -> None:
    """Menu item: how to ask, and the themes to browse."""
    turn.conv.idle()
    turn.reply(Reply(_(
        "Écrivez votre question en quelques mots, par exemple « ma patiente refuse que je "
        "signale, que faire ? » ou « c'est quoi l'ITT ? ». Ne donnez aucune information "
        "permettant d'identifier un patient."),
        ((Button(_("📚 Parcourir les thèmes"), "k:t"),), (menu_button(),))))


async def themes(turn: Turn) -> None:
    """/fiches: every entry, by theme."""
    turn.reply(way_back(turn, render_themes(_kb(turn))))


async def on_button(turn: Turn, args: list[str]) -> None:
    """`k:` buttons (parsed and validated by the knowledge renderer)."""
    state = turn.conv.state_of(Suggestions, IDLE)
    turn.reply(way_back(turn, handle_callback(_kb(turn), "k:" + ":".join(args),
                                              state.sugg if state else ())))


def setup(router: Router) -> None:
    router.mode(IDLE, state=Suggestions)
    router.menu_item("ask", N_("⚖️ Poser une question juridique"), order=40)(invite)
    router.command("question", "fiches", "themes", description=N_("Questions juridiques"))(
        themes)
    router.button("k")(on_button)
