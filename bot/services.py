"""Everything handlers may use, built once by `bot.compose.compose`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot
from telegram.ext import Application

from bot.intake import InboxQueue
from escalation.service import EscalationService
from vvs.clock import Clock
from vvs.content import ContentRegistry, Snapshot
from vvs.db import SessionFactory
from vvs.flood import FloodGuard
from vvs.inbox import Inbox
from vvs.jobs import JobQueue
from vvs.outbox import Outbox
from vvs.privacy import ErasureStep, pseudonym
from vvs.settings import Settings
from vvs.state import StateStore

if TYPE_CHECKING:  # the router's tables hold handler functions, which receive Services
    from bot.handlers.router import Router

App = Application[Any, Any, Any, Any, Any, Any]


@dataclass(frozen=True)
class Services:
    """The application's collaborators; one instance per process, never changed."""

    settings: Settings
    clock: Clock
    engine: AsyncEngine
    sessions: SessionFactory
    registry: ContentRegistry
    state: StateStore
    flood: FloodGuard
    pseudonym_key: bytes
    escalations: EscalationService
    erasure: tuple[ErasureStep, ...]  # what /effacer runs, in order
    bot: Bot
    outbox: Outbox
    inbox: Inbox
    intake: InboxQueue  # the application's update queue (the webhook's door, `requeue`)
    jobs: JobQueue
    router: Router
    application: App
    wake: asyncio.Event = field(default_factory=asyncio.Event)

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
