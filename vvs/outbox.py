"""Outbox: messages that must not be lost, delivered by a worker with retries.

- 429 and 5xx: the message was not delivered; retry after `retry_after` or a backoff, so
  it is delivered exactly once.
- A timeout after sending: we cannot know; retry and label the copy as a possible
  duplicate (at-least-once).
- Permanent errors (bot blocked, chat not found): dead-letter, alert the admins, run the
  purpose's fallback; never retried forever.
The payload (it may hold relayed text) and the clear chat id are deleted once delivered.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from vvs.clock import Clock
from vvs.db import SessionFactory, transaction
from vvs.jobs import claim_rows
from vvs.models import OutboxMessage
from vvs.privacy import LABEL_OUTBOX, register_erasure

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """Base class of what a sender may raise."""


class RetryLater(DeliveryError):
    """Not delivered (429, 5xx, network error before sending)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MaybeSent(DeliveryError):
    """Timed out: the message may or may not have been delivered."""


class Permanent(DeliveryError):
    """Will never succeed (403 blocked, 400 chat not found)."""


# sender(chat_id, payload, possible_duplicate) -> Telegram message id
Sender = Callable[[int, dict[str, Any], bool], Awaitable[int | None]]
# callbacks run inside the transaction that records the result
SentHook = Callable[[AsyncSession, OutboxMessage], Awaitable[None]]
DeadHook = Callable[[AsyncSession, OutboxMessage, str], Awaitable[None]]


class Outbox:
    """Enqueue in the caller's transaction; `deliver_due` sends what is due."""

    def __init__(self, sessions: SessionFactory, clock: Clock, sender: Sender,
                 max_attempts: int = 8, lease: timedelta = timedelta(minutes=5)) -> None:
        self.sessions = sessions
        self.clock = clock
        self.sender = sender
        self.max_attempts = max_attempts
        self.lease = lease
        self.on_sent: dict[str, SentHook] = {}
        self.on_dead: dict[str, DeadHook] = {}
        self.dead_alert: DeadHook | None = None

    async def enqueue(self, session: AsyncSession, chat_id: int, payload: dict[str, Any], *,
                      user_key: str | None = None, purpose: str | None = None,
                      ref: str | None = None) -> OutboxMessage:
        """Add a message to deliver as soon as possible."""
        now = self.clock.now()
        msg = OutboxMessage(chat_id=chat_id, payload=payload, next_attempt_at=now,
                            created_at=now, user_key=user_key, purpose=purpose, ref=ref)
        session.add(msg)
        return msg

    async def deliver_due(self, limit: int = 50) -> int:
        """Try every due message once; return how many were delivered."""
        now = self.clock.now()
        async with transaction(self.sessions) as session:
            due = [OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now]
            ids = await claim_rows(session, OutboxMessage, due, now, self.lease, None, limit)
        delivered = 0
        for msg_id in ids:
            delivered += await self._deliver_one(msg_id)
        return delivered

    async def _deliver_one(self, msg_id: int) -> int:
        async with self.sessions() as session:
            msg = await session.get(OutboxMessage, msg_id)
            if msg is None or msg.status != "pending" or msg.chat_id is None:
                return 0
            chat_id, payload, dup = msg.chat_id, dict(msg.payload or {}), msg.possible_duplicate
        try:
            message_id = await self.sender(chat_id, payload, dup)
        except RetryLater as exc:
            await self._retry(msg_id, str(exc), exc.retry_after, maybe_sent=False)
            return 0
        except MaybeSent as exc:
            await self._retry(msg_id, str(exc), None, maybe_sent=True)
            return 0
        except Permanent as exc:
            await self._dead(msg_id, str(exc))
            return 0
        await self._sent(msg_id, message_id)
        return 1

    async def _sent(self, msg_id: int, message_id: int | None) -> None:
        async with transaction(self.sessions) as session:
            msg = await session.get(OutboxMessage, msg_id)
            if msg is None:
                return
            msg.status, msg.sent_at, msg.sent_message_id = "sent", self.clock.now(), message_id
            hook = self.on_sent.get(msg.purpose or "")
            if hook is not None:
                await hook(session, msg)
            msg.payload, msg.chat_id, msg.locked_until = None, None, None
            session.add(msg)

    async def _retry(self, msg_id: int, error: str, retry_after: float | None,
                     maybe_sent: bool) -> None:
        async with transaction(self.sessions) as session:
            msg = await session.get(OutboxMessage, msg_id)
            if msg is None:
                return
            msg.attempts += 1
            msg.last_error = error[:300]
            msg.possible_duplicate = msg.possible_duplicate or maybe_sent
            msg.locked_until = None
            if msg.attempts >= self.max_attempts:
                session.add(msg)
                reason = f"abandon après {msg.attempts} essais: {error}"
                await self._mark_dead(session, msg, reason)
                return
            backoff = min(2 ** msg.attempts, 600)
            delay = max(retry_after or 0, backoff if retry_after is None else 0)
            msg.next_attempt_at = self.clock.now() + timedelta(seconds=delay)
            session.add(msg)

    async def _dead(self, msg_id: int, error: str) -> None:
        async with transaction(self.sessions) as session:
            msg = await session.get(OutboxMessage, msg_id)
            if msg is not None:
                await self._mark_dead(session, msg, error)

    async def _mark_dead(self, session: AsyncSession, msg: OutboxMessage, error: str) -> None:
        log.warning("outbox message %s dead-lettered (%s): %s", msg.id, msg.purpose, error)
        msg.status, msg.last_error, msg.locked_until = "dead", error[:300], None
        hook = self.on_dead.get(msg.purpose or "")
        if hook is not None:
            await hook(session, msg, error)
        if self.dead_alert is not None:
            await self.dead_alert(session, msg, error)
        msg.payload, msg.chat_id = None, None  # the dead letter keeps only its metadata
        session.add(msg)

    async def dead_letters(self, session: AsyncSession) -> list[OutboxMessage]:
        return list((await session.exec(
            select(OutboxMessage).where(OutboxMessage.status == "dead")
        )).scalars())


async def _erase(session: AsyncSession, user_key: str) -> int:
    result = await session.exec(  # type: ignore[call-overload]
        delete(OutboxMessage).where(OutboxMessage.user_key == user_key)
    )
    return result.rowcount or 0


register_erasure("outbox", LABEL_OUTBOX, _erase, order=60)
