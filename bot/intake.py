"""PTB's update queue, in front of which every update is stored in the inbox.

Both transports put updates here: the webhook before answering 200, polling before the next
`getUpdates` confirms the offset to Telegram. So an update Telegram considers delivered is
in the database; the worker hands back (`requeue`) those whose turn failed or whose process
died (`vvs.inbox`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from telegram import Bot, Update

from bot.handlers.runner import is_turn
from vvs.inbox import Inbox

log = logging.getLogger(__name__)
STORE_PATIENCE = 2.0  # webhook: about 4 s of retries before answering 500


class InboxQueue(asyncio.Queue[object]):
    """An `asyncio.Queue` whose `put` stores a user's update durably before queuing it."""

    def __init__(self, inbox: Inbox, user_key: Callable[[int], str], *,
                 patient: bool = False) -> None:
        super().__init__()
        self.inbox = inbox
        self.user_key = user_key
        # polling: wait for the database however long it takes (PTB's polling loop stops
        # for good on an error that is not Telegram's; the offset stays unconfirmed meanwhile);
        # webhook: give up after a few seconds, Telegram gets a 500 and redelivers later
        self.patient = patient

    async def put(self, item: object) -> None:
        """Store, then queue (a redelivery of an update still in the inbox is queued too:
        the turn's claim lets it through once)."""
        await self.put_received(item, None)

    async def put_received(self, item: object, payload: dict[str, Any] | None) -> None:
        """`put`, storing `payload` — the body as Telegram sent it, which the webhook has at
        hand — rather than serialising the parsed update again."""
        if isinstance(item, Update) and is_turn(item):
            user = item.effective_user
            key = self.user_key(user.id) if user else None
            delay = 0.1
            while True:
                try:
                    await self.inbox.store(item.update_id,
                                           payload if payload is not None else item.to_dict(),
                                           key)
                    break
                except Exception:
                    if not self.patient and delay > STORE_PATIENCE:
                        raise
                    log.warning("update %s not stored yet: retrying", item.update_id,
                                exc_info=True)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
        await super().put(item)

    async def requeue(self, bot: Bot) -> int:
        """Queue again the stored updates that are due (failed turn, dead process)."""
        stored = await self.inbox.due()
        for row in stored:
            update = Update.de_json(row.payload, bot)
            if update is not None:
                await super().put(update)
        return len(stored)
