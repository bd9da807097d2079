"""What the bot does with a physician's free text in the directory: name, place or both."""

from __future__ import annotations

from dataclasses import dataclass

from annuaire.gazetteer import Place, PlaceMatch
from annuaire.model import Directory
from annuaire.search import Hit, detect_kinds, near, search
from annuaire.text import normalize
from vvs.departements import IDF_DEPARTMENTS
from vvs.events import DirectorySearch

PLACE_SURE = 0.9  # a typed postcode or exact commune name
NAME_SURE = 0.6  # a search hit this good means the physician typed a resource's name
MAX_RESULTS = 12


@dataclass(frozen=True)
class Found:
    hits: tuple[Hit, ...]
    place: Place | None = None
    ambiguous: tuple[Place, ...] = ()  # homonyms: ask which one

    @property
    def outside_region(self) -> bool:
        """The place is outside Île-de-France: the directory only covers the region."""
        return self.place is not None and self.place.department not in IDF_DEPARTMENTS

    def event(self, kind: str | None, by: str | None = None) -> DirectorySearch:
        """What this search counts as in the statistics: by `by` ("location" for a shared
        position), else by place when one was found, else by text; with its result count."""
        return DirectorySearch(kind, self.place.department if self.place else None,
                               by or ("place" if self.place else "text"), len(self.hits))


NATIONAL_KINDS = ("urgences", "ligne-nationale")


def national_first(directory: Directory, found: Found) -> Found:
    """Outside the region, the national lines come first: the local entries are far away and
    never competent there."""
    if not found.outside_region:
        return found
    national = [Hit(e) for kind in NATIONAL_KINDS for e in directory.entries
                if e.kind == kind and e.department is None]
    local = [h for h in found.hits if h.entry.department is not None]
    return Found(tuple(national + local), found.place, found.ambiguous)


def find(directory: Directory, text: str, kind: str | None = None) -> Found:
    """Search by name, or by place (nearest of the kind) when the text names a place."""
    by_name = search(directory, text, kind=kind, top=MAX_RESULTS)
    if by_name and by_name[0].score is not None and by_name[0].score >= NAME_SURE \
            and kind is None:
        return Found(tuple(by_name))
    matches = [m for m in directory.index.gaz.lookup(text, limit=6) if m.score >= PLACE_SURE]
    homonyms = _homonyms(matches)
    if len(homonyms) > 1:
        return Found(tuple(by_name), ambiguous=tuple(m.place for m in homonyms))
    if matches:
        place = matches[0].place
        kinds = detect_kinds(normalize(text))
        wanted = kind or (next(iter(kinds)) if len(kinds) == 1 else None)
        return national_first(directory, Found(tuple(near_place(directory, place, wanted)),
                                                    place))
    return Found(tuple(by_name))


def idf_department(directory: Directory | None, text: str) -> str | None:
    """The Île-de-France département of a commune or postcode typed alone (« bobigny »,
    « 93200 »), when the gazetteer is sure and every sure match agrees; else None."""
    if directory is None:
        return None
    matches = [m for m in directory.index.gaz.lookup(text, limit=4)
               if m.score >= PLACE_SURE and m.place.department in IDF_DEPARTMENTS]
    departments = {m.place.department for m in matches}
    return departments.pop() if len(departments) == 1 else None


def near_place(directory: Directory, place: Place, kind: str | None) -> list[Hit]:
    """Nearest entries of `kind` to a resolved place (those serving it first)."""
    if place.lat is None or place.lon is None:
        return []
    return near(directory, place.lat, place.lon, kind=kind, top=MAX_RESULTS, place=place)


def _homonyms(matches: list[PlaceMatch]) -> list[PlaceMatch]:
    """Top matches sharing the best score but not the département (Saint-Denis 93/974)."""
    if not matches or matches[0].via != "name":
        return []
    best = matches[0].score
    same = [m for m in matches if m.score >= best - 1e-6 and m.via == "name"]
    departments = {m.place.department for m in same}
    return same if len(departments) > 1 else []
