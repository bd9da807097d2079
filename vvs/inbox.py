"""Inbox: every update is stored before Telegram is told it arrived, and processed once.

- `store` inserts the raw update (its own short transaction) before the webhook answers 200
  and before polling confirms the offset: a process killed afterwards loses nothing.
- The turn claims the update id (`processed_update`) and deletes the inbox row in its own
  transaction (`claim`, with the turn's other writes: `vvs.turnend`): the raw update never
  outlives its processing, and a redelivered or reposted update finds the claim and does
  nothing.
- A turn that fails leaves the row; `failed` records the error class and a short backoff,
  and the worker (`due`) hands the row back to the application; after `max_attempts` the row
  is parked, the admins are alerted with the update id and the error class only, and it is
  purged after the processed-update retention (or by `/effacer`).
- A row whose lease (`locked_until`) expired while nobody recorded a result is one whose
  process died: the worker takes it again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    bindparam,
    delete,
    insert,
    or_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from vvs.clock import Clock
from vvs.db import SessionFactory, transaction
from vvs.i18n import N_, _, use_language
from vvs.models import InboxUpdate
from vvs.outbox import ADMIN_ALERT, OutboundMessage, OutboxWriter
from vvs.privacy import ErasureStep

log = logging.getLogger(__name__)
# Built once (every update runs them): see vvs.state
_INSERT = insert(InboxUpdate)
# a turn's end deletes its update's row (`vvs.turnend`; PostgreSQL's end has it in its SQL)
DELETE_STORED = delete(InboxUpdate).where(col(InboxUpdate.update_id) == bindparam("u"))

LABEL_INBOX = N_("les messages reçus de vous qui n'ont pas pu être traités")


def privacy_notice(retention_hours: int) -> str:
    """The `/confidentialite` line on received messages (`PROCESSED_UPDATE_RETENTION_HOURS`)."""
    return _(
        "• Chaque message reçu est enregistré le temps de son traitement, puis effacé (avec "
        "son empreinte dans les fichiers de la base). Un message qui n'a pas pu être traité "
        "après plusieurs essais est conservé au plus {hours} heures pour que l'équipe "
        "technique comprenne l'erreur (les administrateurs ne reçoivent que son numéro et le "
        "type d'erreur) ; /effacer le supprime aussi."
    ).format(hours=retention_hours)


@dataclass(frozen=True)
class Stored:
    """An inbox row handed back to the application."""

    update_id: int
    payload: dict[str, Any]


class Inbox:
    """Store, claim, retry and park received updates."""

    def __init__(self, sessions: SessionFactory, clock: Clock, outbox: OutboxWriter, *,
                 alert_chat_ids: tuple[int, ...] = (), max_attempts: int = 3,
                 lease: timedelta = timedelta(seconds=60)) -> None:
        self.sessions = sessions
        self.clock = clock
        self.outbox = outbox
        self.alert_chat_ids = tuple(sorted(alert_chat_ids))
        self.max_attempts = max_attempts
        self.lease = lease  # a row this long in flight is taken to be abandoned

    async def store(self, update_id: int, payload: dict[str, Any],
                    user_key: str | None) -> bool:
        """Insert the update (one statement). False when it is already there: a redelivery
        of an update not processed yet (the worker, or the turn in flight, has it)."""
        now = self.clock.now()
        try:
            async with transaction(self.sessions) as session:
                await (await session.connection()).execute(_INSERT, {
                    "update_id": update_id, "payload": payload, "user_key": user_key,
                    "received_at": now, "attempts": 0, "locked_until": now + self.lease})
        except IntegrityError:
            return False
        return True

    async def drop(self, update_id: int) -> None:
        """Delete the inbox row of an update processed already (a repost, a redelivery)."""
        async with transaction(self.sessions) as session:
            await session.exec(delete(InboxUpdate).where(col(InboxUpdate.update_id) == update_id))

    async def failed(self, update_id: int, error: BaseException) -> bool:
        """Record a failed turn; park the update after `max_attempts` (and alert the admins
        with the update id and the error class, nothing else). True when parked."""
        error_class = type(error).__name__[:80]
        async with transaction(self.sessions) as session:
            row = await session.get(InboxUpdate, update_id)
            if row is None:
                return False
            row.attempts += 1
            row.last_error = error_class
            now = self.clock.now()
            if row.attempts >= self.max_attempts:
                row.parked_at, row.locked_until = now, None
                session.add(row)
                log.error("update %s parked after %s failed turns (%s)", update_id,
                          row.attempts, error_class)
                await self._alert(session, update_id, row.attempts, error_class)
                return True
            row.locked_until = now + timedelta(seconds=2 ** (row.attempts - 1))
            session.add(row)
        log.warning("turn of update %s failed (%s): retried from the inbox", update_id,
                    error_class)
        return False

    async def due(self, limit: int = 20) -> list[Stored]:
        """Lease the rows to process again: failed turns past their backoff, and updates whose
        process died (lease expired)."""
        now = self.clock.now()
        async with transaction(self.sessions) as session:
            locked = col(InboxUpdate.locked_until)
            free = or_(locked.is_(None), locked < now)
            query = (select(InboxUpdate.update_id)
                     .where(col(InboxUpdate.parked_at).is_(None), free)
                     .order_by(col(InboxUpdate.update_id)).limit(limit))
            ids = list((await session.exec(query.with_for_update(skip_locked=True))).all())
            won: list[Stored] = []
            for update_id in ids:
                result = await session.exec(
                    update(InboxUpdate).where(col(InboxUpdate.update_id) == update_id, free)
                    .values(locked_until=now + self.lease))
                if result.rowcount == 1:
                    row = await session.get(InboxUpdate, update_id)
                    if row is not None and row.payload is not None:
                        won.append(Stored(update_id, dict(row.payload)))
        return won

    async def purge_parked(self, retention: timedelta) -> int:
        """Erase parked updates older than the retention."""
        async with transaction(self.sessions) as session:
            result = await session.exec(delete(InboxUpdate).where(
                col(InboxUpdate.parked_at).is_not(None),
                col(InboxUpdate.parked_at) < self.clock.now() - retention))
            return result.rowcount or 0

    async def _alert(self, session: AsyncSession, update_id: int, attempts: int,
                     error_class: str) -> None:
        with use_language("fr"):
            text = _("⚠️ Message reçu mis de côté après {n} échecs de traitement (mise à jour "
                     "{update_id}, erreur {error}).").format(n=attempts, update_id=update_id,
                                                            error=error_class)
        for chat_id in self.alert_chat_ids:
            await self.outbox.enqueue(session, chat_id, OutboundMessage(text),
                                      purpose=ADMIN_ALERT)


async def _erase(session: AsyncSession, user_key: str) -> int:
    result = await session.exec(delete(InboxUpdate).where(col(InboxUpdate.user_key) == user_key))
    return result.rowcount or 0


ERASURE = ErasureStep(LABEL_INBOX, _erase, order=55)
