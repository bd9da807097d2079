"""The flow engine: pure functions of (snapshot, state, callback data) → (state, Reply).

The state is a `FlowState`, a frozen dataclass the bot stores per user (the flow mode's
state, written by `vvs.state` as JSON), so a restart or another replica continues the same
conversation:

    FlowState(origin="ip", flow="mineur", step="residence-signalement",
              path=("ip:urgence", "ip:infraction"), answers={"ip:urgence": 1, ...},
              answered_dept="93", home="93")

`step` is a step id or, at the end, an outcome id. Callback data (prefix `f`):
`f:s:<flow>` start, `f:c:<step>:<n>` choose, `f:n:<step>` continue, `f:d:<step>:<code>`
département, `f:b:<step>` back, `f:r` restart, `f:x` quit, `f:m` « Menu » on an outcome
(the flow is over: quit, the caller shows the menu), `f:v` show the current step again (the
way back from a sheet opened in the flow), `f:doc:<kind>` draft, `f:rec` decision record.
Anything that does not fit the state raises `StaleAction`. A text typed at a step is read
as one of its buttons by `typed` (numbers, « oui »/« non », labels, départements).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Protocol, runtime_checkable

from annuaire.finder import idf_department
from annuaire.model import Directory
from bot.flows import documents
from bot.flows.model import DEPARTMENTS, OTHER_DEPARTMENT, Flow, Flows, Outcome, Step
from bot.flows.resolvers import RESOLVERS, AddresseeLine, present
from vvs.answers import choice_index, department_in, fold
from vvs.content import Snapshot
from vvs.departements import IDF_DEPARTMENT_NAMES
from vvs.errors import StaleAction
from vvs.events import DocumentGenerated, Event, FlowOutcome, FlowQuit, FlowStarted, FlowStep
from vvs.i18n import N_, _, current_language
from vvs.ui import Button, Reply, menu_button

EMERGENCY = Button(N_("🚨 Urgence : numéros"), "m:urg")
# Typed words that stand for the navigation and « Continuer » buttons (folded).
BACK_WORDS = frozenset(("retour", "back", "precedent", "revenir"))
RESTART_WORDS = frozenset(("recommencer", "restart", "reprendre au debut"))
CONTINUE_WORDS = frozenset(("continuer", "continue", "suite", "suivant", "ok", "d accord",
                            "oui", "yes", "next", "1"))
OTHER_WORDS = frozenset(("autre", "other", "hors ile de france", "outside ile de france"))
DOC_LABELS = {"signalement": N_("📄 Modèle de signalement"),
              "alerte-administrative": N_("📄 Modèle d'alerte à une autorité administrative"),
              "ip": N_("📄 Modèle d'information préoccupante")}
PRIVACY = N_("Ne transmettez jamais à l'assistant l'identité du patient ou de sa famille.")
# Shown (in English) at the top of a screen of a flow whose English nobody has validated yet.
UNVALIDATED = N_("Traduction anglaise pas encore validée ; le texte français fait foi.")


@dataclass(frozen=True)
class FlowState:
    """Where a physician stands in a procedure. Checked by the engine against the flows in
    service at every use (`StaleAction` when the content changed under it)."""

    # 2: the typed fields below; 1 was {"state": <the engine's dict>, "asked_dept": …}
    VERSION: ClassVar[int] = 2

    origin: str  # the flow started (« Recommencer » goes back to its start)
    flow: str  # the flow of the current node (a `goto` step moves into another flow)
    step: str  # a step id, or at the end an outcome id
    path: tuple[str, ...] = ()  # "<flow>:<step>" of each step answered, in order
    answers: Mapping[str, int | str] = field(default_factory=dict)  # ref → choice / code
    answered_dept: str | None = None  # a département answered here, or OTHER_DEPARTMENT
    home: str | None = None  # the physician's remembered département (a suggestion)

    @property
    def department(self) -> str | None:
        """The Île-de-France département answered in the procedure (None: not yet, or
        outside the region): the turn's events take it before the remembered one."""
        code = self.answered_dept
        return code if code in DEPARTMENTS else None

    @classmethod
    def upgrade(cls, version: int, fields: dict[str, Any]) -> dict[str, Any]:
        """Version 1's fields as this version's: a physician mid-way through a procedure
        during a deploy keeps their place (`vvs.state.decode`)."""
        engine = fields.get("state")
        if version != 1 or not isinstance(engine, dict) or engine.get("v") != 1:
            raise ValueError("not a version-1 flow state")
        renamed = {"origin": "origin", "flow": "flow", "step": "step", "path": "path",
                   "answers": "answers", "department": "answered_dept", "home": "home"}
        return {new: engine[old] for old, new in renamed.items() if old in engine}


