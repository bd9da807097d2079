"""A user's state read and written as a turn does (`vvs.turnend`), for tests of the state
store that need no bot around it."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from vvs.db import SessionFactory
from vvs.inbox import Inbox
from vvs.outbox import OutboxWriter
from vvs.state import Conversation, StateStore
from vvs.turnend import TurnEnd, TurnUnit, turn_unit

_UPDATE_IDS = itertools.count(10**12)  # each turn claims an update of its own


@dataclass
class StateTurn:
    conv: Conversation
    unit: TurnUnit  # `unit.session` for the turn's other writes
    wrote: bool = False  # the turn's end wrote the state row


@asynccontextmanager
async def state_turn(sessions: SessionFactory, store: StateStore, user_key: str
                     ) -> AsyncIterator[StateTurn]:
    """Load `user_key`'s state in a turn, and write what changed with the turn's end."""
    inbox = Inbox(sessions, store.clock, OutboxWriter(store.clock))
    async with turn_unit(sessions) as unit:
        turn = StateTurn(await unit.load(store, user_key), unit)
        yield turn
        changes = store.changes(turn.conv)
        turn.wrote = changes is not None
        await unit.end(inbox, TurnEnd(next(_UPDATE_IDS), False, changes,
                                      check_state=not turn.conv.forgotten))


async def read_state(sessions: SessionFactory, store: StateStore, user_key: str
                     ) -> Conversation:
    """`user_key`'s state as the next turn would read it (nothing written)."""
    async with turn_unit(sessions) as unit:
        return await unit.load(store, user_key)
