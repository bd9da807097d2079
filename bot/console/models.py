"""The console's tables: enrolled operators, one-time links, sessions, audit, file versions.

Tokens are stored as SHA-256 hashes only: a leaked table opens nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Text
from sqlmodel import Field, SQLModel

ADMIN, VALIDATOR, REFERENT = "admin", "validator", "referent"
MEMBER_ROLES = (ADMIN, VALIDATOR)  # referents are enrolled with `vvs-admin referents`


class ConsoleMember(SQLModel, table=True):
    """An admin or a validator (a named member of the VVS commission)."""

    __tablename__ = "console_member"
    id: int | None = Field(default=None, primary_key=True)
    telegram_id: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    role: str = Field(max_length=12)
    name: str = Field(max_length=80)
    created_at: datetime


class ConsoleLink(SQLModel, table=True):
    """A one-time login link: valid until `expires_at`, used once."""

    __tablename__ = "console_link"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    telegram_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    name: str = Field(max_length=80)
    created_at: datetime
    expires_at: datetime = Field(index=True)
    used_at: datetime | None = None


class ConsoleSession(SQLModel, table=True):
    """An open console session (the cookie holds the token, this row its hash)."""

    __tablename__ = "console_session"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    telegram_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    name: str = Field(max_length=80)
    csrf: str = Field(max_length=64)
    created_at: datetime
    expires_at: datetime = Field(index=True)


class ConsoleAudit(SQLModel, table=True):
    """One action in the console: who (role, name), what, on what, when."""

    __tablename__ = "console_audit"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    role: str = Field(max_length=12)
    name: str = Field(max_length=80)
    action: str = Field(max_length=40)
    target: str = Field(default="", max_length=200)
    detail: str | None = Field(default=None, max_length=500)


class ContentRevision(SQLModel, table=True):
    """One version of a content file written (or first replaced) by the console: what a
    rollback restores. The file on disk stays the source of truth."""

    __tablename__ = "content_revision"
    id: int | None = Field(default=None, primary_key=True)
    path: str = Field(max_length=200, index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime
    author: str = Field(max_length=80)
    role: str = Field(max_length=12)
    action: str = Field(max_length=40)
    version: str | None = Field(default=None, max_length=16)  # content version it published
