"""Pseudonymous event log for the annual review, and its vocabulary.

Domain code says what happened with a typed event (a small frozen dataclass below); the
turn, or a job, records it with `record`. `event_row` is the one place that maps an event to
the columns of the `event` table, and `record_event` refuses anything that is not a short
code, so free text never reaches the log.

A row is (kind, at, département, category, detail, value, user_key). `user_key` is the keyed
pseudonym of the physician (never a Telegram id); category and detail are short codes (never
text); `value` is a number whose meaning depends on the kind. `VOCABULARY` below is the one
description of every kind: what its fields mean, and whether the wiring emits it today. The
report (`report/annual.py`) and the monthly aggregates (`vvs/stats.py`) read events only
through these meanings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, assert_never

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from vvs.clock import Clock
from vvs.i18n import current_language
from vvs.models import Event as EventRecord
from vvs.privacy import LABEL_EVENTS, ErasureStep

INSERT_EVENT = insert(EventRecord)  # built once: every turn records events
_CATEGORICAL = re.compile(r"^[a-z0-9_.:-]{1,60}$")
DEPARTMENTS = frozenset(
    {f"{n:02d}" for n in range(1, 96) if n != 20} | {"2A", "2B", "971", "972", "973", "974", "976"}
)




@dataclass(frozen=True)
class EventKind:
    """What one kind of event means, field by field (None: the field is not used)."""

    meaning: str
    category: str | None = None
    detail: str | None = None
    value: str | None = None
    emitted: bool = True  # False: part of the vocabulary, not emitted by the wiring yet


# Value meanings shared by several kinds.
MINUTES_SINCE_CREATED = "minutes since the request was created"

VOCABULARY: MappingProxyType[str, EventKind] = MappingProxyType({
    # -- sessions and settings
    "start": EventKind("/start or a deep link: a session's start, in the language used",
                       category="language code (fr, en) the bot answered in",
                       detail="'deeplink' for a deep link"),
    "language": EventKind("language chosen with /langue", detail="language code (fr, en)"),
    "emergency_shown": EventKind("emergency numbers shown by the detector",
                                 detail="conversation mode when it fired"),
    "emergency_numbers": EventKind("emergency numbers asked for", detail="'command'"),
    # -- guided procedures (flows); the victim route is the flow 'victime'
    "flow_start": EventKind("procedure started", category="flow id"),
    "flow_step": EventKind("step reached (the first one too; not again by 'Retour')",
                           category="flow id (of the step, after a jump)", detail="step id"),
    "flow_outcome": EventKind("procedure completed", category="flow id",
                              detail="outcome id"),
    "flow_quit": EventKind(
        "procedure abandoned: left at a step (not at an outcome) for another feature, "
        "/annuler, or another procedure or a restart; a procedure left to expire is not "
        "recorded", category="flow id (of the step)", detail="step id where it was left"),
    "flow_document": EventKind("document generated", category="flow id",
                               detail="document type (signalement, ip, …; decision record: "
                                      "'record')"),
    # -- knowledge
    "question": EventKind(
        "free-text question",
        category="answered (a clear answer) | clarified (answered, with « Vouliez-vous "
                 "plutôt » alternatives: the search was unsure) | abstained",
        detail="entry id: the answer, or the nearest sheet when abstained (never the text)"),
    # « ne répond pas » is a kind of its own, not a category of `question`: it judges an
    # answer already counted there (as answered), so counting it there would count that
    # question twice in every total of questions
    "question_not_helpful": EventKind(
        "« Cette fiche ne répond pas » pressed under an answer card",
        detail="entry id of the sheet judged not to answer"),
    "question_to_editors": EventKind(
        "a question the physician agreed to send to the editors' queue (recorded without "
        "the physician's pseudonym; the text is in the queue, never here)",
        category="where the offer came from: answer (« ne répond pas ») | abstention",
        detail="entry id: the sheet judged not to answer, else the nearest sheet"),
    "knowledge_open": EventKind("sheet opened", detail="entry id"),
    # -- directory
    "annuaire_search": EventKind(
        "directory search (département: the place's, else the physician's)",
        category="kind searched (none: any kind)",
        detail="text (a name) | place (a commune or postcode typed or chosen) | "
               "location (shared)", value="number of results (0: nothing found)"),
    # -- escalations to referents (département of the request)
    "escalation_created": EventKind("referent request created", category="request category"),
    "escalation_reminded": EventKind("request reminded to the referents",
                                     category="request category",
                                     value=MINUTES_SINCE_CREATED),
    "escalation_escalated": EventKind("request sent to the region",
                                      category="request category",
                                      detail="why (timeout, no_referent, …)",
                                      value=MINUTES_SINCE_CREATED),
    "escalation_taken": EventKind("request taken in charge", category="request category",
                                  value=MINUTES_SINCE_CREATED),
    "escalation_released": EventKind("request handed back", category="request category",
                                     value=MINUTES_SINCE_CREATED),
    "escalation_reassigned": EventKind("request reassigned", category="request category"),
    "escalation_closed": EventKind("request closed", category="request category",
                                   detail="outcome category", value=MINUTES_SINCE_CREATED),
    "escalation_cancelled": EventKind("request cancelled", category="request category",
                                      detail="by whom", value=MINUTES_SINCE_CREATED),
    "escalation_blocked": EventKind("physician blocked for abuse", category="request category"),
    "escalation_relayed": EventKind("message relayed", category="request category",
                                    detail="direction"),
    "referent_enrolled": EventKind("referent enrolled", detail="person | group"),
    "referent_removed": EventKind("referent removed"),
    # -- content
    # Not emitted: the report reads the `content_publication` audit table, which already
    # records every attempt (accepted or refused) in the publication's own transaction; an
    # event as well would be a second, weaker copy of the same fact.
    "content_published": EventKind("content publication attempt",
                                   category="accepted | refused", detail="origin",
                                   emitted=False),
})

# Kinds whose `value` is a duration in minutes: the monthly aggregates keep a histogram.
DURATION_KINDS = frozenset(k for k, v in VOCABULARY.items() if v.value == MINUTES_SINCE_CREATED)
# Kinds whose `value` is a count: the monthly aggregates keep how many were zero.
COUNT_VALUE_KINDS = frozenset({"annuaire_search"})


# -- what a user's turn produces ---------------------------------------------------------------
@dataclass(frozen=True)
class Started:
    """/start, or a deep link `/start <flow>`; `language`: the one the turn answers in (the
    physician's Telegram language or their /langue choice), so the language used counts."""

    deep_link: bool = False
    language: str = field(default_factory=current_language)


@dataclass(frozen=True)
class EmergencyNumbersShown:
    """/urgence or the menu's emergency numbers."""

    via: str = "command"


@dataclass(frozen=True)
class EmergencyDetected:
    """Free text looked like an emergency: the numbers were shown first."""

    mode: str  # the conversation mode the text was typed in


@dataclass(frozen=True)
class LanguageChosen:
    language: str


@dataclass(frozen=True)
class QuestionAnswered:
    """An answer card; `unsure`: shown with « Vouliez-vous plutôt » alternatives (the
    statistics count it as clarified)."""

    entry_id: str
    unsure: bool = False


@dataclass(frozen=True)
class QuestionAbstained:
    """No entry close enough: suggestions only; `nearest` is the closest sheet, if any
    (the statistics count the question under its theme; never the text)."""

    nearest: str | None = None


@dataclass(frozen=True)
class QuestionNotHelpful:
    """« Cette fiche ne répond pas » under an answer card (the question was counted as
    answered when it was asked)."""

    entry_id: str


@dataclass(frozen=True)
class QuestionToEditors:
    """A question sent to the editors' queue, with the physician's consent (never its text).

    Recorded by `knowledge.queue.submit` without the physician's pseudonym, so the event
    cannot be joined to the queued text."""

    origin: str  # "answer" (« ne répond pas ») or "abstention"
    entry_id: str | None  # the sheet judged not to answer, else the nearest sheet


@dataclass(frozen=True)
class EntryOpened:
    """A knowledge entry opened from a button (card or details)."""

    entry_id: str


@dataclass(frozen=True)
class DirectorySearch:
    kind: str | None  # the kind of resource chosen first, if any
    department: str | None  # the place's département (None: no place recognised)
    by: str  # "text" (a name), "place" (a commune or postcode) or "location" (shared)
    results: int  # how many entries were listed (0: nothing found)


@dataclass(frozen=True)
class FlowStarted:
    flow: str


@dataclass(frozen=True)
class FlowStep:
    """A step of a procedure reached (the first one, or by an answer)."""

    flow: str  # the flow the step belongs to (after a jump)
    step: str
    department: str | None  # the one answered in the flow; else the physician's


@dataclass(frozen=True)
class FlowOutcome:
    flow: str  # the flow the outcome belongs to (after a jump, not the one started)
    outcome: str
    origin: str  # the flow the physician started (not recorded today)
    department: str | None  # the one answered in the flow; else the physician's


@dataclass(frozen=True)
class FlowQuit:
    """A procedure left at a step, before any outcome (another feature, /annuler, another
    procedure, a restart). 'Terminer' on an outcome is not a quit: the outcome counted."""

    flow: str  # the flow the step belongs to
    step: str
    department: str | None


@dataclass(frozen=True)
class DocumentGenerated:
    flow: str
    outcome: str
    kind: str  # the document kind (signalement, ip, …, record)
    department: str | None = None  # the one answered in the flow; else the physician's


# -- escalations (recorded by the service, inside a turn's or a job's transaction) -----------
@dataclass(frozen=True)
class RequestEvent:
    """Something that happened to a request to a referent: its département and category."""

    department: str
    category: str


@dataclass(frozen=True)
class EscalationCreated(RequestEvent):
    direct_regional: bool  # no referent enrolled: went straight to the regional chat


@dataclass(frozen=True)
class EscalationEscalated(RequestEvent):
    reason: str  # no_referent, timeout, dead_letter
    minutes: float  # since the request was made (so are the other `minutes`)


@dataclass(frozen=True)
class EscalationReminded(RequestEvent):
    minutes: float


@dataclass(frozen=True)
class EscalationTaken(RequestEvent):
    minutes: float


@dataclass(frozen=True)
class EscalationReleased(RequestEvent):
    minutes: float


@dataclass(frozen=True)
class EscalationReassigned(RequestEvent):
    pass


@dataclass(frozen=True)
class EscalationClosed(RequestEvent):
    outcome: str
    minutes: float


@dataclass(frozen=True)
class EscalationBlocked(RequestEvent):
    pass


@dataclass(frozen=True)
class EscalationCancelled(RequestEvent):
    reason: str  # cancelled (by the physician) or erased (/effacer)
    minutes: float


@dataclass(frozen=True)
class EscalationRelayed(RequestEvent):
    direction: str  # to_physician or to_referent


@dataclass(frozen=True)
class ReferentEnrolled:
    department: str
    group: bool


@dataclass(frozen=True)
class ReferentRemoved:
    department: str


Event = (Started | EmergencyNumbersShown | EmergencyDetected | LanguageChosen
         | QuestionAnswered | QuestionAbstained | QuestionNotHelpful | QuestionToEditors
         | EntryOpened | DirectorySearch
         | FlowStarted | FlowStep | FlowOutcome | FlowQuit | DocumentGenerated
         | EscalationCreated | EscalationEscalated | EscalationReminded | EscalationTaken
         | EscalationReleased | EscalationReassigned | EscalationClosed | EscalationBlocked
         | EscalationCancelled | EscalationRelayed | ReferentEnrolled | ReferentRemoved)


@dataclass(frozen=True)
class EventRow:
    """The columns of one `event` row (before the short-code check)."""

    kind: str
    department: str | None = None
    category: str | None = None
    detail: str | None = None
    value: float | None = None


def event_row(event: Event, user_department: str | None = None) -> EventRow:
    """The one mapping from a typed event to its row; `user_department` is the physician's
    remembered département, used by the events that have none of their own."""
    match event:
        case Started(deep_link=deep_link, language=language):
            return EventRow("start", user_department, language,
                            "deeplink" if deep_link else None)
        case EmergencyNumbersShown(via=via):
            return EventRow("emergency_numbers", user_department, detail=via)
        case EmergencyDetected(mode=mode):
            return EventRow("emergency_shown", user_department, detail=mode)
        case LanguageChosen(language=language):
            return EventRow("language", user_department, detail=language)
        case QuestionAnswered(entry_id=entry_id, unsure=unsure):
            return EventRow("question", user_department, "clarified" if unsure else "answered",
                            entry_id)
        case QuestionAbstained(nearest=nearest):
            return EventRow("question", user_department, "abstained", nearest)
        case QuestionNotHelpful(entry_id=entry_id):
            return EventRow("question_not_helpful", user_department, detail=entry_id)
        case QuestionToEditors(origin=origin, entry_id=entry_id):
            return EventRow("question_to_editors", user_department, origin, entry_id)
        case EntryOpened(entry_id=entry_id):
            return EventRow("knowledge_open", user_department, detail=entry_id)
        case DirectorySearch(kind=kind, department=department, by=by, results=results):
            return EventRow("annuaire_search", department or user_department, kind, by,
                            float(results))
        case FlowStarted(flow=flow):
            return EventRow("flow_start", user_department, flow)
        case FlowOutcome(flow=flow, outcome=outcome, department=department):
            return EventRow("flow_outcome", department or user_department, flow, outcome)
        case FlowStep(flow=flow, step=step, department=department):
            return EventRow("flow_step", department or user_department, flow, step)
        case FlowQuit(flow=flow, step=step, department=department):
            return EventRow("flow_quit", department or user_department, flow, step)
        case DocumentGenerated(flow=flow, kind=kind, department=department):
            return EventRow("flow_document", department or user_department, flow, kind)
        case EscalationCreated(department=department, category=category):
            return EventRow("escalation_created", department, category,
                            "direct_regional" if event.direct_regional else None)
        case EscalationEscalated(department=department, category=category):
            return EventRow("escalation_escalated", department, category, event.reason,
                            event.minutes)
        case EscalationReminded(department=department, category=category):
            return EventRow("escalation_reminded", department, category, value=event.minutes)
        case EscalationTaken(department=department, category=category):
            return EventRow("escalation_taken", department, category, value=event.minutes)
        case EscalationReleased(department=department, category=category):
            return EventRow("escalation_released", department, category, value=event.minutes)
        case EscalationReassigned(department=department, category=category):
            return EventRow("escalation_reassigned", department, category)
        case EscalationClosed(department=department, category=category):
            return EventRow("escalation_closed", department, category, event.outcome,
                            event.minutes)
        case EscalationBlocked(department=department, category=category):
            return EventRow("escalation_blocked", department, category)
        case EscalationCancelled(department=department, category=category):
            return EventRow("escalation_cancelled", department, category, event.reason,
                            event.minutes)
        case EscalationRelayed(department=department, category=category):
            return EventRow("escalation_relayed", department, category, event.direction)
        case ReferentEnrolled(department=department):
            return EventRow("referent_enrolled", department,
                            detail="group" if event.group else "person")
        case ReferentRemoved(department=department):
            return EventRow("referent_removed", department)
        case _:
            assert_never(event)


async def record(session: AsyncSession, clock: Clock, event: Event, *,
                 user_key: str | None = None,
                 user_department: str | None = None) -> None:
    """Record a typed event in the unit of work `session` belongs to."""
    await insert_events(await session.connection(), [
        typed_values(clock, event, user_key=user_key, user_department=user_department)])


def typed_values(clock: Clock, event: Event, *, user_key: str | None = None,
                 user_department: str | None = None) -> dict[str, Any]:
    """The checked `event` row of a typed event (what `record` writes; a turn writes its
    events together with its replies, `vvs.inbox.Inbox.finish`)."""
    row = event_row(event, user_department)
    return event_values(clock, row.kind, user_key=user_key, department=row.department,
                        category=row.category, detail=row.detail, value=row.value)


def _categorical(name: str, value: str | None) -> str | None:
    """Refuse anything that is not a short code: free text must never reach the log."""
    if value is None:
        return None
    if not _CATEGORICAL.match(value):
        # the message must not echo the value: it could be text a user typed
        raise ValueError(f"event {name} must be a short code (got {len(value)} characters)")
    return value


def event_values(
    clock: Clock,
    kind: str,
    *,
    user_key: str | None = None,
    department: str | None = None,
    category: str | None = None,
    detail: str | None = None,
    value: float | None = None,
) -> dict[str, Any]:
    """One `event` row's values, checked: the check every row goes through (short codes
    only, a known département or none)."""
    if department is not None and department not in DEPARTMENTS:
        department = None
    return {"at": clock.now(), "kind": _categorical("kind", kind) or kind,
            "department": department, "category": _categorical("category", category),
            "detail": _categorical("detail", detail), "value": value, "user_key": user_key}


async def record_event(session: AsyncSession, clock: Clock, kind: str, **fields: Any) -> None:
    """Add one row to the unit of work `session` belongs to (use `record` with a typed
    event); `fields` are those of `event_values`."""
    await insert_events(await session.connection(), [event_values(clock, kind, **fields)])


async def insert_events(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert checked rows (`event_values`) on a unit of work's connection."""
    # a prebuilt Core insert: a turn's hot path skips the ORM's flush and the statement's
    # construction
    for row in rows:
        await conn.execute(INSERT_EVENT, row)


async def _anonymise(session: AsyncSession, user_key: str) -> int:
    result = await session.exec(
        update(EventRecord).where(col(EventRecord.user_key) == user_key).values(user_key=None)
    )
    return result.rowcount or 0


ERASURE = ErasureStep(LABEL_EVENTS, _anonymise, order=90)
