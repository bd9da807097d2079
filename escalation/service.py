"""Escalation use-cases: create, take, release, reassign, close, cancel, relay, timers.

Every use-case runs in the caller's unit of work (`session`); every notification goes
through the outbox in that same transaction, so a request is never half-created nor lost.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, update
from sqlalchemy.orm import Mapped
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from escalation import texts
from escalation.errors import (
    AlreadyTaken,
    Blocked,
    IdentityFound,
    NoRecipient,
    NotTaken,
    TooManyActions,
    TooManyOpen,
)
from escalation.models import (
    CANCELLED,
    CLOSED,
    LIVE,
    OPEN,
    TAKEN,
    BlockedUser,
    Escalation,
    EscalationNotice,
    Referent,
    RelayMessage,
)
from escalation.texts import REGIONAL, info, notification
from vvs.clock import Clock
from vvs.departements import IDF_DEPARTMENTS
from vvs.errors import NotAllowed, StaleAction
from vvs.events import (
    EscalationBlocked,
    EscalationCancelled,
    EscalationClosed,
    EscalationCreated,
    EscalationEscalated,
    EscalationReassigned,
    EscalationRelayed,
    EscalationReleased,
    EscalationReminded,
    EscalationTaken,
    Event,
    record,
)
from vvs.i18n import N_, _, use_language
from vvs.identity import detect_identity
from vvs.jobs import JobHandler, JobScheduler
from vvs.models import OutboxMessage
from vvs.outbox import OutboundMessage, OutboxHooks, OutboxWriter
from vvs.privacy import ErasureStep
from vvs.settings import Settings
from vvs.ui import Button

log = logging.getLogger(__name__)

NOTIFY, REGIONAL_NOTIFY, RELAY, PHYSICIAN, INFO, DETAILS = (
    "esc_notify", "esc_regional", "esc_relay", "esc_physician", "esc_info", "esc_details")
JOB_REMIND, JOB_ESCALATE, JOB_PURGE = "esc_remind", "esc_escalate", "esc_purge"
MAX_MESSAGE = 1000
LABEL_ESCALATIONS = N_("vos demandes de contact avec un référent (annulées et supprimées)")


@dataclass(frozen=True)
class EscalationConfig:
    """The escalation settings (see README), in domain units."""

    reminder: timedelta = timedelta(minutes=240)
    regional: timedelta = timedelta(minutes=1440)
    regional_chat_id: int | None = None
    max_open: int = 3
    actions_per_day: int = 3  # creations, and cancellations, per physician in any 24 h
    retention: timedelta = timedelta(days=30)
    block_retention: timedelta = timedelta(days=365)
    invite_expiry: timedelta = timedelta(hours=72)
    fallback_chat_ids: tuple[int, ...] = ()  # admins, when no regional chat is configured

    @classmethod
    def from_settings(cls, settings: Settings) -> EscalationConfig:
        """Build from the service's settings."""
        return cls(
            reminder=timedelta(minutes=settings.escalation_reminder_minutes),
            regional=timedelta(minutes=settings.escalation_regional_minutes),
            regional_chat_id=settings.regional_chat_id,
            max_open=settings.max_open_requests,
            actions_per_day=settings.request_limit_per_day,
            retention=timedelta(days=settings.escalation_retention_days),
            block_retention=timedelta(days=settings.block_retention_days),
            invite_expiry=timedelta(hours=settings.invite_expiry_hours),
            fallback_chat_ids=tuple(sorted(settings.admin_ids)),
        )


def _minutes(since: datetime, now: datetime) -> float:
    return round((now - since).total_seconds() / 60, 1)


def _ref_id(ref: str | None) -> int | None:
    """Escalation id from an outbox `ref` of the form 'esc:<id>:…'."""
    parts = (ref or "").split(":")
    return int(parts[1]) if len(parts) >= 2 and parts[0] == "esc" and parts[1].isdigit() \
        else None


