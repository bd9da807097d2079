"""Flow model: frozen steps, choices and outcomes, as validated from `bot/flows/data/*.yaml`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from vvs.departements import IDF_DEPARTMENTS

# The départements a `department` step offers, in this order, then "autre" (OTHER_DEPARTMENT).
DEPARTMENTS = IDF_DEPARTMENTS
OTHER_DEPARTMENT = "x"
STEP_TYPES = ("choice", "info", "department", "goto")


@dataclass(frozen=True)
class Choice:
    """One button of a choice step."""

    label: str
    next: str


@dataclass(frozen=True)
class Step:
    """A question (`choice`), a message (`info`), a département question, or a jump (`goto`)."""

    id: str
    type: str
    text: str = ""
    choices: tuple[Choice, ...] = ()
    next: str | None = None
    goto: tuple[str, str] | None = None  # (flow id, step id) in another flow
    line: int = 0

    def links(self) -> tuple[str, ...]:
        """Ids this step leads to inside its own flow."""
        if self.type == "choice":
            return tuple(c.next for c in self.choices)
        return (self.next,) if self.next else ()


@dataclass(frozen=True)
class Outcome:
    """Where a path ends: what to do, to whom (a named resolver), on what legal basis."""

    id: str
    title: str
    now: str
    addressee: str
    basis: tuple[str, ...]
    send: str = ""
    write: str = ""
    avoid: str = ""
    mention: str = ""  # legal mention printed in the drafts
    documents: tuple[str, ...] = ()
    referent: bool = False
    category: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Entry:
    """Where a flow is offered: the main menu (`menu`) or the /signaler question (`report`).

    Entries are shown by increasing `order`; `label_en` is shown to English users (the
    French `label` when it is missing).
    """

    order: int
    label: str
    label_en: str = ""

    def label_in(self, language: str) -> str:
        return self.label_en if language == "en" and self.label_en else self.label


@dataclass(frozen=True)
class Flow:
    """One flow file."""

    id: str
    title: str
    category: str
    start: str
    steps: Mapping[str, Step]
    outcomes: Mapping[str, Outcome]
    file: str = ""
    menu: Entry | None = None
    report: Entry | None = None
    patient: bool = True  # about a patient: screens remind not to type their identity

    def node(self, node_id: str) -> Step | Outcome | None:
        """The step or outcome with this id."""
        return self.steps.get(node_id) or self.outcomes.get(node_id)


@dataclass(frozen=True)
class Flows:
    """The snapshot of every flow, keyed by flow id."""

    flows: Mapping[str, Flow]

    def __getitem__(self, flow_id: str) -> Flow:
        return self.flows[flow_id]

    def __contains__(self, flow_id: object) -> bool:
        return flow_id in self.flows

    def get(self, flow_id: str) -> Flow | None:
        return self.flows.get(flow_id)

    def in_menu(self) -> list[tuple[Flow, Entry]]:
        """The flows offered in the main menu, in their order."""
        return sorted(((f, f.menu) for f in self.flows.values() if f.menu),
                      key=lambda pair: (pair[1].order, pair[0].id))

    def in_report(self) -> list[tuple[Flow, Entry]]:
        """The flows /signaler offers ("who is the victim?"), in their order."""
        return sorted(((f, f.report) for f in self.flows.values() if f.report),
                      key=lambda pair: (pair[1].order, pair[0].id))
