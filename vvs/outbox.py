"""Outbox: messages that must not be lost, delivered by a worker with retries.

- 429 and 5xx: the message was not delivered; retry after `retry_after` or a backoff, so
  it is delivered exactly once.
- A timeout after sending: we cannot know; retry and label the copy as a possible
  duplicate (at-least-once).
- Permanent errors (bot blocked, chat not found): dead-letter, alert the admins, run the
  purpose's fallback; never retried forever.
The payload (it may hold relayed text) and the clear chat id are deleted once delivered.

What is sent is an `OutboundMessage` (text, inline buttons, language), stored as JSON by
`to_payload` and read back by `from_payload`: the one shape every producer and the sender
share.

Two types, so the wiring has no cycle: `OutboxWriter` only enqueues (domain services that
notify hold one), `Outbox` also delivers, with the sender and the hooks those services
provide, all given at construction.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Any

from sqlalchemy import delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from vvs.clock import Clock
from vvs.db import SessionFactory, transaction
from vvs.i18n import _, use_language
from vvs.jobs import claim_rows
from vvs.models import OutboxMessage
from vvs.privacy import LABEL_OUTBOX, ErasureStep
from vvs.ui import Button

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


@dataclass(frozen=True)
class OutboundMessage:
    """One message the outbox delivers: Telegram HTML text, inline buttons, and the language
    of the "possible duplicate" label."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    language: str = "fr"

    @classmethod
    def of(cls, text: str, buttons: Sequence[Sequence[Button]] = (),
           language: str = "fr") -> OutboundMessage:
        """Build from any rows of buttons (lists or tuples)."""
        return cls(text, tuple(tuple(row) for row in buttons), language)

    def to_payload(self) -> dict[str, Any]:
        """The JSON stored in `outbox_message.payload`."""
        rows = [[{"label": b.label, "data": b.data, "url": b.url} for b in row]
                for row in self.buttons]
        return {"text": self.text, "buttons": rows, "lang": self.language}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> OutboundMessage:
        """Read a stored payload back (buttons without "url" were written before it was
        stored); raise ValueError for anything else."""
        text, rows, language = payload.get("text"), payload.get("buttons", []), \
            payload.get("lang", "fr")
        if not isinstance(text, str) or not isinstance(language, str) \
                or not isinstance(rows, list):
            raise ValueError("malformed outbox payload")
        try:
            buttons = tuple(tuple(Button(str(b["label"]), b.get("data"), b.get("url"))
                                  for b in row) for row in rows)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError("malformed outbox buttons") from exc
        return cls(text, buttons, language)


# sender(chat_id, message, possible_duplicate) -> Telegram message id
Sender = Callable[[int, OutboundMessage, bool], Awaitable[int | None]]
# callbacks run inside the transaction that records the result
SentHook = Callable[[AsyncSession, OutboxMessage], Awaitable[None]]
DeadHook = Callable[[AsyncSession, OutboxMessage, str], Awaitable[None]]


ADMIN_ALERT = "admin_alert"


@dataclass(frozen=True)
class OutboxHooks:
    """What a feature does, by message purpose, once a message is sent or dead-lettered."""

    on_sent: Mapping[str, SentHook] = field(default_factory=dict)
    on_dead: Mapping[str, DeadHook] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "on_sent", MappingProxyType(dict(self.on_sent)))
        object.__setattr__(self, "on_dead", MappingProxyType(dict(self.on_dead)))


class OutboxWriter:
    """Enqueue in the caller's transaction (what domain code needs of the outbox)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def enqueue(self, session: AsyncSession, chat_id: int, message: OutboundMessage, *,
                      user_key: str | None = None, purpose: str | None = None,
                      ref: str | None = None) -> OutboxMessage:
        """Add a message to deliver as soon as possible."""
        now = self.clock.now()
        msg = OutboxMessage(chat_id=chat_id, payload=message.to_payload(), next_attempt_at=now,
                            created_at=now, user_key=user_key, purpose=purpose, ref=ref)
        session.add(msg)
        return msg

    async def dead_letters(self, session: AsyncSession) -> list[OutboxMessage]:
        return list((await session.exec(
            select(OutboxMessage).where(OutboxMessage.status == "dead")
        )).scalars())


class Outbox(OutboxWriter):
    """Enqueue, and deliver what is due with `sender`; hooks and alert chats are fixed here."""

    def __init__(self, sessions: SessionFactory, clock: Clock, sender: Sender, *,
                 hooks: OutboxHooks | None = None, alert_chat_ids: Iterable[int] = (),
                 max_attempts: int = 8, lease: timedelta = timedelta(minutes=5)) -> None:
        super().__init__(clock)
        self.sessions = sessions
        self.sender = sender
        self.hooks = hooks or OutboxHooks()
        self.alert_chat_ids = tuple(sorted(alert_chat_ids))
        self.max_attempts = max_attempts
        self.lease = lease

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
            message = OutboundMessage.from_payload(payload)
        except ValueError as exc:
            await self._dead(msg_id, str(exc))
            return 0
        try:
            message_id = await self.sender(chat_id, message, dup)
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
            hook = self.hooks.on_sent.get(msg.purpose or "")
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
        hook = self.hooks.on_dead.get(msg.purpose or "")
        if hook is not None:
            await hook(session, msg, error)
        await self._alert(session, msg, error)
        msg.payload, msg.chat_id = None, None  # the dead letter keeps only its metadata
        session.add(msg)

    async def _alert(self, session: AsyncSession, msg: OutboxMessage, error: str) -> None:
        """Tell the admins (never about their own alerts: no loop)."""
        if msg.purpose == ADMIN_ALERT:
            return
        with use_language("fr"):
            text = _("⚠️ Message non délivrable ({purpose}) après {n} essai(s) : {error}"
                     ).format(purpose=msg.purpose or "-", n=msg.attempts + 1,
                              error=html.escape(error[:200]))
        for chat_id in self.alert_chat_ids:
            await self.enqueue(session, chat_id, OutboundMessage(text), purpose=ADMIN_ALERT)


async def _erase(session: AsyncSession, user_key: str) -> int:
    result = await session.exec(
        delete(OutboxMessage).where(OutboxMessage.user_key == user_key)
    )
    return result.rowcount or 0


ERASURE = ErasureStep(LABEL_OUTBOX, _erase, order=60)