@runtime_checkable
class KnowledgeTitles(Protocol):
    """What the engine reads of a knowledge snapshot: its entries (id → entry with a title)."""

    @property
    def entries(self) -> Mapping[str, object]: ...


@dataclass(frozen=True)
class FlowEngine:
    """Runs the flows of one content snapshot; holds no per-user data."""

    flows: Flows
    directory: Directory | None = None
    knowledge: KnowledgeTitles | None = None

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot | Mapping[str, object]) -> FlowEngine:
        """Build from a `vvs.content.Snapshot` (or any mapping with "flows")."""
        sets = snapshot.sets if isinstance(snapshot, Snapshot) else snapshot
        flows, directory, knowledge = sets["flows"], sets.get("annuaire"), sets.get("knowledge")
        if not isinstance(flows, Flows):
            raise TypeError(f"the flows set is a {type(flows).__name__}, not Flows")
        return cls(flows, directory if isinstance(directory, Directory) else None,
                   knowledge if isinstance(knowledge, KnowledgeTitles) else None)

    # -- public API -------------------------------------------------------------------------
    def menu(self) -> Reply:
        """Buttons that start each flow."""
        buttons = tuple((Button(f.title_in(current_language()), f"f:s:{f.id}"),)
                        for f in self.flows.flows.values())
        return Reply(_("Quel parcours ?"), (*buttons, (_button(EMERGENCY),)))

    def start(self, flow_id: str, department: str | None = None) -> tuple[FlowState, Reply]:
        """Begin `flow_id`; `department` is the physician's remembered one (a suggestion)."""
        flow = self.flows.get(flow_id)
        if flow is None:
            raise StaleAction(f"unknown flow {flow_id!r}")
        state = self._follow(FlowState(
            origin=flow.id, flow=flow.id, step=flow.start,
            home=department if department in DEPARTMENTS else None))
        return state, self._reply(state, FlowStarted(flow.id), self._reached(state))

    def handle(self, state: FlowState | None, data: str, department: str | None = None,
               today: dt.date | None = None) -> tuple[FlowState | None, Reply]:
        """Apply one button press; return the new state (None when the flow is closed)."""
        parts = data.split(":")
        if len(parts) < 2 or parts[0] != "f":
            raise StaleAction(f"not flow data: {data!r}")
        if parts[1] == "s" and len(parts) == 3:
            return self.start(parts[2], department)
        state = self._checked(state)
        if department in DEPARTMENTS:
            state = replace(state, home=department)
        action, args = parts[1], parts[2:]
        if action == "r" and not args:
            return self.start(state.origin, state.home)
        if action == "x" and not args:  # leaving is counted by the caller (`left`)
            return None, Reply(_("Parcours terminé. Vous pouvez le reprendre depuis le menu."),
                               ((menu_button(),), (_button(EMERGENCY),)))
        if action == "v" and not args:
            return state, self._reply(state)
        if action == "m" and not args and self.at_outcome(state):
            return None, Reply("")  # the outcome was counted; nothing is left
        if action == "doc" and len(args) == 1 and args[0] != "record":
            return state, self._document(state, args[0], today)
        if action == "rec" and not args:
            return state, self._document(state, "record", today)
        if action == "b" and len(args) == 1:
            return self._back(state, args[0])
        return self._answer(state, action, args)

    def left(self, state: FlowState | None) -> FlowQuit | None:
        """What leaving the flow now means for the statistics: a quit at the current step,
        or nothing when it stands at an outcome (or the state no longer reads)."""
        try:
            checked = self._checked(state)
        except StaleAction:
            return None
        flow, node = self._node(checked)
        if isinstance(node, Outcome):
            return None
        return FlowQuit(flow.id, node.id, checked.answered_dept)

    def typed(self, state: FlowState | None, text: str) -> str | None:
        """The button data a text typed at the current step stands for (« oui », « 2 »,
        « 93 », « seine saint denis », a label), or None when it fits no single button."""
        state = self._checked(state)
        _flow, node = self._node(state)
        words = fold(text)
        if words in BACK_WORDS and state.path:
            return f"f:b:{state.step}"
        if words in RESTART_WORDS:
            return "f:r"
        if isinstance(node, Outcome):
            return None
        if node.type == "choice":
            shown = node.shown_in(current_language()).choices
            index = choice_index(text, [c.label for c in shown])
            return None if index is None else f"f:c:{node.id}:{index}"
        if node.type == "info":
            return f"f:n:{node.id}" if words in CONTINUE_WORDS else None
        if node.type == "department":
            code = OTHER_DEPARTMENT if words in OTHER_WORDS else (
                department_in(text) or idf_department(self.directory, text))
            return None if code is None else f"f:d:{node.id}:{code}"
        return None

    def at_outcome(self, state: FlowState | None) -> bool:
        """The flow has reached one of its outcomes (its steps are all answered)."""
        return isinstance(self._node(self._checked(state))[1], Outcome)

    def render(self, state: FlowState) -> Reply:
        """Re-show the current step or outcome (raises StaleAction if it no longer exists)."""
        return self._reply(self._checked(state))

    def resume(self, state: FlowState | None, department: str | None = None
               ) -> tuple[FlowState, Reply]:
        """Re-show the current step; restart the flow if the content changed under it."""
        try:
            checked = self._checked(state)
            return checked, self._reply(checked)
        except StaleAction:
            origin = state.origin if state is not None else None
            if origin is None or origin not in self.flows:
                raise
            new, reply = self.start(origin, department)
            note = _("Ce parcours a été mis à jour : il reprend au début.")
            return new, Reply(f"<i>{note}</i>\n\n{reply.text}", reply.buttons,
                              events=reply.events)

    # -- transitions ------------------------------------------------------------------------
    def _answer(self, state: FlowState, action: str, args: list[str]
                ) -> tuple[FlowState, Reply]:
        flow, node = self._node(state)
        if not args or args[0] != state.step or not isinstance(node, Step):
            raise StaleAction("stale step")
        ref = f"{flow.id}:{node.id}"
        if action == "c" and node.type == "choice" and len(args) == 2:
            index = _index(args[1], len(node.choices))
            state = replace(state, answers={**state.answers, ref: index})
            return self._advance(state, node.choices[index].next)
        if action == "n" and node.type == "info" and len(args) == 1 and node.next:
            return self._advance(state, node.next)
        if action == "d" and node.type == "department" and len(args) == 2 and node.next:
            code = args[1]
            if code not in DEPARTMENTS and code != OTHER_DEPARTMENT:
                raise StaleAction(f"unknown département {code!r}")
            state = replace(state, answers={**state.answers, ref: code}, answered_dept=code)
            return self._advance(state, node.next)
        raise StaleAction(f"action {action!r} does not fit step {node.id!r}")

    def _advance(self, state: FlowState, target: str) -> tuple[FlowState, Reply]:
        state = self._follow(replace(state, path=(*state.path, f"{state.flow}:{state.step}"),
                                     step=target))
        flow, node = self._node(state)
        if isinstance(node, Outcome):
            return state, self._reply(state, FlowOutcome(flow.id, node.id, state.origin,
                                                         state.answered_dept))
        return state, self._reply(state, self._reached(state))

    def _reached(self, state: FlowState) -> FlowStep | None:
        """The step the state stands at, as an event (None at an outcome)."""
        flow, node = self._node(state)
        if isinstance(node, Outcome):
            return None
        return FlowStep(flow.id, node.id, state.answered_dept)

    def _follow(self, state: FlowState) -> FlowState:
        """Jump through `goto` steps into the other flow (the jump itself is not a stop)."""
        for _hop in range(len(self.flows.flows) + 1):
            _flow, node = self._node(state)
            if not (isinstance(node, Step) and node.type == "goto" and node.goto):
                return state
            flow_id, step_id = node.goto
            state = replace(state, flow=flow_id, step=step_id)
        raise StaleAction("goto loop")

    def _back(self, state: FlowState, at: str) -> tuple[FlowState, Reply]:
        if at != state.step or not state.path:
            raise StaleAction("nothing to go back to")
        previous = state.path[-1]
        flow_id, _sep, step_id = previous.partition(":")
        state = replace(state, flow=flow_id, step=step_id, path=state.path[:-1],
                        answers={ref: answer for ref, answer in state.answers.items()
                                 if ref != previous})  # that question is asked again
        self._node(state)
        return state, self._reply(state)

    # -- validation -------------------------------------------------------------------------
    def _checked(self, state: FlowState | None) -> FlowState:
        """The state when a flow is in progress and its nodes still exist, else StaleAction
        (its shape was checked when the store read it)."""
        if state is None:
            raise StaleAction("no flow in progress")
        if state.origin not in self.flows:
            raise StaleAction("flow content changed")
        self._node(state)
        for ref in state.path:
            flow_id, _sep, step_id = ref.partition(":")
            flow = self.flows.get(flow_id)
            if flow is None or step_id not in flow.steps:
                raise StaleAction("flow content changed")
        return state

    def _node(self, state: FlowState) -> tuple[Flow, Step | Outcome]:
        flow = self.flows.get(state.flow)
        node = flow.node(state.step) if flow else None
        if flow is None or node is None:
            raise StaleAction("flow content changed")
        return flow, node

    # -- rendering --------------------------------------------------------------------------
    def _reply(self, state: FlowState, *events_or_none: Event | None) -> Reply:
        flow, node = self._node(state)
        events = tuple(e for e in events_or_none if e is not None)
        if isinstance(node, Outcome):
            return Reply(self._outcome_text(node, state, flow),
                         self._outcome_buttons(node, state, flow), events=events)
        return Reply(self._step_text(flow, node, state), self._step_buttons(node, state),
                     events=events)

    def _step_text(self, flow: Flow, step: Step, state: FlowState) -> str:
        language = current_language()
        return (f"{_notice(flow, language)}<b>{_esc(flow.title_in(language))}</b>\n\n"
                f"{fmt(step.shown_in(language).text)}")

    def _step_buttons(self, step: Step, state: FlowState) -> tuple[tuple[Button, ...], ...]:
        rows: list[tuple[Button, ...]] = []
        if step.type == "choice":
            choices = step.shown_in(current_language()).choices
            rows += [(Button(c.label, f"f:c:{step.id}:{i}"),) for i, c in enumerate(choices)]
        elif step.type == "info":
            rows.append((Button(_("Continuer ➡️"), f"f:n:{step.id}"),))
        elif step.type == "department":
            rows += self._department_rows(step, state.home)
        rows.append(self._nav(step.id, state))
        rows.append((_button(EMERGENCY),))
        return tuple(rows)

    def _department_rows(self, step: Step, home: str | None) -> list[tuple[Button, ...]]:
        buttons = [Button(("📍 " if code == home else "") + f"{code} {IDF_DEPARTMENT_NAMES[code]}",
                          f"f:d:{step.id}:{code}") for code in DEPARTMENTS]
        rows = [tuple(buttons[i:i + 2]) for i in range(0, len(buttons), 2)]
        rows.append((Button(_("Autre / hors Île-de-France"),
                            f"f:d:{step.id}:{OTHER_DEPARTMENT}"),))
        return rows

    def _nav(self, at: str, state: FlowState) -> tuple[Button, ...]:
        restart = Button(_("🔄 Recommencer"), "f:r")
        if not state.path:
            return (restart,)
        return (Button(_("⬅️ Retour"), f"f:b:{at}"), restart)

    def addressees(self, outcome: Outcome, department: str | None) -> tuple[AddresseeLine, ...]:
        """Resolve the outcome's addressee with the directory snapshot."""
        return RESOLVERS[outcome.addressee](self.directory, department)

    def _outcome_text(self, outcome: Outcome, state: FlowState, flow: Flow) -> str:
        department = state.answered_dept
        language = current_language()
        outcome = outcome.shown_in(language)
        parts = [f"{_notice(flow, language)}<b>{_esc(outcome.title)}</b>", fmt(outcome.now)]
        lines = self.addressees(outcome, department)
        if lines:
            parts.append(f"<b>{_('Destinataire')}</b>\n"
                         + addressee_html(lines, department, outcome.referent))
        for title, body in ((N_("Comment transmettre"), outcome.send),
                            (N_("À écrire"), outcome.write),
                            (N_("À ne pas écrire"), outcome.avoid)):
            if body:
                parts.append(f"<b>{_(title)}</b>\n{fmt(body)}")
        basis = "\n".join(f"• {_esc(t)}" for _i, t in self._basis(outcome))
        parts.append(f"<b>{_('Base légale')}</b>\n{basis}")
        if flow.patient:  # not for a physician who is the victim
            parts.append(f"<i>{_(PRIVACY)}</i>")
        return "\n\n".join(parts)

    def _outcome_buttons(self, outcome: Outcome, state: FlowState,
                         flow: Flow) -> tuple[tuple[Button, ...], ...]:
        rows: list[tuple[Button, ...]] = [(Button(_(DOC_LABELS[d]), f"f:doc:{d}"),)
                                          for d in outcome.documents if d in DOC_LABELS]
        if "record" in outcome.documents:
            rows.append((Button(_("🗂 Relevé de décision (PDF)"), "f:rec"),))
        if outcome.referent:
            category = outcome.category or flow.category
            # the département answered here is the request's: never asked again, never
            # replaced by a remembered one
            dept = state.answered_dept
            data = f"e:new:{category}:{dept}" if dept in DEPARTMENTS else f"e:new:{category}"
            rows.append((Button(_("🤝 Être contacté par un référent"), data),))
        rows += [(Button("📚 " + _short(title), f"k:more:{entry_id}"),)
                 for entry_id, title in self._basis(outcome)]
        rows.append((*self._nav(outcome.id, state), Button(_("✅ Terminer"), "f:x")))
        # « Menu » here ends the flow (f:m) before showing the menu: the outcome is its end
        rows.append((Button(menu_button().label, "f:m"), _button(EMERGENCY)))
        return tuple(rows)

    def _basis(self, outcome: Outcome, language: str | None = None) -> list[tuple[str, str]]:
        """(entry id, title) of the outcome's legal basis, titles in `language` (default:
        the physician's; the PDFs ask for French)."""
        language = language or current_language()
        return [(entry_id, self._title(entry_id, language)) for entry_id in outcome.basis]

    def _title(self, entry_id: str, language: str) -> str:
        entries = getattr(self.knowledge, "entries", None)
        entry = entries.get(entry_id) if isinstance(entries, Mapping) else None
        if isinstance(entry, Mapping):
            title = entry.get("title")
        elif entry is not None and hasattr(entry, "title_in"):
            title = entry.title_in(language)
        else:
            title = getattr(entry, "title", None)
        return str(title) if title else entry_id

    # -- documents --------------------------------------------------------------------------
    def _document(self, state: FlowState, kind: str, today: dt.date | None) -> Reply:
        flow, node = self._node(state)
        if not isinstance(node, Outcome) or kind not in node.documents:
            raise StaleAction(f"document {kind!r} not offered here")
        ctx = documents.DocumentContext(
            flow_title=flow.title, outcome=node,
            addressees=self.addressees(node, state.answered_dept),
            basis=tuple(self._basis(node, "fr")), answers=self._answers(state),
            department=state.answered_dept, today=today or dt.date.today())
        doc = documents.build(kind, ctx)
        # The caption travels with the document: no separate text (it showed twice).
        return Reply("", documents=(doc,), events=(DocumentGenerated(flow.id, node.id, kind,
                                                        state.answered_dept),))

    def _answers(self, state: FlowState) -> tuple[tuple[str, str], ...]:
        """(question, answer) for every answered step on the path, in order."""
        out = []
        for ref in state.path:
            flow_id, _sep, step_id = ref.partition(":")
            step = self.flows[flow_id].steps[step_id]
            answer = state.answers.get(ref)
            if step.type == "choice" and isinstance(answer, int) and answer < len(step.choices):
                out.append((step.text, step.choices[answer].label))
            elif step.type == "department" and answer is not None:
                out.append((step.text, department_label(str(answer))))
        return tuple(out)


