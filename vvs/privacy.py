"""Pseudonyms and erasure: the primitives behind privacy by design."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from vvs.i18n import N_, _


def pseudonym(key: bytes, telegram_id: int) -> str:
    """Keyed hash of a Telegram id: stable for one key, useless without it."""
    return hmac.new(key, str(telegram_id).encode(), hashlib.sha256).hexdigest()


Eraser = Callable[[AsyncSession, str], Awaitable[int]]


@dataclass(frozen=True)
class ErasureStep:
    """How one table erases or anonymises what is keyed by a user.

    Every module that keeps user data exposes its step; the composition root passes the
    whole list to `/effacer` (no registry filled at import time).
    """

    label: str  # French, marked with N_: what the user is told was erased
    erase: Eraser
    order: int = 100  # steps run by increasing order (a request is withdrawn before the rest)


async def erase_user(session: AsyncSession, user_key: str,
                     steps: Sequence[ErasureStep]) -> list[tuple[str, int]]:
    """Run every step in one transaction, in order; return (label, rows) for each."""
    ordered = sorted(steps, key=lambda s: s.order)
    return [(step.label, await step.erase(session, user_key)) for step in ordered]


# Labels used by the platform's own tables (translated at display time).
LABEL_STATE = N_("votre conversation en cours et vos préférences (langue, département)")
LABEL_EVENTS = N_("le lien entre vous et les statistiques d'usage (anonymisées, non supprimées)")
LABEL_OUTBOX = N_("les messages en attente d'envoi vers vous")


def statistics_notice(retention_months: int, threshold: int) -> str:
    """The `/confidentialite` line on usage statistics: what they hold and for how long
    (`EVENT_RETENTION_MONTHS`, `STATS_PUBLISH_THRESHOLD`)."""
    return _(
        "• Les statistiques d'usage (bilan annuel du dispositif) sont pseudonymes et ne "
        "contiennent ni texte ni identifiant. Elles sont conservées {months} mois, puis "
        "seulement en totaux mensuels par département, sans pseudonyme. Les chiffres publiés "
        "masquent tout effectif inférieur à {threshold}."
    ).format(months=retention_months, threshold=threshold)


def editors_queue_notice(retention_days: int) -> str:
    """The `/confidentialite` line on the editors' queue (`QUESTION_RETENTION_DAYS`)."""
    return _(
        "• Les questions que vous choisissez de transmettre aux rédacteurs des fiches "
        "(commission VVS), quand une fiche ne répond pas ou que je n'ai pas de réponse "
        "sûre : le texte que vous validez est conservé pour compléter les fiches, sans votre "
        "nom ni votre identifiant ; seule une empreinte chiffrée, distincte de votre "
        "pseudonyme, permet à /effacer de le retrouver. Il est supprimé dès qu'un rédacteur "
        "l'a traité, et au plus tard après {days} jours. Rien n'est transmis sans votre "
        "accord, ni un texte qui semble contenir l'identité d'un patient."
    ).format(days=retention_days)
