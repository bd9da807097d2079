"""Immutable knowledge-base model: entries, their sources, and the searchable base."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import TYPE_CHECKING

from vvs.i18n import N_

if TYPE_CHECKING:
    from knowledge.search import SearchIndex, SearchResult

# Theme id → French label (translated with `_` at display time), in display order.
THEMES: Mapping[str, str] = MappingProxyType({
    "secret": N_("Secret médical et ses exceptions"),
    "majeur": N_("Victime majeure"),
    "mineur": N_("Enfant en danger"),
    "certificats": N_("Certificats, ITT, dossier"),
    "signalement": N_("Rédiger et transmettre un signalement"),
    "medecin-victime": N_("Médecin victime de violences"),
    "ressources": N_("Ressources et contacts"),
    "donnees": N_("Données personnelles"),
})

STATUSES = ("draft", "validated")


@dataclass(frozen=True)
class Source:
    """A reference; `url` comes from links.yaml (or an inline non-Légifrance official page)."""

    ref: str
    url: str | None = None

    @property
    def needs_review(self) -> bool:
        """True when no link is known: the reference must be checked by a reviewer."""
        return self.url is None


@dataclass(frozen=True)
class Entry:
    """One knowledge entry (a file `knowledge/entries/<id>.md`)."""

    id: str
    title: str
    theme: str
    questions: tuple[str, ...]
    keywords: tuple[str, ...]
    summary: str
    details: str
    sources: tuple[Source, ...]
    related: tuple[str, ...]
    reviewed_on: date
    status: str
    validated_by: str | None = None
    review_notes: str | None = None

    @property
    def is_draft(self) -> bool:
        """True while the entry has not been validated by a named reviewer."""
        return self.status != "validated"


@dataclass(frozen=True)
class KnowledgeBase:
    """All entries by id, grouped by theme, with the search index built at load."""

    entries: Mapping[str, Entry]
    index: SearchIndex

    @property
    def themes(self) -> Mapping[str, tuple[str, ...]]:
        """Theme id → ids of its entries (themes without entries omitted), in THEMES order."""
        grouped = {
            theme: tuple(e.id for e in self.entries.values() if e.theme == theme)
            for theme in THEMES
        }
        return MappingProxyType({t: ids for t, ids in grouped.items() if ids})

    def get(self, entry_id: str) -> Entry | None:
        """The entry with this id, or None."""
        return self.entries.get(entry_id)

    def search(self, question: str, top: int = 3) -> SearchResult:
        """Best entries for a physician's question, or an abstention with suggestions."""
        return self.index.search(question, top)
