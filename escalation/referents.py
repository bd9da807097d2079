"""Referent enrolment: by an admin (`vvs-admin referents`), or with a one-time invitation."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from escalation.errors import InvalidCode
from escalation.models import TAKEN, Escalation, InviteCode, Referent
from escalation.service import EscalationService
from escalation.texts import REGIONAL
from vvs.departements import IDF_DEPARTMENTS
from vvs.events import ReferentEnrolled, ReferentRemoved, record
from vvs.i18n import _

DEPARTMENTS = (*IDF_DEPARTMENTS, REGIONAL)


def code_hash(code: str) -> str:
    """Only this hash is stored: a leaked table does not reveal a usable code."""
    return hashlib.sha256(code.strip().encode()).hexdigest()


def check_department(department: str) -> str:
    if department not in DEPARTMENTS:
        raise ValueError(f"département inconnu {department!r} (attendu : "
                         f"{', '.join(DEPARTMENTS)})")
    return department


async def add_referent(service: EscalationService, session: AsyncSession, *, department: str,
                       telegram_id: int | None = None, chat_id: int | None = None,
                       name: str) -> Referent:
    """Enrol (or re-enrol) a person (`telegram_id`) or a group (`chat_id`)."""
    check_department(department)
    column = col(Referent.telegram_id) if telegram_id is not None else col(Referent.chat_id)
    wanted = telegram_id if telegram_id is not None else chat_id
    ref = (await session.exec(select(Referent).where(column == wanted))).first()
    if ref is None:
        ref = Referent(telegram_id=telegram_id, chat_id=chat_id, department=department,
                       name=name[:80], created_at=service.clock.now())
    ref.department, ref.name, ref.active = department, name[:80], True
    session.add(ref)
    await session.flush()
    await record(session, service.clock, ReferentEnrolled(department, chat_id is not None))
    return ref


async def list_referents(session: AsyncSession) -> list[Referent]:
    return list(await session.exec(select(Referent).order_by(
        col(Referent.department), col(Referent.id))))


async def remove_referent(service: EscalationService, session: AsyncSession,
                          ident: int) -> tuple[Referent, int] | None:
    """Remove a person or group; a person's taken requests go back to open (re-notified)."""
    ref = (await session.exec(select(Referent).where(
        or_(col(Referent.telegram_id) == ident, col(Referent.chat_id) == ident)))).first()
    if ref is None:
        return None
    taken = list(await session.exec(select(Escalation).where(
        col(Escalation.taken_by) == ref.id, col(Escalation.status) == TAKEN)))
    ref.active = False
    session.add(ref)
    await session.flush()
    for esc in taken:
        await service.reopen(session, esc)
    await session.delete(ref)  # the clear Telegram id goes with it
    await record(session, service.clock, ReferentRemoved(ref.department))
    return ref, len(taken)


async def make_invite(service: EscalationService, session: AsyncSession,
                      department: str) -> str:
    """A one-time code valid INVITE_EXPIRY_HOURS; returned once, stored as a hash."""
    check_department(department)
    code = secrets.token_urlsafe(12)
    now = service.clock.now()
    session.add(InviteCode(code_hash=code_hash(code), department=department, created_at=now,
                           expires_at=now + service.config.invite_expiry))
    return code


async def enrol_with_code(service: EscalationService, session: AsyncSession, code: str, *,
                          name: str | None, telegram_id: int | None = None,
                          chat_id: int | None = None) -> Referent:
    """/inscription CODE: the code works once, before it expires."""
    now = service.clock.now()
    invite = (await session.exec(select(InviteCode).where(
        col(InviteCode.code_hash) == code_hash(code)))).first()
    if invite is None or invite.used_at is not None or invite.expires_at <= now:
        raise InvalidCode("invitation")
    used = await session.exec(update(InviteCode).where(
        col(InviteCode.id) == invite.id, col(InviteCode.used_at).is_(None)).values(used_at=now))
    if used.rowcount != 1:
        raise InvalidCode("invitation")
    if name is None:
        name = _("Groupe des référents {dept}").format(dept=invite.department)
    return await add_referent(service, session, department=invite.department,
                              telegram_id=telegram_id, chat_id=chat_id, name=name)
