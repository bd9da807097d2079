"""PTB's update queue, which makes every update durable before Telegram is told it arrived.

Polling stores each update in the inbox before the next `getUpdates` confirms the offset.
The webhook queues the update and answers 200 once its turn has committed: the turn's claim
(`processed_update`, in the turn's transaction) is then what is durable, and the inbox is
not written at all. Only a turn that failed, or that has not committed after
`SETTLE_WAIT`, has its update stored before the 200. A process that dies before either
never answered: Telegram delivers the update again. The worker hands back (`requeue`) the
stored updates whose turn failed or whose process died (`vvs.inbox`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from telegram import Bot, Update

from vvs.inbox import Inbox

log = logging.getLogger(__name__)
STORE_PATIENCE = 2.0  # webhook: about 4 s of retries before answering 500
# webhook: how long the request waits for its turn to commit before storing the update
# (a content reload, a busy database); Telegram waits far longer for an answer
SETTLE_WAIT = 5.0


class _Waiting:
    """A webhook request waiting for its update's turn: `settled` gets None once the turn
    committed, or the error of a failed turn (the request then stores the update)."""

    __slots__ = ("settled", "storing")

    def __init__(self) -> None:
        self.settled: asyncio.Future[BaseException | None] = \
            asyncio.get_running_loop().create_future()
        self.storing = False


def is_turn(update: Update) -> bool:
    """Whether an update is a user's message or button press (what the inbox keeps): edits,
    membership changes, join requests, channel posts and bots are ignored."""
    if update.message is None and update.callback_query is None:
        return False
    user, chat = update.effective_user, update.effective_chat
    return user is not None and chat is not None and not user.is_bot


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
        self._waiting: dict[int, _Waiting] = {}

    async def put(self, item: object) -> None:
        """Store, then queue (a redelivery of an update still in the inbox is queued too:
        the turn's claim lets it through once)."""
        await self._store_then_queue(item, None)

    async def put_received(self, item: object, payload: dict[str, Any]) -> None:
        """The webhook's door: queue the update and return once it is durable — its turn
        committed, or it is stored (`payload`, the body as Telegram sent it). Raises when it
        could not be made durable: the webhook answers 500 and Telegram sends it again."""
        if not (isinstance(item, Update) and is_turn(item)) or item.update_id in self._waiting:
            await self._store_then_queue(item, payload)
            return
        waiting = self._waiting[item.update_id] = _Waiting()
        try:
            await super().put(item)
            try:
                error = await asyncio.wait_for(asyncio.shield(waiting.settled), SETTLE_WAIT)
            except TimeoutError:
                waiting.storing, error = True, None
            else:
                if error is None:
                    return  # the turn committed
            await self._store_patiently(item, payload)
            if error is not None:  # retried from the inbox after a short backoff
                await self.inbox.failed(item.update_id, error)
        finally:
            del self._waiting[item.update_id]

    def pending(self, update_id: int) -> bool:
        """Whether a webhook request is waiting for this update's turn, which then has no
        inbox row to delete (unless the request gave up waiting and is storing it)."""
        waiting = self._waiting.get(update_id)
        return waiting is not None and not waiting.storing

    def settle(self, update_id: int, error: BaseException | None = None) -> bool:
        """The turn of `update_id` committed (`error` None) or failed. True when a webhook
        request was waiting for it: it answers now, after storing a failed update."""
        waiting = self._waiting.get(update_id)
        if waiting is None or waiting.settled.done():
            return False
        waiting.settled.set_result(error)
        return True

    async def _store_then_queue(self, item: object, payload: dict[str, Any] | None) -> None:
        if isinstance(item, Update) and is_turn(item):
            await self._store_patiently(item, payload)
        await super().put(item)

    async def _store_patiently(self, update: Update, payload: dict[str, Any] | None) -> None:
        """Store the update, retrying a database error (a few seconds on the webhook, for
        as long as it takes when polling)."""
        user = update.effective_user
        key = self.user_key(user.id) if user else None
        delay = 0.1
        while True:
            try:
                await self.inbox.store(update.update_id,
                                       payload if payload is not None else update.to_dict(),
                                       key)
                return
            except Exception:
                if not self.patient and delay > STORE_PATIENCE:
                    raise
                log.warning("update %s not stored yet: retrying", update.update_id,
                            exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def requeue(self, bot: Bot) -> int:
        """Queue again the stored updates that are due (failed turn, dead process)."""
        stored = await self.inbox.due()
        for row in stored:
            update = Update.de_json(row.payload, bot)
            if update is not None:
                await super().put(update)
        return len(stored)
