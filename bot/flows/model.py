"""Flow model: frozen steps, choices and outcomes, as validated from `bot/flows/data/*.yaml`."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from vvs.departements import IDF_DEPARTMENTS

# The départements a `department` step offers, in this order, then "autre" (OTHER_DEPARTMENT).
DEPARTMENTS = IDF_DEPARTMENTS
OTHER_DEPARTMENT = "x"
STEP_TYPES = ("choice", "info", "department", "goto")
# The French fields an English text translates, in the order they are hashed (see
# `Step.french`, `Outcome.french`): never `mention`, printed in the French drafts.
French = Mapping[str, str | tuple[str, ...]]


def source_hash(parts: Iterable[str]) -> str:
    """A short stable hash of texts (12 hex digits of SHA-256 over them, in order): what an
    English text records of the French it translates, so a change of the French shows."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:12]


def french_hash(fields: French) -> str:
    """The `source` an English text must record: `source_hash` of these French fields."""
    return source_hash([p for v in fields.values() for p in ((v,) if isinstance(v, str) else v)])


@dataclass(frozen=True)
class English:
    """The English of a step's or an outcome's shown fields, and `source`: the hash of the
    French it translates (`source_hash` of the French fields)."""

    source: str
    text: str = ""
    labels: tuple[str, ...] = ()
    title: str = ""
    now: str = ""
    send: str = ""
    write: str = ""
    avoid: str = ""

    def texts(self) -> list[str]:
        return [self.source, self.text, *self.labels, self.title, self.now, self.send,
                self.write, self.avoid]


@dataclass(frozen=True)
class Validation:
    """Who validated a flow's English, when, and the hash of the English they read."""

    by: str
    date: dt.date
    english: str


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
    en: English | None = None

    def french(self) -> French:
        """The French the English translates: the text, then the choice labels."""
        fields: dict[str, str | tuple[str, ...]] = {"text": self.text}
        if self.type == "choice":
            fields["choices"] = tuple(c.label for c in self.choices)
        return fields

    def shown_in(self, language: str) -> Step:
        """This step with the texts shown in `language` (French when no English is known)."""
        if language != "en" or self.en is None:
            return self
        choices = self.choices
        if len(self.en.labels) == len(choices):
            choices = tuple(replace(c, label=label)
                            for c, label in zip(choices, self.en.labels, strict=True))
        return replace(self, text=self.en.text or self.text, choices=choices)

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
    en: English | None = None

    def french(self) -> French:
        """The French the English translates (not `mention`: the drafts stay French)."""
        return {"title": self.title, "now": self.now, "send": self.send, "write": self.write,
                "avoid": self.avoid}

    def shown_in(self, language: str) -> Outcome:
        """This outcome with the texts shown in `language`; `mention` stays French."""
        if language != "en" or self.en is None:
            return self
        en = self.en
        return replace(self, title=en.title or self.title, now=en.now or self.now,
                       send=en.send, write=en.write, avoid=en.avoid)


@dataclass(frozen=True)
class Entry:
    """Where a flow is offered: the main menu (`menu`) or the /signaler question (`report`).

    Entries are shown by increasing `order`; `label_en` is shown to English users (the
    loader requires it; the French `label` stands in only for an entry built without it).
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
    title_en: str = ""
    en_validated: Validation | None = None

    def title_in(self, language: str) -> str:
        return self.title_en if language == "en" and self.title_en else self.title

    def unvalidated_in(self, language: str) -> bool:
        """True when `language` is shown from a translation nobody has validated yet."""
        return language == "en" and self.en_validated is None

    def english_hash(self) -> str:
        """The hash of every English text of the flow (with the sources they translate): what
        `en_validated.english` records, so an English edited after validation shows."""
        nodes: list[Step | Outcome] = [*self.steps.values(), *self.outcomes.values()]
        return source_hash([self.title_en, *(t for n in nodes if n.en for t in n.en.texts())])

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
