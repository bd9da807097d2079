"""Pseudonymous event log for the annual review, and its vocabulary.

An event is (kind, at, département, category, detail, value, user_key). `user_key` is the
keyed pseudonym of the physician (never a Telegram id); category and detail are short codes
(never text); `value` is a number whose meaning depends on the kind. `VOCABULARY` below is the
one description of every kind: what its fields mean, and whether the wiring emits it today.
The report (`admin/stats.py`) and the monthly aggregates (`vvs/stats.py`) read events only
through these meanings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType

from sqlalchemy import update
from sqlmodel.ext.asyncio.session import AsyncSession

from vvs.clock import Clock
from vvs.models import Event
from vvs.privacy import LABEL_EVENTS, ErasureStep

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
    "start": EventKind("/start or a deep link", detail="'deeplink' for a deep link"),
    "language": EventKind("language used or chosen", detail="language code (fr, en)"),
    "emergency_shown": EventKind("emergency numbers shown by the detector",
                                 detail="conversation mode when it fired"),
    "emergency_numbers": EventKind("emergency numbers asked for", detail="'command'"),
    # -- guided procedures (flows); the victim route is the flow 'victime'
    "flow_start": EventKind("procedure started", category="flow id"),
    "flow_step": EventKind("step reached", category="flow id", detail="step id",
                           emitted=False),
    "flow_outcome": EventKind("procedure completed", category="flow id",
                              detail="outcome id"),
    "flow_quit": EventKind("procedure abandoned", category="flow id",
                           detail="step id where it was left"),
    "flow_document": EventKind("document generated", category="flow id",
                               detail="document type (decision record: 'record')"),
    # -- knowledge
    "question": EventKind(
        "free-text question", category="answered | abstained | clarified | not_helpful",
        detail="entry id: the answer, or the nearest sheet when abstained (never the text)"),
    "knowledge_open": EventKind("sheet opened", detail="entry id"),
    # -- directory
    "annuaire_search": EventKind(
        "directory search", category="kind searched (none: any kind)",
        detail="text | place | location", value="number of results (0: nothing found)"),
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
    "content_published": EventKind("content publication attempt",
                                   category="accepted | refused", detail="origin",
                                   emitted=False),
})

# Kinds whose `value` is a duration in minutes: the monthly aggregates keep a histogram.
DURATION_KINDS = frozenset(k for k, v in VOCABULARY.items() if v.value == MINUTES_SINCE_CREATED)
# Kinds whose `value` is a count: the monthly aggregates keep how many were zero.
COUNT_VALUE_KINDS = frozenset({"annuaire_search"})


def _categorical(name: str, value: str | None) -> str | None:
    """Refuse anything that is not a short code: free text must never reach the log."""
    if value is None:
        return None
    if not _CATEGORICAL.match(value):
        # the message must not echo the value: it could be text a user typed
        raise ValueError(f"event {name} must be a short code (got {len(value)} characters)")
    return value


async def record_event(
    session: AsyncSession,
    clock: Clock,
    kind: str,
    *,
    user_key: str | None = None,
    department: str | None = None,
    category: str | None = None,
    detail: str | None = None,
    value: float | None = None,
) -> Event:
    """Add one event to the unit of work `session` belongs to."""
    if department is not None and department not in DEPARTMENTS:
        department = None
    event = Event(
        at=clock.now(),
        kind=_categorical("kind", kind) or kind,
        department=department,
        category=_categorical("category", category),
        detail=_categorical("detail", detail),
        value=value,
        user_key=user_key,
    )
    session.add(event)
    return event


async def _anonymise(session: AsyncSession, user_key: str) -> int:
    result = await session.exec(
        update(Event).where(Event.user_key == user_key).values(user_key=None)
    )
    return result.rowcount or 0


ERASURE = ErasureStep(LABEL_EVENTS, _anonymise, order=90)
