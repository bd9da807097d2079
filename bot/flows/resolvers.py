"""Addressee resolvers: the named functions an outcome's `addressee` refers to.

Each takes the directory snapshot (or None) and the chosen département (or None / "x" for
"autre") and returns the lines to show: who to send to, found by the annuaire's competence
lookup. Where competence is not certain every candidate is shown, marked "à confirmer".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.flows.model import DEPARTMENTS
from vvs.i18n import N_

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Contact:
    """A directory entry reduced to what the outcome shows (entries stay in the annuaire)."""

    name: str
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    website: str | None = None

    @property
    def missing_contact(self) -> bool:
        return not (self.phone or self.email or self.address)


@dataclass(frozen=True)
class AddresseeLine:
    """One role ("destinataire", "copie à", "conseil") and the contacts that may fill it."""

    role: str  # untranslated French label (N_), translated at display time
    kind: str
    contacts: tuple[Contact, ...]
    certain: bool


Resolver = Callable[[Any, str | None], tuple[AddresseeLine, ...]]


def _contact(entry: Any) -> Contact:
    """Read an annuaire Entry (or anything with the same attributes)."""
    return Contact(name=getattr(entry, "name", str(entry)), phone=getattr(entry, "phone", None),
                   email=getattr(entry, "email", None), address=getattr(entry, "address", None),
                   website=getattr(entry, "website", None))


def _competent(directory: Any, kind: str, department: str | None) -> tuple[tuple[Any, ...], bool]:
    """Entries of `kind` competent for a département, via the annuaire; (entries, certain)."""
    if directory is None or department not in DEPARTMENTS:
        return (), False
    try:
        place = directory.index.gaz.department(department)
        if hasattr(directory, "competent"):
            found = directory.competent(kind, place)
        else:
            from annuaire.search import competent

            found = competent(directory, kind, place)
        entries, certain = tuple(found.entries), bool(found.certain)
    except (AttributeError, LookupError, TypeError, ValueError, ImportError):
        # The annuaire API is young: never let a lookup break a physician's flow.
        log.warning("competence lookup failed for %s in %s", kind, department, exc_info=True)
        entries, certain = (), False
    if not entries:  # non-territorial kinds (associations): every entry of the département
        entries = tuple(e for e in getattr(directory, "entries", ())
                        if getattr(e, "kind", None) == kind
                        and getattr(e, "department", None) == department)
        certain = len(entries) == 1
    return entries, certain


def _line(directory: Any, role: str, kind: str, department: str | None,
          options: bool = False) -> AddresseeLine:
    """`options`: every entry is a valid choice (orientation), so none is "à confirmer"."""
    entries, certain = _competent(directory, kind, department)
    return AddresseeLine(role, kind, tuple(_contact(e) for e in entries), certain or options)


def aucun(directory: Any, department: str | None) -> tuple[AddresseeLine, ...]:
    """No addressee."""
    return ()


def parquet_lieu_des_faits(directory: Any, department: str | None) -> tuple[AddresseeLine, ...]:
    """Adult: the procureur of the place of the facts."""
    return (_line(directory, N_("Procureur de la République (parquet du lieu des faits)"),
                  "parquet", department),)


def parquet_et_crip_enfant(directory: Any, department: str | None) -> tuple[AddresseeLine, ...]:
    """Minor, signalement: the procureur of the child's usual residence, copy to the CRIP."""
    return (_line(directory, N_("Procureur de la République (résidence habituelle de l'enfant)"),
                  "parquet", department),
            _line(directory, N_("Copie à la CRIP du département"), "crip", department))


def crip_enfant(directory: Any, department: str | None) -> tuple[AddresseeLine, ...]:
    """Minor, information préoccupante: the CRIP of the child's usual residence."""
    return (_line(directory, N_("CRIP (résidence habituelle de l'enfant)"), "crip",
                  department),)


def conseil_enfance(directory: Any, department: str | None) -> tuple[AddresseeLine, ...]:
    """Minor, doubt: the CRIP for advice and the UAPED."""
    return (_line(directory, N_("Conseil : la CRIP du département"), "crip", department),
            _line(directory, N_("UAPED"), "uaped", department, options=True))


def orientation_majeur(directory: Any, department: str | None) -> tuple[AddresseeLine, ...]:
    """Adult without consent: where to orient the victim, and the CDOM for the physician."""
    return (_line(directory, N_("Orientation : unité médico-judiciaire (UMJ)"), "umj",
                  department, options=True),
            _line(directory, N_("Orientation : aide aux victimes"), "association", department,
                  options=True),
            _line(directory, N_("Pour vous : commission VVS du conseil départemental de l'Ordre"),
                  "cdom", department))


def cdom_medecin(directory: Any, department: str | None) -> tuple[AddresseeLine, ...]:
    """Physician victim: their CDOM (commission VVS, référent sécurité)."""
    return (_line(directory, N_("Votre conseil départemental de l'Ordre des médecins"), "cdom",
                  department),)


RESOLVERS: dict[str, Resolver] = {
    f.__name__: f for f in (aucun, parquet_lieu_des_faits, parquet_et_crip_enfant, crip_enfant,
                            conseil_enfance, orientation_majeur, cdom_medecin)
}
