"""Legal questions: the knowledge answer to a text read as a question; `k:` buttons; a
question sent to the editors' queue (`knowledge.queue`), with the physician's consent.

Every knowledge screen ends with a way back: to the procedure in progress when the sheet was
opened from it (its 📚 buttons), else to the main menu."""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.handlers import common, flows
from bot.handlers.router import Router
from bot.handlers.turn import Turn
from knowledge import queue
from knowledge.model import KnowledgeBase
from knowledge.queue import EDITORS, EditorsDraft
from knowledge.render import (
    EDITOR_ACTIONS,
    EDITORS_WRITE,
    EDITORS_YES,
    Action,
    ask_editors_text,
    confirm_editors,
    editors_declined,
    editors_refused,
    editors_sent,
    editors_too_long,
    handle_callback,
    parse_callback,
    render_search,
    render_themes,
)
from knowledge.search import SearchResult
from vvs.errors import StaleAction
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
        # (nor the editors' queue, for a sheet the procedure gave, not a question asked)
        kept = tuple(row for row in (tuple(b for b in row if not _to_themes(b)
                                           and not _to_editors(b)) for row in reply.buttons)
                     if row)
        return with_rows(replace(reply, buttons=kept),
                         (Button(_("⬅️ Retour à la démarche"), "f:v"),))
    return with_rows(reply, (menu_button(),))


def _to_themes(button: Button) -> bool:
    return button.data == "k:t" or (button.data or "").startswith("k:theme:")


def _to_editors(button: Button) -> bool:
    return (button.data or "").startswith(("k:nr:", "k:ed"))


def warn_identity(turn: Turn) -> None:
    """Say so when the text seems to hold a patient's identity (it is never kept)."""
    findings = detect_identity(turn.text)
    if findings:
        turn.reply(Reply(identity_warning(findings)))


async def ask(turn: Turn) -> None:
    """A free-text question: the best sourced entry, or an honest abstention."""
    warn_identity(turn)
    answer(turn)


def answer(turn: Turn, *others: tuple[Button, ...], result: SearchResult | None = None) -> None:
    """The knowledge answer to `turn.text` (the identity check is the caller's), with the
    `others` rows (the text's other plausible readings) before the way back; `result`, the
    search of the text when the caller made it (its best TOP entries at least)."""
    if result is None:
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
    data = "k:" + ":".join(args)
    action = parse_callback(data, _kb(turn))
    if action.kind in EDITOR_ACTIONS:
        await _editors(turn, action)
        return
    state = turn.conv.state_of(Suggestions, IDLE)
    turn.reply(way_back(turn, handle_callback(_kb(turn), data, state.sugg if state else ())))


# -- the editors' queue ------------------------------------------------------------------------
def _days(turn: Turn) -> int:
    return turn.services.settings.question_retention_days


def _draft(turn: Turn) -> EditorsDraft | None:
    return turn.conv.state_of(EditorsDraft, EDITORS)


async def _editors(turn: Turn, action: Action) -> None:
    if action.kind == EDITORS_WRITE:
        if not turn.is_private:
            turn.reply(Reply(_("Faites cela dans une conversation privée avec le bot.")))
            return
        origin = queue.ANSWER if action.arg else queue.ABSTENTION
        turn.conv.set_mode(EDITORS, EditorsDraft(origin, action.arg))
        turn.reply(ask_editors_text())
    elif action.kind == EDITORS_YES:
        await _send(turn)
    else:  # « Non » or « Annuler »: nothing is kept, whatever was written
        if turn.conv.mode == EDITORS:
            turn.conv.idle()
        turn.reply(with_rows(editors_declined(), (menu_button(),)))


async def on_editors_text(turn: Turn) -> None:
    """The question for the editors: checked (an identity is refused and nothing of it is
    kept), then shown back for an explicit « Oui »; until then it waits in the state."""
    draft = _draft(turn)
    if draft is None:
        raise StaleAction(EDITORS)
    try:
        text = queue.check(turn.text)
    except queue.IdentityInText as exc:
        turn.conv.set_mode(EDITORS, replace(draft, text=""))
        turn.reply(editors_refused(exc.findings))
        return
    except queue.TooLong:
        turn.conv.set_mode(EDITORS, replace(draft, text=""))
        turn.reply(editors_too_long(queue.MAX_TEXT))
        return
    except queue.Empty:
        turn.reply(ask_editors_text())
        return
    turn.conv.set_mode(EDITORS, replace(draft, text=text))
    turn.reply(confirm_editors(text, _days(turn)))


async def _send(turn: Turn) -> None:
    draft = _draft(turn)
    if draft is None or not draft.text:
        raise StaleAction(EDITORS_YES)
    nearest = [entry_id for entry_id, _score in _kb(turn).search(draft.text, top=TOP).results]
    try:
        await queue.submit(turn.session, turn.services.clock, key=turn.services.pseudonym_key,
                           user_key=turn.user_key, draft=draft, nearest=nearest)
    except (queue.IdentityInText, queue.TooLong, queue.Empty):  # a state from older rules
        turn.conv.set_mode(EDITORS, replace(draft, text=""))
        turn.reply(ask_editors_text())
        return
    turn.conv.idle()  # the text leaves the state: it is in the queue now
    turn.reply(with_rows(editors_sent(), (menu_button(),)))


async def show_editors_step(turn: Turn) -> None:
    """The step again (after a stale button): the question to write, or to confirm."""
    draft = _draft(turn)
    if draft is None:
        turn.conv.idle()
        turn.reply(common.main_menu(turn))
    elif draft.text:
        turn.reply(confirm_editors(draft.text, _days(turn)))
    else:
        turn.reply(ask_editors_text())


def setup(router: Router) -> None:
    router.mode(IDLE, state=Suggestions)
    router.mode(EDITORS, state=EditorsDraft, text=on_editors_text, rerender=show_editors_step)
    router.menu_item("ask", N_("⚖️ Poser une question juridique"), order=40)(invite)
    router.command("question", "fiches", "themes", description=N_("Questions juridiques"))(
        themes)
    router.button("k")(on_button)
