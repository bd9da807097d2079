"""PTB's update queue, in front of which every update is stored in the inbox.

Both transports put updates here: the webhook before answering 200, polling before the next
`getUpdates` confirms the offset to Telegram. So an update Telegram considers delivered is
in the database; the worker hands back (`requeue`) those whose turn failed or whose process
died (`vvs.inbox`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from telegram import Bot, Update

from bot.handlers.runner import is_turn
from vvs.inbox import Inbox


class InboxQueue(asyncio.Queue[object]):
    """An `asyncio.Queue` whose `put` stores a user's update durably before queuing it."""

    def __init__(self, inbox: Inbox, user_key: Callable[[int], str]) -> None:
        super().__init__()
        self.inbox = inbox
        self.user_key = user_key

    async def put(self, item: object) -> None:
        """Store, then queue (a redelivery of an update still in the inbox is queued too:
        the turn's claim lets it through once)."""
        if isinstance(item, Update) and is_turn(item):
            user = item.effective_user
            await self.inbox.store(item.update_id, item.to_dict(),
                                   self.user_key(user.id) if user else None)
        await super().put(item)

    async def requeue(self, bot: Bot) -> int:
        """Queue again the stored updates that are due (failed turn, dead process)."""
        stored = await self.inbox.due()
        for row in stored:
            update = Update.de_json(row.payload, bot)
            if update is not None:
                await super().put(update)
        return len(stored)
