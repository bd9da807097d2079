"""Who may enter the console, the one-time links `/console` sends, sessions and the audit.

A link is `<base>/login?t=<token>`; the token is random, signed with a key derived from the
pseudonym key (a forged token is refused before any database read), stored as a hash, valid
LINK_MINUTES and consumed once by the confirmation page's POST — never by the GET a link
preview or a prefetch makes. The session cookie holds another random token (hash stored);
each request re-reads the operator's role, so a removed referent loses access at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.console.models import (
    ADMIN,
    MEMBER_ROLES,
    REFERENT,
    VALIDATOR,
    ConsoleAudit,
    ConsoleLink,
    ConsoleMember,
    ConsoleSession,
)
from escalation.models import Referent
from vvs.i18n import _

LINK_MINUTES = 10
ROLE_LABELS = {ADMIN: "administrateur", VALIDATOR: "validateur (commission VVS)",
               REFERENT: "référent"}


def privacy_notice(session_hours: int, audit_days: int) -> str:
    """The `/confidentialite` line on the operators' console (`CONSOLE_SESSION_HOURS`,
    `CONSOLE_AUDIT_RETENTION_DAYS`): what it keeps about the referents, validators and admins
    who use it, and for how long."""
    return _(
        "• Console des opérateurs (référents, commission VVS, administrateurs) : votre nom, "
        "votre rôle et votre identifiant Telegram, tant que vous êtes inscrit ; une session "
        "dure au plus {hours} h. Chacune de vos actions (connexion, validation, modification, "
        "publication) est journalisée à votre nom et conservée {days} jours, même après "
        "/effacer (journal de contrôle) ; une version de contenu publiée garde le nom de son "
        "auteur."
    ).format(hours=session_hours, days=audit_days)


@dataclass(frozen=True)
class Operator:
    """A person in the console: their role, name and (referents) département."""

    telegram_id: int
    role: str
    name: str
    department: str | None = None

    @property
    def role_label(self) -> str:
        label = ROLE_LABELS.get(self.role, self.role)
        return f"{label} {self.department}" if self.department else label

    @property
    def validates(self) -> bool:
        """May validate, reject and edit the knowledge entries and flows."""
        return self.role in (ADMIN, VALIDATOR)

    def keeps(self, department: str) -> bool:
        """May confirm and correct this département's directory entries."""
        return self.role == ADMIN or (self.role == REFERENT and self.department == department)


