"""The per-user update processor: one user in order, others concurrently, no starvation."""

from __future__ import annotations

import asyncio

from telegram import Chat, Message, Update, User

from bot.app import PerUserProcessor


def update_of(user_id: int, update_id: int) -> Update:
    user = User(user_id, "A", is_bot=False)
    message = Message(update_id, None, Chat(user_id, "private"), from_user=user, text="x")
    return Update(update_id, message=message)


async def test_one_user_in_order_while_others_are_not_starved() -> None:
    processor = PerUserProcessor(max_concurrent_updates=2)
    order: list[tuple[int, int]] = []
    release = asyncio.Event()

    async def work(user_id: int, n: int, wait: bool) -> None:
        if wait:
            await release.wait()
        order.append((user_id, n))

    # user 1 floods with 10 updates, the first of which blocks
    tasks = [asyncio.create_task(processor.process_update(update_of(1, i), work(1, i, i == 0)))
             for i in range(10)]
    await asyncio.sleep(0.01)
    other = asyncio.create_task(processor.process_update(update_of(2, 99), work(2, 99, False)))
    await asyncio.wait_for(other, 1)  # served although user 1 has 10 updates queued
    release.set()
    await asyncio.gather(*tasks)
    assert [n for uid, n in order if uid == 1] == list(range(10))
    assert order[0] == (2, 99)
