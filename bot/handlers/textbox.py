"""The one text box: free text at the menu, or in the directory, read by `intent.reader`.

The emergency detector has already run (`bot.handlers.runner`). Then the readings of the
text decide: a directory search (kind and/or place, or a resource's name) → the results; a
wish to start a procedure → a button that starts it; a legal question → the knowledge
answer; several plausible readings → one button each (when a question comes first: its
answer, with a button for each other reading); none → the knowledge base's honest
abstention. In the directory, a text that reads as a directory search (or as nothing else)
stays a directory search.
"""

from __future__ import annotations

import html

from annuaire.model import KINDS, Directory
from bot.handlers import annuaire, flows, knowledge
from bot.handlers.router import Router
from bot.handlers.turn import Turn
from intent.model import DirectoryReading, Intent, ProcedureReading, QuestionReading, Reading
from intent.reader import read
from knowledge.model import KnowledgeBase
from knowledge.render import short, title
from vvs.i18n import _, current_language
from vvs.ui import Button, Reply, menu_button


def _read(turn: Turn) -> Intent:
    """The readings of the text (none when the knowledge set is not in service)."""
    content = turn.services.content
    kb = content.get("knowledge", KnowledgeBase)
    if kb is None:
        return Intent()
    return read(turn.text, kb, content.get("annuaire", Directory),
                flows.flows_in_service(turn).flows, top=knowledge.TOP)


async def at_menu(turn: Turn) -> None:
    """Free text when nothing is in progress: act on its reading, or offer its readings."""
    knowledge.warn_identity(turn)
    await _act(turn, _read(turn))


async def in_directory(turn: Turn) -> None:
    """Free text in the directory: a search there, unless it only reads as a question or a
    procedure (then as at the menu)."""
    intent = _read(turn)
    reading = next((r for r in intent.readings if isinstance(r, DirectoryReading)), None)
    if reading is not None and reading.kind is not None:  # a kind named: this search's kind
        await annuaire.show_reading(turn, reading)
    elif reading is not None or not intent.readings:
        await annuaire.search_text(turn)
    else:
        turn.conv.idle()
        knowledge.warn_identity(turn)
        await _act(turn, intent)


async def _act(turn: Turn, intent: Intent) -> None:
    best = intent.best
    if intent.unsure and isinstance(best, QuestionReading):
        # a question first: its answer, the other readings one tap away
        knowledge.answer(turn, *((_button(turn, r),) for r in intent.readings[1:]),
                         result=intent.search)
    elif intent.unsure:
        _offer(turn, intent.readings)
    elif isinstance(best, DirectoryReading):
        await annuaire.show_reading(turn, best)
    elif isinstance(best, ProcedureReading):
        _offer(turn, (best,))
    else:  # a question, or nothing plausible: the knowledge answer or its abstention
        knowledge.answer(turn, result=intent.search)


def _offer(turn: Turn, readings: tuple[Reading, ...]) -> None:
    """One button per reading (a single procedure is offered, never started unasked)."""
    if len(readings) == 1 and isinstance(readings[0], ProcedureReading):
        text = _("Voulez-vous commencer cette démarche ?")
    else:
        text = _("Je peux comprendre votre message de plusieurs façons. Que cherchez-vous ?")
    rows = tuple((_button(turn, reading),) for reading in readings)
    turn.reply(Reply(html.escape(text, quote=False), (*rows, (menu_button(),))))


def _button(turn: Turn, reading: Reading) -> Button:
    if isinstance(reading, ProcedureReading):
        flow = flows.flows_in_service(turn).get(reading.flow)
        name = flow.title_in(current_language()) if flow else reading.flow
        return Button(_("▶️ Démarche : {title}").format(title=name), f"f:s:{reading.flow}")
    if isinstance(reading, QuestionReading):
        entry = turn.services.content.of("knowledge", KnowledgeBase).entries[reading.entry]
        return Button("📚 " + short(title(entry)), f"k:e:{reading.entry}")
    return Button("📍 " + _directory_label(turn, reading), annuaire.reading_data(reading))


def _directory_label(turn: Turn, reading: DirectoryReading) -> str:
    if reading.entry is not None:
        entry = turn.services.content.of("annuaire", Directory).get(reading.entry)
        if entry is not None:
            return str(entry.label)
    kind = _(KINDS[reading.kind]) if reading.kind is not None else _("Annuaire")
    if reading.place is not None:
        return _("{kind} près de {place}").format(kind=kind, place=reading.place.name)
    return kind


def setup(router: Router) -> None:
    router.on_idle_text(at_menu)
    router.mode(annuaire.MODE, text=in_directory)
