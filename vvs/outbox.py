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

import asyncio
import contextlib
import html
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from sqlalchemy import delete, insert, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from vvs.clock import Clock
from vvs.db import QUEUED, SessionFactory, transaction
from vvs.i18n import _, use_language
from vvs.models import OutboxMessage
from vvs.privacy import LABEL_OUTBOX, ErasureStep
from vvs.ui import Button

log = logging.getLogger(__name__)
# a turn's reply, leased to its process (`Outbox.claimed_values`): written by the turn's end
# (`vvs.turnend`), built once
INSERT_REPLY = insert(OutboxMessage).returning(col(OutboxMessage.id))


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
    keyboard: str = ""  # a reply keyboard instead of buttons: "location", "contact", "remove"

    @classmethod
    def of(cls, text: str, buttons: Sequence[Sequence[Button]] = (),
           language: str = "fr") -> OutboundMessage:
        """Build from any rows of buttons (lists or tuples)."""
        return cls(text, tuple(tuple(row) for row in buttons), language)

    def to_payload(self) -> dict[str, Any]:
        """The JSON stored in `outbox_message.payload`."""
        rows = [[{"label": b.label, "data": b.data, "url": b.url} for b in row]
                for row in self.buttons]
        payload: dict[str, Any] = {"text": self.text, "buttons": rows, "lang": self.language}
        if self.keyboard:
            payload["kb"] = self.keyboard
        return payload

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> OutboundMessage:
        """Read a stored payload back (buttons without "url" were written before it was
        stored); raise ValueError for anything else."""
        text, rows, language = payload.get("text"), payload.get("buttons", []), \
            payload.get("lang", "fr")
        keyboard = payload.get("kb", "")
        if not isinstance(text, str) or not isinstance(language, str) \
                or not isinstance(rows, list) or keyboard not in KEYBOARDS:
            raise ValueError("malformed outbox payload")
        try:
            buttons = tuple(tuple(Button(str(b["label"]), b.get("data"), b.get("url"))
                                  for b in row) for row in rows)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError("malformed outbox buttons") from exc
        return cls(text, buttons, language, keyboard)


KEYBOARDS = ("", "location", "contact", "remove")
# sender(chat_id, message, possible_duplicate) -> Telegram message id
Sender = Callable[[int, OutboundMessage, bool], Awaitable[int | None]]
# callbacks run inside the transaction that records the result
SentHook = Callable[[AsyncSession, OutboxMessage], Awaitable[None]]
DeadHook = Callable[[AsyncSession, OutboxMessage, str], Awaitable[None]]


LEASE = timedelta(seconds=15)
ADMIN_ALERT = "admin_alert"
INLINE_WAIT = 10.0  # a longer flood wait leaves the reply to the worker
# The fast path's completions are recorded this long after the first of a batch: one
# deletion for the replies of many turns, well within the lease (a reply sent and not yet
# recorded is resent, labelled, only if the process dies in that window)
FLUSH_DELAY = 0.2
REPLY = "reply"  # a turn's answer: no hooks; a blocked chat drops it without an alert


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
        session.info[QUEUED] = True  # the caller wakes the worker once this commits
        return msg

    async def dead_letters(self, session: AsyncSession) -> list[OutboxMessage]:
        return list((await session.exec(
            select(OutboxMessage).where(col(OutboxMessage.status) == "dead"))).all())