class EscalationService:
    """The escalation use-cases, bound to the outbox, the job scheduler and the clock.

    It registers nothing anywhere: the composition root asks it for its job handlers, its
    outbox hooks and its erasure step, and passes them to the parts that run them.
    """

    def __init__(self, outbox: OutboxWriter, jobs: JobScheduler, clock: Clock,
                 config: EscalationConfig) -> None:
        self.outbox, self.jobs, self.clock, self.config = outbox, jobs, clock, config

    def job_handlers(self) -> dict[str, JobHandler]:
        """The durable jobs this service schedules, by kind."""
        return {JOB_REMIND: self._job_remind, JOB_ESCALATE: self._job_escalate,
                JOB_PURGE: self._job_purge}

    def outbox_hooks(self) -> OutboxHooks:
        """What happens when a notification or a relay is delivered, or cannot be."""
        return OutboxHooks(
            on_sent={NOTIFY: self._notice_sent, REGIONAL_NOTIFY: self._notice_sent,
                     RELAY: self._relay_sent, DETAILS: self._notice_sent},
            on_dead={NOTIFY: self._notice_dead, DETAILS: self._details_dead})

    def erasure_step(self) -> ErasureStep:
        """/effacer withdraws the physician's requests first (the referents are told)."""
        return ErasureStep(LABEL_ESCALATIONS, self.erase_user, order=40)

    async def _record(self, session: AsyncSession, event: Event,
                      user_key: str | None = None) -> None:
        """Events of a request carry no user key (they happen in jobs and referents' turns),
        except its creation."""
        await record(session, self.clock, event, user_key=user_key)

    # ------------------------------------------------------------------ lookups

    async def get(self, session: AsyncSession, esc_id: int) -> Escalation:
        """The escalation, or StaleAction when it no longer exists."""
        esc = await session.get(Escalation, esc_id)
        if esc is None:
            raise StaleAction(f"escalation {esc_id}")
        return esc

    async def referent(self, session: AsyncSession, telegram_id: int) -> Referent | None:
        """The active person referent with this Telegram id, if any."""
        return (await session.exec(select(Referent).where(
            col(Referent.telegram_id) == telegram_id, col(Referent.active).is_(True)))).first()

    async def department_referents(self, session: AsyncSession, department: str
                                   ) -> list[Referent]:
        """Active referents and groups enrolled for a département."""
        return list(await session.exec(select(Referent).where(
            col(Referent.department) == department, col(Referent.active).is_(True))
            .order_by(col(Referent.id))))

    async def authorised(self, session: AsyncSession, esc: Escalation,
                         telegram_id: int) -> Referent:
        """The referent acting on `esc`, or NotAllowed (not enrolled, other département)."""
        ref = await self.referent(session, telegram_id)
        if ref is None or ref.department not in (esc.department, REGIONAL):
            raise NotAllowed(f"escalation {esc.id}")
        return ref

    async def in_charge(self, session: AsyncSession, esc_id: int, telegram_id: int
                        ) -> tuple[Escalation, Referent]:
        """The escalation and its referent in charge, when `telegram_id` is that referent."""
        esc = await self.get(session, esc_id)
        ref = await self.authorised(session, esc, telegram_id)
        if esc.status != TAKEN or esc.taken_by != ref.id:
            raise NotTaken(f"escalation {esc_id}")
        return esc, ref

    async def live_for(self, session: AsyncSession, user_key: str) -> list[Escalation]:
        """A physician's open and taken requests."""
        return list(await session.exec(select(Escalation).where(
            col(Escalation.user_key) == user_key, col(Escalation.status).in_(LIVE))
            .order_by(col(Escalation.id))))

    async def cases_for(self, session: AsyncSession, ref: Referent) -> list[Escalation]:
        """A referent's cases: open ones of their département, and those they took."""
        status = col(Escalation.status)
        mine = status == OPEN
        if ref.department != REGIONAL:
            mine = and_(mine, col(Escalation.department) == ref.department)
        return list(await session.exec(select(Escalation).where(or_(
            mine,
            and_(status == TAKEN, col(Escalation.taken_by) == ref.id))
        ).order_by(col(Escalation.id))))

    async def by_reply(self, session: AsyncSession, chat_id: int, message_id: int
                       ) -> Escalation | None:
        """The escalation a message (a relayed one or a notification) belongs to."""
        relay = (await session.exec(select(col(RelayMessage.escalation_id)).where(
            col(RelayMessage.chat_id) == chat_id, col(RelayMessage.message_id) == message_id)
        )).first()
        if relay is None:
            relay = (await session.exec(select(col(EscalationNotice.escalation_id)).where(
                col(EscalationNotice.chat_id) == chat_id,
                col(EscalationNotice.message_id) == message_id)
            )).first()
        return await session.get(Escalation, relay) if relay is not None else None

    # ------------------------------------------------------------------ create

    async def create(self, session: AsyncSession, *, user_key: str, chat_id: int,
                     name: str, department: str, category: str, phone: str | None = None,
                     message: str | None = None, language: str = "fr") -> Escalation:
        """Record a request and notify the département's referents (or the regional chat)."""
        await self._check_create(session, user_key, department, category, phone, message)
        referents = await self.department_referents(session, department)
        if not referents and not self._regional_chats():
            # refused before anything is stored: no request waits "en attente" for nobody
            raise NoRecipient(department)
        now = self.clock.now()
        esc = Escalation(user_key=user_key, chat_id=chat_id, physician_name=name[:120],
                         phone=(phone or None) and phone[:32], language=language,
                         message=(message or None) and message[:MAX_MESSAGE],
                         department=department, category=category, created_at=now)
        session.add(esc)
        await session.flush()
        for ref in referents:
            await self._enqueue(session, ref.notify_chat,
                                notification(esc, message, "new", not ref.is_group),
                                esc, NOTIFY, "new")
        if not referents:
            await self._to_regional(session, esc, message, detail="no_referent")
        await self._schedule_timers(session, esc)
        await self._record(session, EscalationCreated(department, category, not referents),
                           user_key=user_key)
        return esc

    async def _check_create(self, session: AsyncSession, user_key: str, department: str,
                            category: str, phone: str | None, message: str | None) -> None:
        if category not in texts.CATEGORIES or department not in IDF_DEPARTMENTS:
            raise StaleAction(f"{category}/{department}")
        if await session.get(BlockedUser, user_key) is not None:
            raise Blocked(user_key[:8])
        live = (await session.exec(select(func.count()).select_from(Escalation).where(
            col(Escalation.user_key) == user_key, col(Escalation.status).in_(LIVE)))).one()
        if live >= self.config.max_open:
            raise TooManyOpen(str(live))
        await self._check_rate(session, user_key, col(Escalation.created_at), "create")
        if message:
            self.check_text(message, phone)

    @staticmethod
    def check_text(text: str, own_phone: str | None = None) -> None:
        """Refuse text that looks like a patient's (or a third party's) identity."""
        findings = detect_identity(text, allow_own_phone=own_phone)
        if findings:
            raise IdentityFound(findings)

    async def _enqueue(self, session: AsyncSession, chat_id: int, body: OutboundMessage,
                       esc: Escalation, purpose: str, tag: str) -> OutboxMessage:
        return await self.outbox.enqueue(session, chat_id, body, user_key=esc.user_key,
                                         purpose=purpose, ref=f"esc:{esc.id}:{tag}")

    def _regional_chats(self) -> tuple[int, ...]:
        if self.config.regional_chat_id is not None:
            return (self.config.regional_chat_id,)
        return self.config.fallback_chat_ids

    async def _to_regional(self, session: AsyncSession, esc: Escalation, message: str | None,
                           detail: str) -> None:
        """Notify the regional chat (never nobody: admins when no regional chat is set)."""
        chats = self._regional_chats()
        if not chats:
            raise NoRecipient(f"escalation {esc.id}")
        for chat in chats:
            await self._enqueue(session, chat, notification(esc, message, "regional", chat > 0),
                                esc, REGIONAL_NOTIFY, "regional")
        esc.escalated = True
        session.add(esc)
        await self._record(session, EscalationEscalated(
            esc.department, esc.category, detail, _minutes(esc.created_at, self.clock.now())))

    # ------------------------------------------------------------------ timers

    def _keys(self, esc: Escalation) -> tuple[str, str]:
        return f"esc:{esc.id}:{esc.round}:remind", f"esc:{esc.id}:{esc.round}:regional"

    async def _schedule_timers(self, session: AsyncSession, esc: Escalation) -> None:
        remind, regional = self._keys(esc)
        now, data = self.clock.now(), {"id": esc.id, "round": esc.round}
        await self.jobs.schedule(session, JOB_REMIND, now + self.config.reminder, data, remind)
        await self.jobs.schedule(session, JOB_ESCALATE, now + self.config.regional, data,
                                 regional)

    async def _cancel_timers(self, session: AsyncSession, esc: Escalation) -> None:
        for key in self._keys(esc):
            await self.jobs.cancel(session, key)

    async def _still_open(self, session: AsyncSession, data: dict[str, Any]
                          ) -> Escalation | None:
        esc = await session.get(Escalation, int(data["id"]))
        if esc is None or esc.status != OPEN or esc.round != data.get("round"):
            return None
        return esc

    async def _job_remind(self, session: AsyncSession, data: dict[str, Any]) -> None:
        """Still open after ESCALATION_REMINDER_MINUTES: remind the département's referents."""
        esc = await self._still_open(session, data)
        if esc is None:
            return
        referents = await self.department_referents(session, esc.department)
        for ref in referents:
            await self._enqueue(session, ref.notify_chat,
                                notification(esc, None, "reminder", not ref.is_group),
                                esc, NOTIFY, "reminder")
        if not referents and not esc.escalated:
            await self._to_regional(session, esc, None, detail="no_referent")
        esc.reminded = True
        session.add(esc)
        await self._record(session, EscalationReminded(
            esc.department, esc.category, _minutes(esc.created_at, self.clock.now())))

    async def _job_escalate(self, session: AsyncSession, data: dict[str, Any]) -> None:
        """Still open after ESCALATION_REGIONAL_MINUTES: hand it to the regional chat."""
        esc = await self._still_open(session, data)
        if esc is not None and not esc.escalated:
            await self._to_regional(session, esc, None, detail="timeout")

    # ------------------------------------------------------------------ outbox hooks

    async def _notice_sent(self, session: AsyncSession, msg: OutboxMessage) -> None:
        """Remember where a notification landed (to relay replies, to say who took it)."""
        esc_id = _ref_id(msg.ref)
        esc = await session.get(Escalation, esc_id) if esc_id else None
        if esc is None or esc.id is None or esc.status not in LIVE or msg.chat_id is None:
            return
        parts = (msg.ref or "").split(":")  # esc:<id>:<kind>[:<more>]
        kind = (parts[2] if len(parts) > 2 else parts[-1])[:12]
        session.add(EscalationNotice(escalation_id=esc.id, chat_id=msg.chat_id,
                                     message_id=msg.sent_message_id, kind=kind,
                                     sent_at=self.clock.now()))

    async def _relay_sent(self, session: AsyncSession, msg: OutboxMessage) -> None:
        """Record the delivered relay's message id, so a reply to it is relayed back."""
        relay_id = (msg.ref or "").rsplit(":", 1)[-1]
        relay = await session.get(RelayMessage, int(relay_id)) if relay_id.isdigit() else None
        if relay is not None:
            relay.message_id, relay.delivered_at = msg.sent_message_id, self.clock.now()
            session.add(relay)

    async def _notice_dead(self, session: AsyncSession, msg: OutboxMessage, error: str) -> None:
        """A referent could not be reached (e.g. blocked the bot): use the regional fallback."""
        esc_id = _ref_id(msg.ref)
        esc = await session.get(Escalation, esc_id) if esc_id else None
        if esc is None or esc.status != OPEN or esc.escalated:
            return
        log.warning("escalation %s: referent notification dead, regional fallback", esc.id)
        await self._to_regional(session, esc, None, detail="dead_letter")

    async def _details_dead(self, session: AsyncSession, msg: OutboxMessage,
                            error: str) -> None:
        """The bot cannot write to the referent who took the request from a group (they never
        started it): the group is told to open the bot; the details wait for their /start."""
        esc_id, group = _ref_id(msg.ref), (msg.ref or "").rsplit(":", 1)[-1]
        esc = await session.get(Escalation, esc_id) if esc_id else None
        taker = await session.get(Referent, esc.taken_by) if esc and esc.taken_by else None
        if esc is None or esc.status != TAKEN or taker is None \
                or not group.lstrip("-").isdigit():
            return
        await self.outbox.enqueue(session, int(group), texts.open_the_bot(esc, taker.name),
                                  purpose=INFO, ref=f"esc:{esc.id}:open_bot")

    async def deliver_details(self, session: AsyncSession, telegram_id: int) -> int:
        """At a referent's /start: the details of every request in their charge that never
        reached them in private (taken from a group while the bot could not write to them)."""
        ref = await self.referent(session, telegram_id)
        if ref is None or ref.telegram_id is None:
            return 0
        received = select(col(EscalationNotice.escalation_id)).where(
            col(EscalationNotice.chat_id) == ref.telegram_id)
        cases = (await session.exec(select(Escalation).where(
            col(Escalation.taken_by) == ref.id, col(Escalation.status) == TAKEN,
            col(Escalation.id).not_in(received)))).all()
        for esc in cases:
            await self.outbox.enqueue(session, ref.telegram_id, texts.details(esc),
                                      user_key=esc.user_key, purpose=DETAILS,
                                      ref=f"esc:{esc.id}:details:private")
        return len(cases)

    # ------------------------------------------------------------------ referent actions

    async def take(self, session: AsyncSession, esc_id: int, telegram_id: int,
                   from_chat: int | None = None) -> tuple[Escalation, Referent]:
        """Take a request in charge: exactly one referent wins, even across replicas."""
        esc = await self.get(session, esc_id)
        ref = await self.authorised(session, esc, telegram_id)
        now = self.clock.now()
        won = await session.exec(update(Escalation).where(
            col(Escalation.id) == esc_id, col(Escalation.status) == OPEN,
        ).values(status=TAKEN, taken_by=ref.id, taken_at=now))
        await session.refresh(esc)
        if won.rowcount != 1:
            raise AlreadyTaken(esc.status, await self._taker_title(session, esc))
        await self._cancel_timers(session, esc)
        title = texts.referent_title(ref)
        await self._tell_physician(session, esc, N_(
            "✅ Votre demande n°{id} a été prise en charge par {who}. Ses messages vous "
            "parviendront ici ; répondez avec le bouton « Répondre » sous son message."),
            who=title)
        await self._tell_notified(session, esc, _("✅ Demande n°{id} prise en charge par {who}."
                                                  ).format(id=esc.id, who=title),
                                  skip={ref.notify_chat, from_chat or 0})
        if from_chat is not None and from_chat != ref.telegram_id and ref.telegram_id:
            # taken from a group: the details and the controls come in private
            await self.outbox.enqueue(session, ref.telegram_id, texts.details(esc),
                                      user_key=esc.user_key, purpose=DETAILS,
                                      ref=f"esc:{esc.id}:details:{from_chat}")
        await self._record(session, EscalationTaken(esc.department, esc.category,
                                                    _minutes(esc.created_at, now)))
        return esc, ref

    async def _taker_title(self, session: AsyncSession, esc: Escalation) -> str | None:
        taker = await session.get(Referent, esc.taken_by) if esc.taken_by else None
        return texts.referent_title(taker) if taker else None

    async def _tell_physician(self, session: AsyncSession, esc: Escalation, template: str,
                              buttons: bool = False, **values: str) -> None:
        """Notify the physician in their language (only while their chat id is known)."""
        if esc.chat_id is None:
            return
        with use_language(esc.language):
            text = _(template).format(id=esc.id, **values)
            rows = [[Button(_("Répondre"), f"e:reply:{esc.id}")]] if buttons else None
            body = info(text, esc.language, rows)
        await self._enqueue(session, esc.chat_id, body, esc, PHYSICIAN, "physician")

    async def _tell_notified(self, session: AsyncSession, esc: Escalation, text: str,
                             skip: set[int] | frozenset[int] = frozenset()) -> None:
        """Tell every referent chat that received this request (once per chat)."""
        chats = await session.exec(select(col(EscalationNotice.chat_id)).where(
            col(EscalationNotice.escalation_id) == esc.id).distinct())
        for chat in chats:
            if chat not in skip:
                await self.outbox.enqueue(session, chat, info(text), purpose=INFO,
                                          ref=f"esc:{esc.id}:info")

    async def release(self, session: AsyncSession, esc_id: int, telegram_id: int) -> Escalation:
        """The referent in charge hands the request back: open again, re-notified."""
        esc, _ref = await self.in_charge(session, esc_id, telegram_id)
        await self.reopen(session, esc)
        await self._record(session, EscalationReleased(
            esc.department, esc.category, _minutes(esc.created_at, self.clock.now())))
        return esc

    async def reopen(self, session: AsyncSession, esc: Escalation) -> None:
        """Back to open with fresh timers, and the département's referents told again."""
        esc.status, esc.taken_by, esc.taken_at = OPEN, None, None
        esc.round += 1
        esc.reminded = esc.escalated = False
        session.add(esc)
        await session.flush()
        referents = await self.department_referents(session, esc.department)
        for ref in referents:
            await self._enqueue(session, ref.notify_chat,
                                notification(esc, None, "reopened", not ref.is_group),
                                esc, NOTIFY, "reopened")
        if not referents:
            await self._to_regional(session, esc, None, detail="no_referent")
        await self._schedule_timers(session, esc)
        await self._tell_physician(session, esc, N_(
            "Votre demande n°{id} attend un nouveau référent ; vous serez prévenu dès qu'il la "
            "prendra en charge."))

    async def reassign(self, session: AsyncSession, esc_id: int, telegram_id: int,
                       to_referent: int) -> tuple[Escalation, Referent]:
        """The referent in charge entrusts the request to another referent."""
        esc, _ref = await self.in_charge(session, esc_id, telegram_id)
        other = await session.get(Referent, to_referent)
        if other is None or not other.active or other.is_group or other.id == esc.taken_by \
                or other.department not in (esc.department, REGIONAL):
            raise StaleAction(f"referent {to_referent}")
        esc.taken_by = other.id
        session.add(esc)
        title = texts.referent_title(other)
        with use_language("fr"):
            body = info(_("📌 La demande n°{id} vous a été confiée.").format(id=esc.id) + "\n"
                        + notification(esc, None, "new").text.split("\n", 1)[1],
                        buttons=texts.taken_buttons(int(esc.id or 0)))
        await self._enqueue(session, other.notify_chat, body, esc, INFO, "reassigned")
        await self._tell_physician(session, esc, N_(
            "Votre demande n°{id} est désormais suivie par {who}."), who=title)
        await self._record(session, EscalationReassigned(esc.department, esc.category))
        return esc, other

    async def close(self, session: AsyncSession, esc_id: int, telegram_id: int,
                    outcome: str) -> Escalation:
        """Close with an outcome category (annual review); clear ids are removed now."""
        esc = await self.get(session, esc_id)
        ref = await self.authorised(session, esc, telegram_id)
        if outcome not in texts.OUTCOMES:
            raise StaleAction(outcome)
        if esc.status == TAKEN and esc.taken_by != ref.id:
            raise AlreadyTaken(esc.status, await self._taker_title(session, esc))
        now = self.clock.now()
        status = col(Escalation.status)
        done = await session.exec(update(Escalation).where(
            col(Escalation.id) == esc_id, status == esc.status,
            status.in_(LIVE)).values(status=CLOSED, closed_at=now, outcome=outcome))
        if done.rowcount != 1:
            await session.refresh(esc)
            raise AlreadyTaken(esc.status, await self._taker_title(session, esc))
        await session.refresh(esc)
        await self._tell_physician(session, esc, N_(
            "Votre demande n°{id} a été close par le référent. Si besoin, vous pouvez en "
            "faire une nouvelle depuis le menu."))
        await self._tell_notified(session, esc, _("Demande n°{id} close par {who}.").format(
            id=esc.id, who=texts.referent_title(ref)), skip={ref.notify_chat})
        await self._finish(session, esc)
        await self._record(session, EscalationClosed(esc.department, esc.category, outcome,
                                                     _minutes(esc.created_at, now)))
        return esc

    async def _finish(self, session: AsyncSession, esc: Escalation) -> None:
        """Closed or cancelled: cancel timers, drop clear ids and message bookkeeping."""
        await self._cancel_timers(session, esc)
        esc.chat_id = esc.physician_name = esc.phone = esc.message = None
        session.add(esc)
        for model in (EscalationNotice, RelayMessage):
            await session.exec(delete(model).where(
                col(model.escalation_id) == esc.id))

    async def block(self, session: AsyncSession, esc_id: int, telegram_id: int) -> Escalation:
        """Block a physician who abuses the service, and close the request."""
        esc = await self.get(session, esc_id)
        ref = await self.authorised(session, esc, telegram_id)
        if esc.status == TAKEN and esc.taken_by != ref.id:  # checked before the block row
            raise AlreadyTaken(esc.status, await self._taker_title(session, esc))
        if await session.get(BlockedUser, esc.user_key) is None:
            session.add(BlockedUser(user_key=esc.user_key, department=esc.department,
                                    blocked_by=ref.id, blocked_at=self.clock.now()))
        if esc.status in LIVE:
            await self.close(session, esc_id, telegram_id, "abus")
        await self._record(session, EscalationBlocked(esc.department, esc.category))
        return esc

    # ------------------------------------------------------------------ physician actions

    async def cancel(self, session: AsyncSession, esc_id: int, user_key: str) -> Escalation:
        """The physician withdraws their request."""
        esc = await self.get(session, esc_id)
        if esc.user_key != user_key:
            raise StaleAction(f"escalation {esc_id}")
        if esc.status not in LIVE:
            raise StaleAction(f"escalation {esc_id} is {esc.status}")
        await self._check_rate(session, user_key, col(Escalation.closed_at), "cancel",
                               col(Escalation.status) == CANCELLED)
        await self._withdraw(session, esc, "cancelled")
        return esc

    async def _check_rate(self, session: AsyncSession, user_key: str,
                          at: Mapped[datetime] | Mapped[datetime | None], action: str,
                          *where: ColumnElement[bool]) -> None:
        """Abuse: each create/cancel cycle notifies every referent of a département twice."""
        since = self.clock.now() - timedelta(hours=24)
        done = (await session.exec(select(func.count()).select_from(Escalation).where(
            col(Escalation.user_key) == user_key, at >= since, *where))).one()
        if done >= self.config.actions_per_day:
            raise TooManyActions(action, self.config.actions_per_day)

    async def _withdraw(self, session: AsyncSession, esc: Escalation, detail: str) -> None:
        now = self.clock.now()
        with use_language("fr"):
            text = _("La demande n°{id} a été retirée par le médecin ; rien d'autre à faire."
                     ).format(id=esc.id)
        await self._tell_notified(session, esc, text)
        esc.status, esc.closed_at = CANCELLED, now
        await self._finish(session, esc)
        await self._record(session, EscalationCancelled(esc.department, esc.category, detail,
                                                        _minutes(esc.created_at, now)))

    # ------------------------------------------------------------------ relay

    async def relay_to_physician(self, session: AsyncSession, esc_id: int, telegram_id: int,
                                 text: str) -> Escalation:
        """The referent in charge writes to the physician (labelled with their title)."""
        esc, ref = await self.in_charge(session, esc_id, telegram_id)
        with use_language(esc.language):
            label = _("💬 Message du {who} :").format(who=texts.referent_title(ref))
            rows = [[Button(_("Répondre"), f"e:reply:{esc.id}")]]
            body = info(f"{label}\n{html.escape(text[:MAX_MESSAGE])}", esc.language, rows)
        await self._relay(session, esc, int(esc.chat_id or 0), body, "to_physician")
        return esc

    async def relay_to_referent(self, session: AsyncSession, esc_id: int, user_key: str,
                                text: str) -> Escalation:
        """The physician writes to their referent; identities are refused before sending."""
        esc = await self.get(session, esc_id)
        if esc.user_key != user_key or esc.status not in LIVE:
            raise StaleAction(f"escalation {esc_id}")
        if esc.status != TAKEN or esc.taken_by is None:
            raise NotTaken(f"escalation {esc_id}")
        self.check_text(text, esc.phone)
        ref = await session.get(Referent, esc.taken_by)
        if ref is None or ref.telegram_id is None:
            raise NotTaken(f"escalation {esc_id}")
        with use_language("fr"):
            label = _("💬 Message du médecin (demande n°{id}) :").format(id=esc.id)
            body = info(f"{label}\n{html.escape(text[:MAX_MESSAGE])}", "fr",
                        texts.taken_buttons(int(esc.id or 0))[:1])
        await self._relay(session, esc, ref.telegram_id, body, "to_referent")
        return esc

    async def _relay(self, session: AsyncSession, esc: Escalation, chat_id: int,
                     body: OutboundMessage, direction: str) -> None:
        if not chat_id:
            raise NotTaken(f"escalation {esc.id}")
        relay = RelayMessage(escalation_id=int(esc.id or 0), direction=direction,
                             chat_id=chat_id, created_at=self.clock.now())
        session.add(relay)
        await session.flush()
        await self._enqueue(session, chat_id, body, esc, RELAY, f"relay:{relay.id}")
        await self._record(session, EscalationRelayed(esc.department, esc.category,
                                                      direction))

    # ------------------------------------------------------------------ privacy

    async def erase_user(self, session: AsyncSession, user_key: str) -> int:
        """/effacer: withdraw the physician's live requests, then delete all their rows."""
        for esc in await self.live_for(session, user_key):
            await self._withdraw(session, esc, "erased")
        result = await session.exec(delete(Escalation).where(
            col(Escalation.user_key) == user_key))
        return result.rowcount or 0

    async def purge(self, session: AsyncSession) -> int:
        """Delete closed requests older than the retention, and blocks older than theirs;
        scrub any clear id left."""
        cutoff = self.clock.now() - self.config.retention
        done = col(Escalation.status).in_((CLOSED, CANCELLED))
        await session.exec(update(Escalation).where(
            done, or_(col(Escalation.chat_id).is_not(None), col(Escalation.phone).is_not(None),
                      col(Escalation.physician_name).is_not(None)))
            .values(chat_id=None, phone=None, physician_name=None))
        result = await session.exec(delete(Escalation).where(
            done, col(Escalation.closed_at) < cutoff))
        # a block is kept only as long as the configured retention (pseudonym only)
        await session.exec(delete(BlockedUser).where(
            col(BlockedUser.blocked_at) < self.clock.now() - self.config.block_retention))
        return result.rowcount or 0

    async def schedule_purge(self, session: AsyncSession) -> None:
        """Daily purge job (one per day across replicas, thanks to its dedupe key)."""
        run_at = self.clock.now() + timedelta(hours=1)
        await self.jobs.schedule(session, JOB_PURGE, run_at, {},
                                 f"esc:purge:{run_at.date().isoformat()}")

    async def _job_purge(self, session: AsyncSession, data: dict[str, Any]) -> None:
        removed = await self.purge(session)
        log.info("escalation purge: %s closed request(s) deleted", removed)
        tomorrow = self.clock.now() + timedelta(days=1)
        await self.jobs.schedule(session, JOB_PURGE, tomorrow, {},
                                 f"esc:purge:{tomorrow.date().isoformat()}")