@dataclass(frozen=True)
class Keys:
    """The secrets of the console, derived from the pseudonym key (one secret to keep)."""

    signing: bytes

    @classmethod
    def derive(cls, pseudonym_key: bytes) -> Keys:
        return cls(hmac.new(pseudonym_key, b"vvs-console-link-v1", hashlib.sha256).digest())

    def sign(self, value: str) -> str:
        return hmac.new(self.signing, value.encode(), hashlib.sha256).hexdigest()[:32]

    def signed(self, value: str) -> bool:
        body, _, signature = value.rpartition(".")
        return bool(body) and hmac.compare_digest(signature.encode(), self.sign(body).encode())

    def new_token(self) -> str:
        body = secrets.token_urlsafe(24)
        return f"{body}.{self.sign(body)}"

    def form_token(self, link_token: str) -> str:
        """The confirmation form's CSRF token: bound to the link it confirms."""
        return self.sign("csrf:" + link_token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def identify(session: AsyncSession, admin_ids: frozenset[int], telegram_id: int,
                   name: str) -> Operator | None:
    """The operator this Telegram user is (admin > validator > referent), or None."""
    member = (await session.exec(select(ConsoleMember).where(
        col(ConsoleMember.telegram_id) == telegram_id))).first()
    if telegram_id in admin_ids or (member is not None and member.role == ADMIN):
        return Operator(telegram_id, ADMIN, member.name if member else name)
    if member is not None and member.role == VALIDATOR:
        return Operator(telegram_id, VALIDATOR, member.name)
    referent = (await session.exec(select(Referent).where(
        col(Referent.telegram_id) == telegram_id, col(Referent.active).is_(True)))).first()
    if referent is not None:
        return Operator(telegram_id, REFERENT, referent.name, referent.department)
    return None


async def enrol(session: AsyncSession, now: datetime, *, telegram_id: int, role: str,
                name: str) -> ConsoleMember:
    """Enrol (or re-enrol) an admin or a validator with their name."""
    if role not in MEMBER_ROLES:
        raise ValueError(f"rôle inconnu {role!r} (attendu : {', '.join(MEMBER_ROLES)})")
    member = (await session.exec(select(ConsoleMember).where(
        col(ConsoleMember.telegram_id) == telegram_id))).first()
    if member is None:
        member = ConsoleMember(telegram_id=telegram_id, role=role, name=name[:80],
                               created_at=now)
    member.role, member.name = role, name[:80]
    session.add(member)
    await session.flush()
    return member


async def list_members(session: AsyncSession) -> list[ConsoleMember]:
    return list(await session.exec(select(ConsoleMember).order_by(
        col(ConsoleMember.role), col(ConsoleMember.name))))


async def remove_member(session: AsyncSession, telegram_id: int) -> bool:
    """Remove an admin or validator and close their sessions."""
    gone = await session.exec(delete(ConsoleMember).where(
        col(ConsoleMember.telegram_id) == telegram_id))
    await session.exec(delete(ConsoleSession).where(
        col(ConsoleSession.telegram_id) == telegram_id))
    return bool(gone.rowcount)


async def issue_link(session: AsyncSession, keys: Keys, now: datetime,
                     operator: Operator) -> str:
    """A new one-time token for this operator, valid LINK_MINUTES."""
    token = keys.new_token()
    session.add(ConsoleLink(token_hash=token_hash(token), telegram_id=operator.telegram_id,
                            name=operator.name[:80], created_at=now,
                            expires_at=now + timedelta(minutes=LINK_MINUTES)))
    return token


async def pending_link(session: AsyncSession, keys: Keys, now: datetime,
                       token: str) -> ConsoleLink | None:
    """The link this token opens, if signed, unused and unexpired (nothing is consumed)."""
    if not keys.signed(token):
        return None
    link = (await session.exec(select(ConsoleLink).where(
        col(ConsoleLink.token_hash) == token_hash(token)))).first()
    if link is None or link.used_at is not None or link.expires_at <= now:
        return None
    return link


@dataclass(frozen=True)
class Opened:
    """A new session: the cookie's token, the operator and the form token."""

    token: str
    operator: Operator
    csrf: str


async def open_session(session: AsyncSession, keys: Keys, now: datetime, token: str,
                       admin_ids: frozenset[int], lifetime: timedelta) -> Opened | None:
    """Consume the link (once, even with two requests at the same time) and open a session;
    None when the link is forged, used, expired, or its owner is no longer an operator."""
    link = await pending_link(session, keys, now, token)
    if link is None:
        return None
    used = await session.exec(update(ConsoleLink).where(
        col(ConsoleLink.id) == link.id, col(ConsoleLink.used_at).is_(None)).values(used_at=now))
    if used.rowcount != 1:
        return None
    operator = await identify(session, admin_ids, link.telegram_id, link.name)
    if operator is None:
        return None
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(ConsoleSession(token_hash=token_hash(cookie), telegram_id=link.telegram_id,
                               name=link.name, csrf=csrf, created_at=now,
                               expires_at=now + lifetime))
    return Opened(cookie, operator, csrf)


async def current(session: AsyncSession, now: datetime, cookie: str | None,
                  admin_ids: frozenset[int]) -> tuple[Operator, str] | None:
    """(operator, CSRF token) of the session this cookie holds, or None."""
    if not cookie or len(cookie) > 100:
        return None
    row = (await session.exec(select(ConsoleSession).where(
        col(ConsoleSession.token_hash) == token_hash(cookie)))).first()
    if row is None or row.expires_at <= now:
        return None
    operator = await identify(session, admin_ids, row.telegram_id, row.name)
    return (operator, row.csrf) if operator is not None else None


async def close_session(session: AsyncSession, cookie: str) -> None:
    await session.exec(delete(ConsoleSession).where(
        col(ConsoleSession.token_hash) == token_hash(cookie)))


async def audit(session: AsyncSession, now: datetime, operator: Operator, action: str,
                target: str = "", detail: str | None = None) -> None:
    """Record one console action: who (role, name), what, on what, when."""
    session.add(ConsoleAudit(at=now, role=operator.role, name=operator.name[:80],
                             action=action[:40], target=target[:200],
                             detail=detail[:500] if detail else None))


async def recent_audit(session: AsyncSession, limit: int = 200) -> list[ConsoleAudit]:
    return list(await session.exec(select(ConsoleAudit).order_by(
        col(ConsoleAudit.at).desc(), col(ConsoleAudit.id).desc()).limit(limit)))


async def purge(session: AsyncSession, now: datetime, audit_retention: timedelta) -> None:
    """Delete expired links and sessions, and audit rows older than the retention."""
    await session.exec(delete(ConsoleLink).where(col(ConsoleLink.expires_at) <= now))
    await session.exec(delete(ConsoleSession).where(col(ConsoleSession.expires_at) <= now))
    await session.exec(delete(ConsoleAudit).where(col(ConsoleAudit.at) < now - audit_retention))
