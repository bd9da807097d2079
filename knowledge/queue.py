"""The editors' queue: questions the knowledge base did not answer, sent by physicians who
agreed to it, for the editors (the VVS commission) to reword into a sheet or to dismiss.

Nothing is kept unless the physician asks for it: « Transmettre ma question aux rédacteurs »
(under an abstention, or after « Cette fiche ne répond pas »), then the question written
for the editors, checked by the identity detector (a text that seems to hold someone's
identity is refused and nothing of it is kept), then shown back and confirmed with an
explicit button. Between that screen and the button the text waits in the conversation
state (`EditorsDraft`, mode `EDITORS`), cleared by the answer either way.

A row keeps the confirmed text, where the offer came from, the sheet judged not to answer,
the nearest sheets of the search at that time, and the day it arrived (the day only: an
exact time could be matched with the physician's events). Never the physician's pseudonym:
`owner` is a keyed hash of it under another label, which only `/effacer` recomputes (it
cannot be joined with any other table without the key). A row is deleted when an editor
handles it (reworded into a sheet, or dismissed) and at the latest after
`QUESTION_RETENTION_DAYS` (an hourly durable job, `PURGE_JOB`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Column, Text, delete, func
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from vvs.clock import Clock
from vvs.errors import VVSError
from vvs.events import QuestionToEditors, record
from vvs.i18n import N_
from vvs.identity import Finding, detect_identity
from vvs.jobs import JobHandler, Scheduler
from vvs.privacy import ErasureStep

EDITORS = "k_editors"  # the conversation mode while a question for the editors is written
ANSWER, ABSTENTION = "answer", "abstention"  # where the offer came from
ORIGINS = (ANSWER, ABSTENTION)
MAX_TEXT = 500  # characters of a question for the editors
NEAREST = 4  # sheets of the search kept with a question
PURGE_JOB = "question_purge"
LABEL = N_("les questions que vous avez transmises aux rédacteurs des fiches")
_OWNER_LABEL = b"vvs-editor-question-v1:"


class EditorQuestion(SQLModel, table=True):
    """A question a physician sent to the editors, until it is handled (or too old)."""

    __tablename__ = "editor_question"
    id: int | None = Field(default=None, primary_key=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    origin: str = Field(max_length=12)  # answer | abstention
    entry_id: str | None = Field(default=None, max_length=80)  # the sheet that did not answer
    nearest: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    received_on: datetime = Field(index=True)  # midnight UTC of the day it arrived
    owner: str = Field(max_length=64, index=True)  # `owner_of`: for /effacer only


@dataclass(frozen=True)
class EditorsDraft:
    """Mode `EDITORS`: a question for the editors being written (`text` empty) or shown
    back for confirmation (`text`: the checked text, cleared by the answer either way)."""

    origin: str = ABSTENTION
    entry: str | None = None  # the sheet judged not to answer (origin "answer")
    text: str = ""


class IdentityInText(VVSError):
    """The text seems to hold someone's identity: it is refused and not kept."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__(",".join(f.kind for f in findings))
        self.findings = findings


class TooLong(VVSError):
    """More than MAX_TEXT characters."""


class Empty(VVSError):
    """Nothing but spaces."""


def owner_of(key: bytes, user_key: str) -> str:
    """The keyed hash that lets /effacer find a physician's questions: not their pseudonym
    (another label under the same key), so no other table can be joined with it."""
    return hmac.new(key, _OWNER_LABEL + user_key.encode(), hashlib.sha256).hexdigest()


def check(text: str, limit: int = MAX_TEXT) -> str:
    """The text as it would be kept (spaces collapsed), or an error: Empty, TooLong (over
    `limit` characters), or IdentityInText when the identity detector flags it."""
    cleaned = " ".join(text.split())
    if not cleaned:
        raise Empty()
    if len(cleaned) > limit:
        raise TooLong(str(len(cleaned)))
    findings = detect_identity(cleaned)
    if findings:
        raise IdentityInText(findings)
    return cleaned


def day_of(moment: datetime) -> datetime:
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


async def submit(session: AsyncSession, clock: Clock, *, key: bytes, user_key: str,
                 draft: EditorsDraft, nearest: Sequence[str]) -> EditorQuestion:
    """Keep the confirmed question (checked again: what the check refuses is never kept) and
    record the event, without the physician's pseudonym, in the caller's unit of work."""
    text = check(draft.text)
    if draft.origin not in ORIGINS:
        raise ValueError(f"origin {draft.origin!r}")
    kept = [entry for entry in nearest if entry][:NEAREST]
    row = EditorQuestion(text=text, origin=draft.origin, entry_id=draft.entry, nearest=kept,
                         received_on=day_of(clock.now()), owner=owner_of(key, user_key))
    session.add(row)
    await record(session, clock, QuestionToEditors(
        draft.origin, draft.entry or (kept[0] if kept else None)))
    return row


async def pending(session: AsyncSession, limit: int = 200) -> list[EditorQuestion]:
    """The questions waiting for an editor, oldest first."""
    return list(await session.exec(select(EditorQuestion).order_by(
        col(EditorQuestion.id)).limit(limit)))


async def count(session: AsyncSession) -> int:
    """How many questions wait for an editor."""
    return int((await session.exec(select(func.count()).select_from(EditorQuestion))).one())


async def get(session: AsyncSession, question_id: int) -> EditorQuestion | None:
    return await session.get(EditorQuestion, question_id)


async def remove(session: AsyncSession, question_id: int) -> bool:
    """Delete a handled question (its text with it); False when it was already gone."""
    result = await session.exec(delete(EditorQuestion).where(
        col(EditorQuestion.id) == question_id))
    return bool(result.rowcount)


def erasure_step(key: bytes) -> ErasureStep:
    """/effacer deletes the physician's questions (found by `owner_of`)."""
    async def erase(session: AsyncSession, user_key: str) -> int:
        result = await session.exec(delete(EditorQuestion).where(
            col(EditorQuestion.owner) == owner_of(key, user_key)))
        return result.rowcount or 0

    return ErasureStep(LABEL, erase, order=60)


async def purge(session: AsyncSession, now: datetime, retention: timedelta) -> int:
    """Delete the questions that arrived `retention` ago or more (by their day)."""
    result = await session.exec(delete(EditorQuestion).where(
        col(EditorQuestion.received_on) <= now - retention))
    return result.rowcount or 0


def next_purge_run(now: datetime) -> tuple[datetime, str]:
    """The next hourly run and its dedupe key (so it runs once per hour across replicas)."""
    run = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return run, f"{PURGE_JOB}:{run.strftime('%Y-%m-%dT%H')}"


def purge_job(clock: Clock, retention: timedelta, schedule: Scheduler | None = None
              ) -> JobHandler:
    """The durable job's handler: purge, then schedule the next hour's run."""
    async def handler(session: AsyncSession, _payload: dict[str, Any]) -> None:
        await purge(session, clock.now(), retention)
        if schedule is not None:
            run_at, key = next_purge_run(clock.now())
            await schedule(session, run_at, key)

    return handler
