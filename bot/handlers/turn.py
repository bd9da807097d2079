"""One update's unit of work: the user's state, the session, and the replies to send."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services import Services
from vvs.events import Event, typed_values
from vvs.state import Conversation
from vvs.turnend import TurnUnit
from vvs.ui import Reply

if TYPE_CHECKING:  # the router's tables hold functions of a Turn
    from bot.handlers.router import Router


@runtime_checkable
class Located(Protocol):
    """A mode's state that knows the département the physician is acting for (a procedure's
    answer): the turn's events take it before the remembered one."""

    @property
    def department(self) -> str | None: ...


@dataclass
class Turn:
    """What a handler function receives; it appends `Reply`s and edits `conv`."""

    services: Services
    router: Router
    unit: TurnUnit
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
    entered: tuple[str, object | None] = ("", None)  # the mode and state the turn began in

    def __post_init__(self) -> None:
        self.entered = (self.conv.mode, self.conv.state)

    @property
    def session(self) -> AsyncSession:
        """The turn's session, for handlers that read or write more than the state (opened
        on first use: on PostgreSQL a turn without one costs two round trips)."""
        return self.unit.session

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

    @property
    def department(self) -> str | None:
        """The département the physician acts for: the procedure's answer, else the
        remembered one (None when neither is known)."""
        state = self.conv.state
        if isinstance(state, Located) and state.department:
            return state.department
        return self.conv.department

    def event_rows(self) -> list[dict[str, Any]]:
        """The turn's events as checked rows, which the runner writes with the turn's end
        (once), after asking the mode the turn left what leaving it meant."""
        mode, state = self.entered
        if state is not None and (self.conv.mode != mode or self.conv.state is not state):
            leave = self.router.leave.get(mode)
            if leave is not None:
                leave(self, state)
        # erased during this turn (/effacer): its events are no longer the user's
        user_key = None if self.conv.forgotten else self.user_key
        rows = [typed_values(self.services.clock, event, user_key=user_key,
                             user_department=self.department) for event in self.events]
        self.events.clear()
        return rows
