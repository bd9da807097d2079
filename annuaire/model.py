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
SHORT_MAX = 32  # a button label that fits a phone's width
GEO_PRECISIONS = ("address", "commune")

# How a channel is reached. A phone number, an e-mail address, a postal address for a letter,
# or a web page or form.
CHANNEL_TYPES: MappingProxyType[str, str] = MappingProxyType({
    "phone": N_("téléphone"),
    "email": N_("e-mail"),
    "courrier": N_("courrier"),
    "web": N_("site ou formulaire"),
})

# What a channel is for: the controlled list of uses. An outcome shows a channel only when one
# of its uses is the outcome's purpose, so a use is set only where the channel's source says
# the channel serves it. The label is what physicians read (translate with `_`).
USES: MappingProxyType[str, str] = MappingProxyType({
    "signalement-mineur": N_("signalement d'un mineur au procureur"),
    "signalement-majeur": N_("signalement d'un majeur au procureur"),
    "violences-conjugales": N_("signalement de violences au sein du couple"),
    "information-preoccupante": N_("information préoccupante"),
    "permanence-urgente": N_("permanence pour l'urgence"),
    "information": N_("information ou standard seulement : ne reçoit pas de signalement"),
    "conseil-enfance": N_("conseil sur la situation d'un enfant, professionnels compris"),
    "conseil-couple": N_("écoute sur les violences faites aux femmes, professionnels compris"),
    "conseil-vulnerable": N_("maltraitance des personnes âgées ou handicapées, "
                             "professionnels compris"),
    "aide-victimes": N_("aide aux victimes"),
    "examen-medico-legal": N_("examen médico-légal des victimes"),
    "violences-en-ligne": N_("violences en ligne, cyberharcèlement"),
    "prevention-suicide": N_("prévention du suicide"),
    "urgence": N_("urgence, danger immédiat"),
    "ordre-medecins": N_("conseil départemental de l'Ordre : appui aux médecins"),
    "ecoute-medecins": N_("écoute et assistance des médecins en difficulté"),
})
# Uses that make a channel a place to send a signalement or an information préoccupante.
SENDING_USES = frozenset({"signalement-mineur", "signalement-majeur", "violences-conjugales",
                          "information-preoccupante", "permanence-urgente"})


@dataclass(frozen=True)
class Channel:
    """One way to reach an entry, with what it is for and where that fact comes from."""

    type: str
    value: str
    uses: tuple[str, ...]
    source: str
    instructions: str | None = None  # e.g. the subject line the source requires
    source_date: str | None = None  # date of the source document: YYYY, YYYY-MM or YYYY-MM-DD
    verified_on: dt.date | None = None
    hours: str | None = None
    line: int = 0

    @property
    def verified(self) -> bool:
        return self.verified_on is not None

    @property
    def source_year(self) -> int | None:
        return int(self.source_date[:4]) if self.source_date else None

    def serves(self, purposes: tuple[str, ...] | frozenset[str]) -> bool:
        """True when one of the channel's uses is one of `purposes`."""
        return any(use in purposes for use in self.uses)

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "value": self.value, "uses": list(self.uses),
                "instructions": self.instructions, "source": self.source,
                "source_date": self.source_date, "hours": self.hours,
                "verified_on": self.verified_on.isoformat() if self.verified_on else None}


@dataclass(frozen=True)
class Entry:
    """One directory contact, as validated from `annuaire/data/*.yaml`."""

    id: str
    name: str
    kind: str
    source: str
    status: str = "to_verify"
    short: str | None = None  # a label for buttons, told apart from every other entry's
    aliases: tuple[str, ...] = ()
    department: str | None = None
    serves: tuple[str, ...] = ()
    commune: str | None = None
    postcode: str | None = None
    address: str | None = None
    channels: tuple[Channel, ...] = ()
    website: str | None = None
    hours: str | None = None
    lat: float | None = None
    lon: float | None = None
    geo_precision: str | None = None
    audience: tuple[str, ...] = ()
    verified_on: dt.date | None = None
    notes: str | None = None  # internal: never shown to physicians
    caution: str | None = None  # shown to physicians, in their words
    file: str = ""
    line: int = 0

    @property
    def has_geo(self) -> bool:
        return self.lat is not None and self.lon is not None

    @property
    def label(self) -> str:
        """What a button shows: the short name, or the name cut to fit."""
        if self.short:
            return self.short
        return self.name if len(self.name) <= SHORT_MAX else self.name[: SHORT_MAX - 1] + "…"

    @property
    def missing_contact(self) -> bool:
        """No channel and no address: the card says "coordonnées à confirmer"."""
        return not self.channels and not self.address

    @property
    def phone(self) -> str | None:
        """The first phone number, whatever its use (search display, gap report)."""
        return next((c.value for c in self.channels if c.type == "phone"), None)

    @property
    def email(self) -> str | None:
        """The first e-mail address, whatever its use."""
        return next((c.value for c in self.channels if c.type == "email"), None)

    def channels_for(self, purposes: tuple[str, ...] | frozenset[str]) -> tuple[Channel, ...]:
        """The channels that serve one of `purposes`, in the file's order."""
        return tuple(c for c in self.channels if c.serves(purposes))

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (CLI output, CSV export)."""
        return {
            "id": self.id, "name": self.name, "short": self.short, "kind": self.kind,
            "department": self.department, "commune": self.commune,
            "postcode": self.postcode, "address": self.address,
            "channels": [c.as_dict() for c in self.channels],
            "website": self.website, "hours": self.hours,
            "lat": self.lat, "lon": self.lon, "geo_precision": self.geo_precision,
            "status": self.status, "serves": list(self.serves), "aliases": list(self.aliases),
            "audience": list(self.audience), "source": self.source,
            "verified_on": self.verified_on.isoformat() if self.verified_on else None,
            "notes": self.notes, "caution": self.caution,
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
