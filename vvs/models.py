"""Platform tables. Users are keyed by a keyed hash of their Telegram id (`user_key`).

A clear Telegram id appears only where the service must reach a person later: an outbox
message not yet delivered (its `chat_id`), enrolled referents, open escalations.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class UserState(SQLModel, table=True):
    """Conversation mode and preferences of one user."""

    __tablename__ = "user_state"
    user_key: str = Field(primary_key=True, max_length=64)
    mode: str = Field(default="idle", max_length=40)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    language: str | None = Field(default=None, max_length=8)
    department: str | None = Field(default=None, max_length=3)
    updated_at: datetime = Field(index=True)


class ProcessedUpdate(SQLModel, table=True):
    """Telegram update ids already handled, so a redelivery is processed once."""

    __tablename__ = "processed_update"
    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    processed_at: datetime = Field(index=True)


class InboxUpdate(SQLModel, table=True):
    """A received update not yet processed: stored before Telegram is answered, deleted by
    the turn that processes it (in the turn's own transaction). A turn that keeps failing
    parks its update (`parked_at`), kept at most the processed-update retention."""

    __tablename__ = "inbox"
    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    payload: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    user_key: str | None = Field(default=None, max_length=64, index=True)
    received_at: datetime
    attempts: int = 0
    locked_until: datetime | None = Field(default=None, index=True)
    parked_at: datetime | None = None
    last_error: str | None = Field(default=None, max_length=80)  # an exception class name


class Event(SQLModel, table=True):
    """Pseudonymous usage event for the annual review: never an id or message text."""

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_kind_at", "kind", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    kind: str = Field(max_length=40)
    department: str | None = Field(default=None, max_length=3)
    category: str | None = Field(default=None, max_length=40)
    detail: str | None = Field(default=None, max_length=60)
    value: float | None = None  # e.g. a duration in minutes
    user_key: str | None = Field(default=None, max_length=64, index=True)


class EventMonth(SQLModel, table=True):
    """Events of one month, counted, once raw events pass their retention period.

    '' stands for "none" in department, category and detail (so the key is unique);
    `zeros` counts events whose value was 0 (e.g. directory searches with no result),
    `hist` the values of duration kinds in the fixed bins of `vvs.stats.DURATION_BINS`.
    """

    __tablename__ = "event_month"
    __table_args__ = (UniqueConstraint("month", "kind", "department", "category", "detail",
                                       name="uq_event_month_key"),)
    id: int | None = Field(default=None, primary_key=True)
    month: date = Field(index=True)  # first day of the month (UTC)
    kind: str = Field(max_length=40)
    department: str = Field(default="", max_length=3)
    category: str = Field(default="", max_length=40)
    detail: str = Field(default="", max_length=60)
    count: int = 0
    zeros: int = 0
    hist: list[int] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class EventMonthPeople(SQLModel, table=True):
    """Distinct physicians and sessions of one month, per département ('*' all, '' unknown)."""

    __tablename__ = "event_month_people"
    __table_args__ = (UniqueConstraint("month", "department", name="uq_event_month_people"),)
    id: int | None = Field(default=None, primary_key=True)
    month: date = Field(index=True)
    department: str = Field(default="", max_length=3)
    physicians: int = 0
    sessions: int = 0


class Job(SQLModel, table=True):
    """A durable timer: runs once at `run_at`, across restarts and replicas."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_due", "done_at", "run_at"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    run_at: datetime
    dedupe_key: str | None = Field(default=None, max_length=120, unique=True)
    attempts: int = 0
    locked_by: str | None = Field(default=None, max_length=64)
    locked_until: datetime | None = None
    done_at: datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))


class OutboxMessage(SQLModel, table=True):
    """A message that must not be lost; its payload is deleted once delivered."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    payload: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    status: str = Field(default="pending", max_length=12)  # pending | sent | dead
    attempts: int = 0
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None = None
    possible_duplicate: bool = False
    last_error: str | None = Field(default=None, max_length=300)
    # who it concerns, for /effacer, and what to do if it can never be delivered
    user_key: str | None = Field(default=None, max_length=64, index=True)
    purpose: str | None = Field(default=None, max_length=40)
    ref: str | None = Field(default=None, max_length=60)
    locked_until: datetime | None = None
    sent_message_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class ContentVersion(SQLModel, table=True):
    """Content version in service (one row) so every replica converges on it."""

    __tablename__ = "content_version"
    id: int = Field(default=1, primary_key=True)
    version: str = Field(max_length=32)
    published_at: datetime


class ContentPublication(SQLModel, table=True):
    """Audit of reload attempts: who (pseudonymous), when, which version, accepted or not."""

    __tablename__ = "content_publication"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    version: str | None = Field(default=None, max_length=32)
    accepted: bool
    error_count: int = 0
    actor_key: str | None = Field(default=None, max_length=64)
    origin: str = Field(default="reload", max_length=20, sa_type=String(20))
