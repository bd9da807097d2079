"""What domain code returns for the user to see, independent of Telegram.

Handlers turn a `Reply` into Telegram calls. Text is Telegram HTML: domain code escapes
any variable part with `html.escape`. Button `data` is at most 64 bytes, of the form
`<prefix>:<args>`, and is never trusted when it comes back. `events` are what the reply
stands for in the statistics: the turn records them when it records the reply.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vvs.i18n import N_, _

if TYPE_CHECKING:  # the event types live with their recording (vvs.events)
    from vvs.events import Event

MENU_LABEL = N_("🏠 Menu")
MENU_DATA = "m:menu"  # the main menu: the way out of every end screen
CALLBACK_MAX_BYTES = 64
MESSAGE_MAX_CHARS = 4096
CAPTION_MAX_CHARS = 1024


@dataclass(frozen=True)
class Button:
    label: str
    data: str | None = None  # callback data, <= 64 bytes
    url: str | None = None

    def __post_init__(self) -> None:
        if self.data is not None and len(self.data.encode()) > CALLBACK_MAX_BYTES:
            raise ValueError(f"callback data too long: {self.data!r}")


@dataclass(frozen=True)
class Document:
    filename: str
    content: bytes
    caption: str = ""


@dataclass(frozen=True)
class Venue:
    lat: float
    lon: float
    title: str
    address: str


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    documents: tuple[Document, ...] = ()
    venues: tuple[Venue, ...] = ()
    request_location: bool = False  # show Telegram's "share my location" keyboard
    request_contact: bool = False  # show Telegram's "share my phone number" keyboard
    remove_keyboard: bool = False  # take Telegram's location/contact keyboard away
    events: tuple[Event, ...] = ()  # recorded by the turn that shows this reply


def rows(*buttons: Button, per_row: int = 1) -> tuple[tuple[Button, ...], ...]:
    """Lay buttons out `per_row` to a row."""
    return tuple(tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row))


def menu_button() -> Button:
    """« Menu »: the main menu, on every end screen (translated at display time)."""
    return Button(_(MENU_LABEL), MENU_DATA)


def with_rows(reply: Reply, *extra: tuple[Button, ...]) -> Reply:
    """The reply with more button rows after its own."""
    return dataclasses.replace(reply, buttons=(*reply.buttons, *extra))
