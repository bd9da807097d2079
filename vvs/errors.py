"""One small exception hierarchy for domain code; handlers turn these into plain French."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # vvs.content raises ContentInvalid
    from vvs.content import ContentError


class VVSError(Exception):
    """Base class of every error raised on purpose by the project."""


class ConfigError(VVSError):
    """A setting is missing or malformed; the message names the variable."""


class ContentInvalid(VVSError):
    """Admin-edited content failed validation; carries the list of errors."""

    def __init__(self, errors: list[ContentError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class StaleAction(VVSError):
    """A button or step that is no longer valid (old keyboard, forged data)."""


class NotAllowed(VVSError):
    """The user may not perform this action (e.g. a non-referent pressing 'take')."""


class StateMoved(VVSError):
    """PostgreSQL: the user's state changed between a turn's read and its end (another
    replica's turn, a retried update): the turn was undone; run it again."""