# -- helpers -------------------------------------------------------------------------------
def fmt(text: str) -> str:
    """Flow text → Telegram HTML: escape, `**bold**`, "- " bullets."""
    escaped = _esc(text.strip())
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", escaped)
    return re.sub(r"(?m)^- ", "• ", escaped)


def _notice(flow: Flow, language: str) -> str:
    """The line that opens a screen shown from a translation nobody has validated yet."""
    return f"<i>⚠️ {_(UNVALIDATED)}</i>\n\n" if flow.unvalidated_in(language) else ""


def department_label(code: str) -> str:
    """"93 Seine-Saint-Denis", or the "autre" label."""
    if code in IDF_DEPARTMENT_NAMES:
        return f"{code} {IDF_DEPARTMENT_NAMES[code]}"
    return _("Autre / hors Île-de-France")


def addressee_html(lines: tuple[AddresseeLine, ...], department: str | None,
                   referent: bool = False) -> str:
    """Addressee block: each service, only the channels fit for the outcome, and what still
    works when none is known."""
    out = []
    for row in present(lines, department, referent=referent):
        text = _esc(row.text)
        if row.level == "role":
            out.append(f"<u>{text}</u>")
        elif row.level == "contact":
            out.append(f"• {text}")
        elif row.level == "note":
            out.append(f"  <i>{text}</i>")
        else:
            out.append(f"  {text}")
    return "\n".join(out)


def _index(raw: str, size: int) -> int:
    if not raw.isdigit() or int(raw) >= size:
        raise StaleAction(f"choice {raw!r} out of range")
    return int(raw)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _esc(text: str) -> str:
    """Escape for Telegram HTML (apostrophes need no escaping outside attributes)."""
    return html.escape(text, quote=False)


def _button(button: Button) -> Button:
    """Translate a module-level button label at display time."""
    return Button(_(button.label), button.data, button.url)
