"""Immutable knowledge-base model: entries, their sources, and the searchable base."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

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


# Hosts whose pages are published by the body itself (Légifrance, ministries and other
# `gouv.fr` services, the Ordre, the Conseil d'État, ARS, HAS, Parliament, AP-HP). Any
# other host is a third party: its page is labelled « non officiel » where it is shown.
OFFICIAL_HOSTS = ("gouv.fr", "medecin.fr", "conseil-etat.fr", "sante.fr", "has-sante.fr",
                  "senat.fr", "assemblee-nationale.fr", "justice.fr", "aphp.fr", "cdm44.org")
LEGIFRANCE_HOST = "www.legifrance.gouv.fr"


def is_official(url: str) -> bool:
    """True when `url` is on an official host (see OFFICIAL_HOSTS), never for a mirror."""
    host = (urlsplit(url).hostname or "").lower()
    return any(host == h or host.endswith("." + h) for h in OFFICIAL_HOSTS)


@dataclass(frozen=True)
class Link:
    """One row of links.yaml: the URL shown for a reference, and how it was obtained.

    `legiarti` is set when the URL is a Légifrance permalink built from that identifier,
    which appears in the cited `source` (a page of the shared documents); `note` is shown
    to physicians next to the link (for example « numéro d'article à revérifier »).
    """

    url: str
    legiarti: str | None = None
    source: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Source:
    """A reference; `url` comes from links.yaml (or an inline non-Légifrance page).

    `from_table` is True when the link comes from links.yaml (the text of an article), so
    that a third-party copy is shown as « copie non officielle »; `note` comes from there.
    """

    ref: str
    url: str | None = None
    note: str | None = None
    from_table: bool = False

    @property
    def needs_review(self) -> bool:
        """True when no link is known: the reference must be checked by a reviewer."""
        return self.url is None

    @property
    def official(self) -> bool:
        """True when the link is on an official host (False without a link)."""
        return self.url is not None and is_official(self.url)


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
    title_en: str | None = None  # the sheet itself stays French
    # who validated (name in `validated_by`), in what role, when, and the hash of the content
    # fields they read (`content_hash`): an entry edited since then is a draft again
    validated_role: str | None = None
    validated_on: date | None = None
    validated_hash: str | None = None

    def title_in(self, language: str) -> str:
        """The title an English-speaking physician reads, or the French one."""
        return self.title_en if language == "en" and self.title_en else self.title

    @property
    def is_draft(self) -> bool:
        """True while the entry has not been validated by a named reviewer."""
        return self.status != "validated"


def content_hash(entry: Entry) -> str:
    """12 hex digits of SHA-256 over the fields a physician reads, in both languages (not the
    status, validation or review fields): what a validator's signature covers."""
    fields = {"title": entry.title, "title_en": entry.title_en, "theme": entry.theme,
              "questions": list(entry.questions), "keywords": list(entry.keywords),
              "summary": entry.summary, "details": entry.details,
              "sources": [[s.ref, s.url] for s in entry.sources],
              "related": list(entry.related)}
    encoded = json.dumps(fields, ensure_ascii=False, sort_keys=True).encode()
    return hashlib.sha256(encoded).hexdigest()[:12]


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
