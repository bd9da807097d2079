"""One update's unit of work: the user's state, the session, and the replies to send."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services import Services
from vvs.events import record_event
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
    edit_pressed: bool = False  # replace the pressed message's keyboard with the first reply

    @property
    def user_key(self) -> str:
        return self.conv.user_key

    @property
    def is_private(self) -> bool:
        return self.chat_type == "private"

    def reply(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    async def event(self, kind: str, **fields: Any) -> None:
        """Record a pseudonymous event in this update's unit of work."""
        fields.setdefault("department", self.conv.department)
        await record_event(self.session, self.services.clock, kind, user_key=self.user_key,
                           **fields)