class Outbox(OutboxWriter):
    """Enqueue, and deliver what is due with `sender`; hooks and alert chats are fixed here."""

    def __init__(self, sessions: SessionFactory, clock: Clock, sender: Sender, *,
                 hooks: OutboxHooks | None = None, alert_chat_ids: Iterable[int] = (),
                 max_attempts: int = 8, lease: timedelta = LEASE,
                 renew_every: float | None = None) -> None:
        super().__init__(clock)
        self.sessions = sessions
        self.sender = sender
        self.hooks = hooks or OutboxHooks()
        self.alert_chat_ids = tuple(sorted(alert_chat_ids))
        self.max_attempts = max_attempts
        self.lease = lease  # short: a dead sender's rows are taken again within seconds…
        # …so it is renewed while a send is in flight (the rate limiter may hold it longer)
        self.renew_every = renew_every if renew_every is not None else lease.total_seconds() / 3
        self._in_flight: set[int] = set()
        self._renewer: asyncio.Task[None] | None = None
        self._done: list[int] = []  # sent by the fast path, not yet recorded
        self._flusher: asyncio.Task[None] | None = None

    def claimed_values(self, chat_id: int, message: OutboundMessage, *,
                       user_key: str | None) -> dict[str, Any]:
        """The row of a turn's reply, leased to this process, which sends it right after the
        turn commits (`send_claimed`); if the process dies, the lease expires and the worker
        (of any replica) sends it. The turn writes it (`vvs.inbox.Inbox.finish`)."""
        now = self.clock.now()
        return {"chat_id": chat_id, "payload": message.to_payload(), "next_attempt_at": now,
                "created_at": now, "user_key": user_key, "purpose": REPLY,
                "locked_until": now + self.lease}

    async def send_claimed(self, msg_id: int, chat_id: int, message: OutboundMessage) -> bool:
        """The fast path: send a reply committed with `claimed_values` now. Its completion is
        recorded in a batch shortly after (one transaction for many replies). False when the
        chat can never be reached (blocked bot): the caller stops sending to it."""
        for attempt in (1, 2):  # one retry at once for an answer the user is waiting for
            try:
                await self._send(msg_id, chat_id, message, False)
            except RetryLater as exc:
                wait = exc.retry_after if exc.retry_after is not None else 1.0
                if attempt == 1 and wait <= INLINE_WAIT:
                    await asyncio.sleep(wait)
                    continue
                await self._retry(msg_id, str(exc), exc.retry_after, maybe_sent=False)
            except MaybeSent as exc:  # not retried at once: it may have been delivered
                await self._retry(msg_id, str(exc), None, maybe_sent=True)
            except Permanent as exc:
                log.info("reply %s not deliverable (%s): dropped", msg_id, exc)
                self._done.append(msg_id)
                self._schedule_flush()
                return False
            else:
                self._done.append(msg_id)
                self._schedule_flush()
            return True
        return True

    async def _send(self, msg_id: int, chat_id: int, message: OutboundMessage,
                    duplicate: bool) -> int | None:
        """Call the sender, the row's lease renewed meanwhile."""
        self._in_flight.add(msg_id)
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew())
        try:
            return await self.sender(chat_id, message, duplicate)
        finally:
            self._in_flight.discard(msg_id)

    async def _renew(self) -> None:
        """Extend the lease of every row being sent, in one statement, while there are any."""
        while self._in_flight:
            await asyncio.sleep(self.renew_every)
            ids = list(self._in_flight)
            if not ids:
                return
            try:
                async with transaction(self.sessions) as session:
                    await session.exec(update(OutboxMessage).where(
                        col(OutboxMessage.id).in_(ids), col(OutboxMessage.status) == "pending")
                        .values(locked_until=self.clock.now() + self.lease))
            except Exception:  # the next round tries again; the lease has slack
                log.exception("outbox lease renewal failed")

    async def close(self) -> None:
        """Stop the background tasks (renewal, batched completions) without waiting."""
        for task in (self._renewer, self._flusher):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def _schedule_flush(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(FLUSH_DELAY)
        await self.flush()

    async def flush(self) -> None:
        """Delete the replies the fast path delivered (their payload goes with them)."""
        failures = 0
        while self._done:
            ids, self._done = self._done, []
            try:
                async with transaction(self.sessions) as session:
                    await session.exec(delete(OutboxMessage).where(col(OutboxMessage.id).in_(ids)))
            except Exception:
                failures += 1
                self._done.extend(ids)
                if failures >= 5:  # left leased: resent, labelled, once the lease expires
                    log.exception("could not record %s delivered replies", len(ids))
                    self._done.clear()
                    return
                await asyncio.sleep(0.2 * failures)

    async def settle(self) -> None:
        """Wait for the fast path's sends in flight, then record what they delivered (at
        shutdown, and for tests that look at the table)."""
        while self._in_flight:
            await asyncio.sleep(0.01)
        await self.flush()

    async def deliver_due(self, limit: int = 50) -> int:
        """Try every due message once; return how many were delivered."""
        await self.flush()  # the fast path's deliveries first: never taken for due ones
        now = self.clock.now()
        async with transaction(self.sessions) as session:
            ids = await self._claim(session, now, limit)
        delivered = 0
        for msg_id in ids:
            delivered += await self._deliver_one(msg_id)
        return delivered

    async def _claim(self, session: AsyncSession, now: datetime, limit: int) -> list[int]:
        """Lease due rows. A row whose lease expired had a sender that died, perhaps after
        Telegram received the message: it is labelled as a possible duplicate."""
        locked = col(OutboxMessage.locked_until)
        free = or_(locked.is_(None), locked < now)
        query = (select(OutboxMessage.id, OutboxMessage.locked_until)
                 .where(col(OutboxMessage.status) == "pending",
                        col(OutboxMessage.next_attempt_at) <= now, free)
                 .order_by(col(OutboxMessage.id)).limit(limit))
        rows = list((await session.exec(query.with_for_update(skip_locked=True))).all())
        won = []
        for msg_id, locked_until in rows:
            values: dict[str, Any] = {"locked_until": now + self.lease}
            if locked_until is not None:
                log.warning("outbox message %s: its sender died; sent again, labelled", msg_id)
                values["possible_duplicate"] = True
            result = await session.exec(update(OutboxMessage).where(
                col(OutboxMessage.id) == msg_id, free).values(**values))
            if result.rowcount == 1 and msg_id is not None:
                won.append(msg_id)
        return won

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
            message_id = await self._send(msg_id, chat_id, message, dup)
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
        delete(OutboxMessage).where(col(OutboxMessage.user_key) == user_key)
    )
    return result.rowcount or 0


ERASURE = ErasureStep(LABEL_OUTBOX, _erase, order=60)
