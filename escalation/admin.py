"""`vvs-admin referents add|list|remove|invite`: enrolment of referents, by an admin only."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable

from sqlmodel.ext.asyncio.session import AsyncSession

from escalation import referents
from escalation.service import EscalationService

# An action runs in one transaction of the composed service (see `admin.cli`).
Action = Callable[[EscalationService, AsyncSession, argparse.Namespace], Awaitable[int]]


async def _add(service: EscalationService, session: AsyncSession,
               args: argparse.Namespace) -> int:
    ref = await referents.add_referent(
        service, session, department=args.department, name=args.name,
        telegram_id=None if args.group else args.telegram_id,
        chat_id=args.telegram_id if args.group else None)
    print(f"référent inscrit : {ref.name} ({ref.department})")
    return 0


async def _list(service: EscalationService, session: AsyncSession,
                args: argparse.Namespace) -> int:
    rows = await referents.list_referents(session)
    for ref in rows:
        kind = "groupe" if ref.is_group else "personne"
        ident = ref.chat_id if ref.is_group else ref.telegram_id
        state = "actif" if ref.active else "inactif"
        print(f"{ref.department}\t{kind}\t{ident}\t{ref.name}\t{state}")
    print(f"{len(rows)} référent(s)")
    return 0


async def _remove(service: EscalationService, session: AsyncSession,
                  args: argparse.Namespace) -> int:
    result = await referents.remove_referent(service, session, args.telegram_id)
    if result is None:
        print(f"aucun référent avec l'identifiant {args.telegram_id}")
        return 1
    ref, handed_back = result
    print(f"référent retiré : {ref.name} ({ref.department}) ; {handed_back} demande(s) "
          "remise(s) en attente et signalée(s) aux autres référents")
    return 0


async def _invite(service: EscalationService, session: AsyncSession,
                  args: argparse.Namespace) -> int:
    code = await referents.make_invite(service, session, args.department)
    hours = int(service.config.invite_expiry.total_seconds() // 3600)
    print(f"Code d'inscription pour le département {args.department}, valable {hours} h, "
          "une seule fois. Le référent (ou son groupe) envoie au bot : /inscription CODE")
    print(code)
    return 0


def _department(value: str) -> str:
    try:
        return referents.check_department(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `referents` group to `vvs-admin`."""
    group = subparsers.add_parser("referents", help="référents départementaux").add_subparsers(
        dest="cmd", required=True)
    add = group.add_parser("add", help="inscrire un référent (ou un groupe avec --group)")
    add.add_argument("--department", required=True, type=_department)
    add.add_argument("--telegram-id", required=True, type=int)
    add.add_argument("--name", required=True)
    add.add_argument("--group", action="store_true",
                     help="l'identifiant est celui d'un groupe Telegram de référents")
    add.set_defaults(escalation_action=_add)
    group.add_parser("list", help="lister les référents").set_defaults(
        escalation_action=_list)
    remove = group.add_parser("remove", help="retirer un référent (ses demandes sont "
                                             "remises en attente)")
    remove.add_argument("--telegram-id", required=True, type=int)
    remove.set_defaults(escalation_action=_remove)
    invite = group.add_parser("invite", help="code d'inscription à usage unique")
    invite.add_argument("--department", required=True, type=_department)
    invite.set_defaults(escalation_action=_invite)
