"""Directory model: one frozen `Entry` per contact, a `Directory` snapshot with its indexes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from vvs.i18n import N_

if TYPE_CHECKING:
    from annuaire.search import SearchIndex

# The controlled list of kinds, with the French label shown to users (translate with `_`).
KINDS: MappingProxyType[str, str] = MappingProxyType({
    "cdom": N_("Conseil départemental de l'Ordre des médecins"),
    "crom": N_("Conseil régional de l'Ordre des médecins"),
    "cnom": N_("Conseil national de l'Ordre des médecins"),
    "parquet": N_("Parquet (tribunal judiciaire)"),
    "crip": N_("CRIP (informations préoccupantes)"),
    "umj": N_("Unité médico-judiciaire (UMJ)"),
    "uaped": N_("Unité d'accueil pédiatrique enfants en danger (UAPED)"),
    "association": N_("Association d'aide aux victimes"),
    "urgences": N_("Urgences"),
    "police": N_("Police, gendarmerie"),
    "ligne-nationale": N_("Ligne nationale"),
    "observatoire": N_("Observatoire"),
    "other": N_("Autre"),
})

# Words that, in a query, point at a kind (folded, abbreviations expanded).
KIND_WORDS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType({
    "cdom": ("cdom", "ordre", "conseil de l ordre", "ordre des medecins"),
    "crom": ("crom", "conseil regional", "ordre regional"),
    "cnom": ("cnom", "conseil national", "ordre national"),
    "parquet": ("parquet", "tribunal", "procureur", "tribunal judiciaire", "justice"),
    "crip": ("crip", "ccip", "information preoccupante", "informations preoccupantes"),
    "umj": ("umj", "medico judiciaire", "unite medico judiciaire", "legiste"),
    "uaped": ("uaped", "accueil pediatrique", "enfants en danger"),
    "association": ("association", "aide aux victimes", "aide victimes", "france victimes",
                    "cidff"),
    "urgences": ("urgence", "urgences", "samu"),
    "police": ("police", "gendarmerie", "commissariat"),
    "ligne-nationale": ("numero national", "ligne nationale"),
    "observatoire": ("observatoire", "onvs"),
})

# A more specific kind overrides a generic one named by the same words ("ordre national des
# médecins" is the CNOM, not a CDOM).
KIND_OVERRIDES: MappingProxyType[str, frozenset[str]] = MappingProxyType({
    "crom": frozenset({"cdom"}),
    "cnom": frozenset({"cdom"}),
})

# Phrases that contain a kind word but name something else: a "tribunal pour enfants" or a
# "tribunal de proximité" is not the parquet. Removed before kinds are detected.
NOT_KIND_PHRASES: tuple[str, ...] = ("tribunal pour enfants", "tribunal pour enfant",
                                     "tribunal des enfants", "juge des enfants",
                                     "tribunal de proximite", "chambre de proximite")

# Kinds whose competence is territorial: the entries that serve a place come first.
TERRITORIAL_KINDS = frozenset({"crip", "parquet", "cdom", "uaped", "umj"})
AUDIENCES = ("adults", "minors", "physicians")
STATUSES = ("verified", "to_verify")
GEO_PRECISIONS = ("address", "commune")


@dataclass(frozen=True)
class Entry:
    """One directory contact, as validated from `annuaire/data/*.yaml`."""

    id: str
    name: str
    kind: str
    source: str
    status: str = "to_verify"
    aliases: tuple[str, ...] = ()
    department: str | None = None
    serves: tuple[str, ...] = ()
    commune: str | None = None
    postcode: str | None = None
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    website: str | None = None
    hours: str | None = None
    lat: float | None = None
    lon: float | None = None
    geo_precision: str | None = None
    audience: tuple[str, ...] = ()
    verified_on: dt.date | None = None
    notes: str | None = None
    file: str = ""
    line: int = 0

    @property
    def has_geo(self) -> bool:
        return self.lat is not None and self.lon is not None

    @property
    def missing_contact(self) -> bool:
        """Neither a phone number nor an address: the card says "coordonnées à confirmer"."""
        return not self.phone and not self.address

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (CLI output, CSV export)."""
        return {
            "id": self.id, "name": self.name, "kind": self.kind,
            "department": self.department, "commune": self.commune,
            "postcode": self.postcode, "address": self.address, "phone": self.phone,
            "email": self.email, "website": self.website, "hours": self.hours,
            "lat": self.lat, "lon": self.lon, "geo_precision": self.geo_precision,
            "status": self.status, "serves": list(self.serves), "aliases": list(self.aliases),
            "audience": list(self.audience), "source": self.source,
            "verified_on": self.verified_on.isoformat() if self.verified_on else None,
            "notes": self.notes,
        }


@dataclass(frozen=True)
class Directory:
    """Immutable snapshot of the directory with its search index, built once at load."""

    entries: tuple[Entry, ...]
    by_id: MappingProxyType[str, Entry] = field(repr=False)
    index: SearchIndex = field(repr=False)

    @classmethod
    def of(cls, entries: list[Entry] | tuple[Entry, ...]) -> Directory:
        """Build the snapshot and its search arrays."""
        from annuaire.search import SearchIndex  # the index needs the model, not vice versa

        ordered = tuple(entries)
        by_id = MappingProxyType({e.id: e for e in ordered})
        return cls(ordered, by_id, SearchIndex.build(ordered))

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, entry_id: str) -> Entry | None:
        return self.by_id.get(entry_id)
