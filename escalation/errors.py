"""Errors raised by the escalation use-cases; handlers turn them into plain French."""

from __future__ import annotations

from vvs.errors import NotAllowed, VVSError
from vvs.identity import Finding


class TooManyOpen(VVSError):
    """The physician already has MAX_OPEN_REQUESTS open requests."""


class TooManyActions(VVSError):
    """The physician created (or cancelled) REQUEST_LIMIT_PER_DAY requests in the last 24 h."""

    def __init__(self, action: str, limit: int) -> None:
        super().__init__(f"{action}: {limit}")
        self.action, self.limit = action, limit


class Blocked(NotAllowed):
    """The physician was blocked by a referent for abuse."""


class NoRecipient(VVSError):
    """No referent, no regional chat, no admin: nobody could receive the request."""


class AlreadyTaken(VVSError):
    """Someone else took the request first (or it is closed)."""

    def __init__(self, status: str, by: str | None) -> None:
        super().__init__(status)
        self.status, self.by = status, by


class NotTaken(VVSError):
    """Messages are relayed only while a referent has the request in charge."""


class InvalidCode(VVSError):
    """Unknown, used or expired invitation code."""


class IdentityFound(VVSError):
    """The text looks like it holds someone's identity; it was not sent."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__(",".join(f.kind for f in findings))
        self.findings = findings
