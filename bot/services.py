"""Everything handlers may use, built once in the composition root."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from vvs.clock import Clock
from vvs.content import ContentRegistry, Snapshot
from vvs.db import SessionFactory
from vvs.flood import FloodGuard
from vvs.jobs import JobQueue
from vvs.outbox import Outbox
from vvs.privacy import pseudonym
from vvs.settings import Settings
from vvs.state import StateStore


@dataclass
class Services:
    """The application's collaborators; one instance per process."""

    settings: Settings
    clock: Clock
    engine: AsyncEngine
    sessions: SessionFactory
    registry: ContentRegistry
    state: StateStore
    outbox: Outbox
    jobs: JobQueue
    flood: FloodGuard
    pseudonym_key: bytes
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    extras: dict[str, Any] = field(default_factory=dict)

    def user_key(self, telegram_id: int) -> str:
        return pseudonym(self.pseudonym_key, telegram_id)

    @property
    def content(self) -> Snapshot:
        return self.registry.current

    def is_admin(self, telegram_id: int) -> bool:
        return telegram_id in self.settings.admin_ids

    @property
    def state_expiry(self) -> timedelta:
        return timedelta(hours=self.settings.state_expiry_hours)
