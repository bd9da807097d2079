"""Escalation tables.

Clear Telegram ids appear only where the service must reach a person: enrolled referents
(and their groups), and the physician's chat of an escalation while it is open or taken.
A relayed message travels in the outbox payload, deleted once delivered. The request's own
message is kept on the request while it is live (the referent who takes it from a group
receives it in private, then) and erased at closing, with the name and phone.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, Text
from sqlmodel import Field, SQLModel

OPEN, TAKEN, CLOSED, CANCELLED = "open", "taken", "closed", "cancelled"
LIVE = (OPEN, TAKEN)


class Referent(SQLModel, table=True):
    """An enrolled referent (a person, `telegram_id`) or a referents' group (`chat_id`)."""

    __tablename__ = "esc_referent"
    id: int | None = Field(default=None, primary_key=True)
    telegram_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=True, unique=True))
    chat_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=True, unique=True))
    department: str = Field(max_length=3, index=True)
    name: str = Field(max_length=80)
    active: bool = True
    created_at: datetime

    @property
    def is_group(self) -> bool:
        return self.chat_id is not None

    @property
    def notify_chat(self) -> int:
        """Where this referent's notifications go (the group, or the person's private chat)."""
        return self.chat_id if self.chat_id is not None else int(self.telegram_id or 0)


class InviteCode(SQLModel, table=True):
    """A one-time enrolment code; only its hash is stored."""

    __tablename__ = "esc_invite"
    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True)
    department: str = Field(max_length=3)
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


class Escalation(SQLModel, table=True):
    """A physician's request to be contacted by a referent of their département."""

    __tablename__ = "escalation"
    __table_args__ = (Index("ix_escalation_status_dept", "status", "department"),)
    id: int | None = Field(default=None, primary_key=True)
    user_key: str = Field(max_length=64, index=True)
    # clear ids and what the physician chose to share: kept only while open or taken
    chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    physician_name: str | None = Field(default=None, max_length=120)
    phone: str | None = Field(default=None, max_length=32)
    message: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    language: str = Field(default="fr", max_length=8)
    department: str = Field(max_length=3)
    category: str = Field(max_length=20)
    status: str = Field(default=OPEN, max_length=12)
    taken_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("esc_referent.id",
                                                           ondelete="SET NULL"), nullable=True))
    round: int = 0  # incremented each time the case is (re)opened: keys its timers
    created_at: datetime
    taken_at: datetime | None = None
    closed_at: datetime | None = Field(default=None, index=True)
    outcome: str | None = Field(default=None, max_length=30)
    reminded: bool = False
    escalated: bool = False  # the regional chat has been notified


class EscalationNotice(SQLModel, table=True):
    """A notification delivered to a referent chat (to relay replies and say who took it)."""

    __tablename__ = "esc_notice"
    id: int | None = Field(default=None, primary_key=True)
    escalation_id: int = Field(sa_column=Column(
        Integer, ForeignKey("escalation.id", ondelete="CASCADE"), nullable=False, index=True))
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    message_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    kind: str = Field(default="new", max_length=12)  # new | reminder | regional
    sent_at: datetime


class RelayMessage(SQLModel, table=True):
    """Bookkeeping of one relayed message (never its text): who, where, delivered when."""

    __tablename__ = "esc_relay"
    id: int | None = Field(default=None, primary_key=True)
    escalation_id: int = Field(sa_column=Column(
        Integer, ForeignKey("escalation.id", ondelete="CASCADE"), nullable=False, index=True))
    direction: str = Field(max_length=12)  # to_referent | to_physician
    chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    message_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_at: datetime
    delivered_at: datetime | None = None


class BlockedUser(SQLModel, table=True):
    """A physician a referent blocked for abuse (by pseudonym)."""

    __tablename__ = "esc_blocked"
    user_key: str = Field(primary_key=True, max_length=64)
    department: str | None = Field(default=None, max_length=3)
    blocked_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("esc_referent.id",
                                                           ondelete="SET NULL"), nullable=True))
    blocked_at: datetime
