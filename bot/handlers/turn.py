"""One update's unit of work: the user's state, the session, and the replies to send."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services import Services
from vvs.events import Event, record
from vvs.state import Conversation
from vvs.ui import Reply

if TYPE_CHECKING:  # the router's tables hold functions of a Turn
    from bot.handlers.router import Router


@dataclass
class Turn:
    """What a handler function receives; it appends `Reply`s and edits `conv`."""

    services: Services
    router: Router
    session: AsyncSession
    conv: Conversation
    user_id: int
    chat_id: int
    chat_type: str
    first_name: str
    username: str | None
    text: str = ""
    args: list[str] = field(default_factory=list)
    callback: str | None = None
    message_id: int | None = None  # the message whose button was pressed
    reply_to_message_id: int | None = None
    location: tuple[float, float] | None = None
    contact_phone: str | None = None
    replies: list[Reply] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)  # the replies' and `note`d, in order
    edit_pressed: bool = False  # replace the pressed message's keyboard with the first reply
    queued: bool = False  # the turn added outbox rows or jobs for the worker
    flood_warning: str = ""  # the update was set aside by flood control: say so, once

    @property
    def user_key(self) -> str:
        return self.conv.user_key

    @property
    def is_private(self) -> bool:
        return self.chat_type == "private"

    def reply(self, *replies: Reply) -> None:
        """Show these replies; their events are recorded with the turn."""
        self.replies.extend(replies)
        self.events.extend(event for reply in replies for event in reply.events)

    def note(self, *events: Event) -> None:
        """An event that no reply carries (e.g. a deep link, before the flow's first step)."""
        self.events.extend(events)

    def discard(self) -> None:
        """Forget the replies so far and their events (a stale button: nothing happened)."""
        self.replies.clear()
        self.events.clear()

    async def record_events(self) -> None:
        """Record the turn's events in its unit of work (the runner calls this once)."""
        for event in self.events:
            await record(self.session, self.services.clock, event, user_key=self.user_key,
                         user_department=self.conv.department)
        self.events.clear()
