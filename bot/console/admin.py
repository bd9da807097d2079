"""`vvs-admin console add|list|remove`: enrol the console's admins and validators by name
(referents are enrolled with `vvs-admin referents`; ADMIN_IDS remain the bootstrap)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.console import access
from bot.console.models import MEMBER_ROLES
from escalation.service import EscalationService


async def _add(service: EscalationService, session: AsyncSession,
               args: argparse.Namespace) -> int:
    member = await access.enrol(session, datetime.now(UTC), telegram_id=args.telegram_id,
                                role=args.role, name=args.name)
    print(f"inscrit à la console : {member.name} ({member.role})")
    return 0


async def _list(service: EscalationService, session: AsyncSession,
                args: argparse.Namespace) -> int:
    rows = await access.list_members(session)
    for member in rows:
        print(f"{member.role}\t{member.telegram_id}\t{member.name}")
    print(f"{len(rows)} personne(s) inscrite(s) ; les ADMIN_IDS sont administrateurs d'office")
    return 0


async def _remove(service: EscalationService, session: AsyncSession,
                  args: argparse.Namespace) -> int:
    if not await access.remove_member(session, args.telegram_id):
        print(f"personne n'est inscrit avec l'identifiant {args.telegram_id}")
        return 1
    print("retiré ; ses sessions de console sont fermées")
    return 0


def register(subparsers: Any) -> None:
    """Add the `console` group to `vvs-admin`."""
    group = subparsers.add_parser("console", help="console des opérateurs : inscriptions"
                                  ).add_subparsers(dest="cmd", required=True)
    add = group.add_parser("add", help="inscrire un administrateur ou un validateur")
    add.add_argument("--role", required=True, choices=MEMBER_ROLES)
    add.add_argument("--telegram-id", required=True, type=int)
    add.add_argument("--name", required=True, help="nom affiché et inscrit au journal")
    add.set_defaults(escalation_action=_add)
    group.add_parser("list", help="lister les inscrits").set_defaults(escalation_action=_list)
    remove = group.add_parser("remove", help="retirer un inscrit")
    remove.add_argument("--telegram-id", required=True, type=int)
    remove.set_defaults(escalation_action=_remove)
