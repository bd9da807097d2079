"""What the bot keeps between a physician's messages while a request is drafted or relayed.

The field names are the keys stored in `user_state.data` (they predate the types)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EscalationDraft:
    """A request being prepared (modes esc_dept, esc_contact, esc_message, esc_confirm).

    `phone` and `msg` are the physician's own words: cleared with the state when the draft is
    abandoned past the expiry (`vvs.state.purge_expired`)."""

    cat: str  # category (escalation.texts.CATEGORIES)
    dept: str | None = None
    phone: str | None = None
    msg: str | None = None


@dataclass(frozen=True)
class RelayState:
    """After 'Répondre': the next text goes to the other side of request `id`."""

    id: int
