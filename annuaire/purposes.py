"""What an outcome needs from the directory: a kind of service and the channel uses that fit.

One table serves the flows' addressee resolvers and `vvs-admin annuaire check`, so the gaps the
councils are asked to fill are exactly the ones physicians would meet at the end of a procedure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import MappingProxyType

from annuaire.model import Channel, Directory, Entry
from vvs.i18n import N_

# An unverified channel whose source is older than this is listed as dated by the checker.
DATED_AFTER_YEARS = 3


@dataclass(frozen=True)
class Purpose:
    """One need: a kind of service, the uses a channel must have, whether it is a sending."""

    id: str
    label: str  # untranslated French (N_)
    kind: str
    uses: frozenset[str]
    sending: bool = True  # a place to send a document; False: where to orient someone


def _purpose(id_: str, label: str, kind: str, *uses: str, sending: bool = True) -> Purpose:
    return Purpose(id_, label, kind, frozenset(uses), sending)


PURPOSES: MappingProxyType[str, Purpose] = MappingProxyType({p.id: p for p in (
    _purpose("signalement-majeur", N_("signalement d'un majeur au procureur"), "parquet",
             "signalement-majeur"),
    _purpose("violences-conjugales", N_("signalement de violences au sein du couple"),
             "parquet", "violences-conjugales", "permanence-urgente"),
    _purpose("signalement-mineur", N_("signalement d'un mineur au procureur"), "parquet",
             "signalement-mineur"),
    _purpose("signalement-mineur-urgent", N_("signalement urgent d'un mineur"), "parquet",
             "permanence-urgente", "signalement-mineur"),
    _purpose("information-preoccupante", N_("information préoccupante à la CRIP"), "crip",
             "information-preoccupante"),
    _purpose("umj", N_("orientation vers l'UMJ"), "umj", "examen-medico-legal",
             sending=False),
    _purpose("uaped", N_("orientation vers l'UAPED"), "uaped", "examen-medico-legal",
             sending=False),
    _purpose("aide-victimes", N_("aide aux victimes"), "association", "aide-victimes",
             sending=False),
    _purpose("ordre-medecins", N_("conseil départemental de l'Ordre"), "cdom",
             "ordre-medecins", sending=False),
)})


def suitable(entry: Entry, purpose: Purpose) -> tuple[Channel, ...]:
    """The entry's channels that serve the purpose (never an information-only line)."""
    return entry.channels_for(purpose.uses)


def national_channels(directory: Directory | None, use: str) -> tuple[tuple[Entry, Channel], ...]:
    """Channels of national services (no département) that serve `use`, in file order."""
    if directory is None:
        return ()
    return tuple((e, c) for e in directory.entries if e.department is None
                 for c in e.channels if use in c.uses)


def is_dated(channel: Channel, today: dt.date) -> bool:
    """Unverified and from an undated source or one older than DATED_AFTER_YEARS."""
    if channel.verified:
        return False
    year = channel.source_year
    return year is None or today.year - year > DATED_AFTER_YEARS
