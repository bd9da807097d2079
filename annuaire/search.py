"""Fuzzy and geographic search over a `Directory`, with prebuilt arrays and batch scoring.

Text search: each query word is compared once with the vocabulary of the directory
(`rapidfuzz.process.cdist`), and every entry takes, per query word, the best similarity
among its own words (token → entries postings and `np.maximum.at`): typo, accent,
word-order and abbreviation tolerant, with no Python loop over entries. Places and kinds
named in the query boost the entries of that place and kind.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process

from annuaire.gazetteer import Gazetteer, Place, default_gazetteer, haversine_km
from annuaire.model import (
    KIND_OVERRIDES,
    KIND_WORDS,
    KINDS,
    NOT_KIND_PHRASES,
    TERRITORIAL_KINDS,
    Directory,
    Entry,
)
from annuaire.text import normalize

STOPWORDS = frozenset(("de", "du", "des", "la", "le", "les", "l", "d", "a", "au", "aux", "en",
                       "et", "pour", "pres", "proche", "dans", "un", "une", "mon", "ma", "mes",
                       "qui", "quel", "quelle", "ou", "of", "the", "near"))
KIND_WEIGHT = 0.35
PLACE_WEIGHT = 0.35
PHRASE_WEIGHT = 0.2
MIN_SCORE = 0.3
RERANK = 64
BROAD_SERVES = 2  # an entry serving more départements than this is regional
GENERIC_PLACE_WORD = 50  # a word in more commune names than this is not distinctive
NEARBY_HIT = 0.5  # place score of an entry at 0 km of a named commune it does not serve
NEARBY_KM = 15.0  # ... decaying by e every NEARBY_KM


@dataclass(frozen=True)
class Hit:
    """One result: the entry with its score (text search) or its distance (near)."""

    entry: Entry
    score: float | None = None
    distance_km: float | None = None
    serves_place: bool = False

    def as_dict(self) -> dict[str, Any]:
        data = self.entry.as_dict()
        if self.score is not None:
            data["score"] = round(self.score, 4)
        if self.distance_km is not None or self.score is None:
            data["distance_km"] = None if self.distance_km is None else round(
                self.distance_km, 2)
        return data


def name_words(entry: Entry) -> frozenset[str]:
    """The normalised words of the entry's name and aliases."""
    return frozenset(normalize(" ".join((entry.name, *entry.aliases))).split())


@dataclass(frozen=True)
class Competence:
    """Entries competent for a place; `certain` is False when the caller must choose."""

    entries: tuple[Entry, ...]
    certain: bool


class SearchIndex:
    """Arrays built once per directory snapshot."""

    def __init__(self, entries: tuple[Entry, ...], gazetteer: Gazetteer) -> None:
        self.entries = entries
        self.gaz = gazetteer
        docs = [_doc_tokens(e) for e in entries]
        vocab = sorted({t for doc in docs for t in doc})
        self.vocab = tuple(vocab)
        position = {t: i for i, t in enumerate(vocab)}
        lengths = [len(doc) for doc in docs]
        self.indptr = np.zeros(len(entries) + 1, dtype=np.int64)
        self.indptr[1:] = np.cumsum(lengths)
        self.indices = np.fromiter((position[t] for doc in docs for t in doc), dtype=np.int64,
                                   count=int(self.indptr[-1]))
        owners = np.repeat(np.arange(len(entries), dtype=np.int64), lengths)
        by_token = np.argsort(self.indices, kind="stable")  # postings: token → entries
        self.postings = owners[by_token]
        df = np.bincount(self.indices, minlength=len(vocab)).astype(np.float64)
        self.post_ptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        self.post_ptr[1:] = np.cumsum(df.astype(np.int64))
        self.idf = np.log((len(entries) + 1) / (df + 0.5)) + 1.0
        self.kinds = np.asarray([e.kind for e in entries])
        self.departments = np.asarray([e.department or "" for e in entries])
        self.lats = np.asarray([np.nan if e.lat is None else e.lat for e in entries])
        self.lons = np.asarray([np.nan if e.lon is None else e.lon for e in entries])
        self.labels, self.label_owner = _labels(entries)
        self.serving = _serving_index(entries)
        self.broad = np.asarray([len(e.serves) > BROAD_SERVES for e in entries], dtype=bool)
        self.located = _located_index(entries, gazetteer)
        # every word of a name or an alias: a text sharing too few of them names nothing
        self.name_words = frozenset().union(*(name_words(e) for e in entries))

    @classmethod
    def build(cls, entries: tuple[Entry, ...]) -> SearchIndex:
        return cls(entries, default_gazetteer())

    # -- masks ------------------------------------------------------------------
    def mask(self, kind: str | None = None, department: str | None = None) -> np.ndarray:
        """Entries allowed by the hard filters."""
        keep = np.ones(len(self.entries), dtype=bool)
        if kind:
            keep &= self.kinds == kind
        if department:
            served = np.zeros(len(self.entries), dtype=bool)
            served[list(self.serving.get(department.upper(), ()))] = True
            keep &= (self.departments == department.upper()) | served
        return keep

    def place_hits(self, place: Place, nearby: bool = False) -> np.ndarray:
        """1 for entries in or serving the commune, 0.8 for its département, else 0.

        With `nearby`, an entry outside the département still scores up to NEARBY_HIT by
        its distance to a named commune ("umj versailles": the UMJ closest to Versailles).
        """
        hits = np.zeros(len(self.entries))
        if nearby and place.insee is not None and place.lat is not None \
                and place.lon is not None:
            dist = haversine_km(place.lat, place.lon, self.lats, self.lons)
            hits = np.nan_to_num(NEARBY_HIT * np.exp(-dist / NEARBY_KM))
        dept = place.department or ""
        hits[self.departments == dept] = 0.8
        hits[list(self.serving.get(dept, ()))] = 0.8
        hits[self.broad & (hits == 0.8)] = 0.7  # a regional service after the local one
        for code in (place.insee, place.parent):
            if code:
                hits[list(self.serving.get(code, ()))] = 1.0
                hits[list(self.located.get(code, ()))] = 1.0
        if place.insee is None:  # a whole département
            hits[hits > 0] += 0.2
        return hits

    # -- text ----------------------------------------------------------------------
    def word_scores(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(k × vocabulary similarities in [0, 1], weight of each query word)."""
        sims = process.cdist(words, self.vocab, scorer=fuzz.ratio, dtype=np.float32,
                             workers=1) / 100.0
        for row, word in enumerate(words):
            sims[row][sims[row] < _cutoff(word)] = 0.0
            start = bisect_left(self.vocab, word)
            stop = bisect_left(self.vocab, word + "\uffff")
            if len(word) >= 3 and stop > start:  # "hop" → "hopital", "verd" → "verdier"
                sims[row, start:stop] = np.maximum(sims[row, start:stop], 0.9)
            if word.isdigit():  # numbers match exactly or not at all
                sims[row][sims[row] < 1.0] = 0.0
        matched = sims > 0
        fallback = float(np.median(self.idf)) if len(self.idf) else 1.0
        weights = np.where(matched.any(axis=1),
                           np.max(np.where(matched, sims * self.idf, 0.0), axis=1), fallback)
        return sims, weights

    def text_scores(self, words: list[str]) -> np.ndarray:
        """Per entry, the weighted share of query words found (fuzzily) in its text."""
        if not words or not len(self.entries):
            return np.zeros(len(self.entries))
        sims, weights = self.word_scores(words)
        total = np.zeros(len(self.entries))
        for row, weight in zip(sims, weights, strict=True):
            tokens = np.flatnonzero(row)
            if not len(tokens):
                continue
            starts, stops = self.post_ptr[tokens], self.post_ptr[tokens + 1]
            spans = [self.postings[a:b] for a, b in zip(starts, stops, strict=True)]
            best = np.zeros(len(self.entries))
            np.maximum.at(best, np.concatenate(spans), np.repeat(row[tokens], stops - starts))
            total += weight * best
        return np.asarray(total / weights.sum())

    def phrase_scores(self, query: str, candidates: np.ndarray) -> np.ndarray:
        """Whole-query similarity with the names and aliases of a few candidate entries."""
        out = np.zeros(len(candidates))
        wanted = np.isin(self.label_owner, candidates)
        rows = np.flatnonzero(wanted)
        if not len(rows):
            return out
        labels = [self.labels[i] for i in rows]
        # token_set_ratio is 100 for any label containing the query's words ("police" in
        # "référents police médecins 95"); averaging with token_sort_ratio favours the label
        # that says just that.
        sims = (process.cdist([query], labels, scorer=fuzz.token_set_ratio, dtype=np.float32,
                              workers=1)[0]
                + process.cdist([query], labels, scorer=fuzz.token_sort_ratio,
                                dtype=np.float32, workers=1)[0]) / 2
        best: dict[int, float] = defaultdict(float)
        for owner, sim in zip(self.label_owner[rows].tolist(), sims.tolist(), strict=True):
            best[owner] = max(best[owner], sim / 100.0)
        return np.asarray([best[int(c)] for c in candidates])


def search(directory: Directory, query: str, kind: str | None = None,
           department: str | None = None, top: int = 5,
           min_score: float = MIN_SCORE) -> list[Hit]:
    """Best entries for a free-text query, best first, with a score in [0, 1] of at least
    `min_score`."""
    index = directory.index
    folded = normalize(query)
    words = folded.split()
    kinds = detect_kinds(folded)
    found = index.gaz.find_in_tokens(words)
    places = [p for p, _ in found]
    # Inside a commune's name, words shared by many communes ("saint", "sur", "bois") are
    # left to the place score: "parquet saint maur" must not match "Seine-Saint-Denis".
    generic = {i for p, span in found if p.insee is not None for i in span
               if index.gaz.name_frequency(words[i]) > GENERIC_PLACE_WORD}
    text_words = list(dict.fromkeys(w for i, w in enumerate(words)
                                    if w not in STOPWORDS and i not in generic))
    if not text_words:  # "saint denis" alone: its words are all there is to match
        text_words = list(dict.fromkeys(w for w in words if w not in STOPWORDS))
    keep = index.mask(kind, department)
    text = index.text_scores(text_words)
    total, score = 1.0, text.copy()
    if kinds:
        score += KIND_WEIGHT * np.isin(index.kinds, list(kinds))
        total += KIND_WEIGHT
    if places:
        score += PLACE_WEIGHT * np.max([index.place_hits(p, nearby=True) for p in places],
                                       axis=0)
        total += PLACE_WEIGHT
    score = np.where(keep & (text > 0), score / total, -1.0)
    return _rerank(index, folded, score, top, max(min_score, MIN_SCORE))


def _rerank(index: SearchIndex, folded: str, score: np.ndarray, top: int,
            min_score: float) -> list[Hit]:
    """Blend the best candidates' scores with a whole-phrase similarity; keep the top. A
    candidate that could not reach `min_score` even with a perfect phrase is left out
    before the (costly) phrase similarity: the same hits, fewer comparisons."""
    reachable = (1 - PHRASE_WEIGHT) * score + PHRASE_WEIGHT >= min_score
    score = np.where(reachable, score, -1.0)
    count = min(RERANK, int((score > 0).sum()))
    if count == 0:
        return []
    cand = np.argpartition(-score, count - 1)[:count]
    blended = (1 - PHRASE_WEIGHT) * score[cand] + PHRASE_WEIGHT * index.phrase_scores(
        folded, cand)
    order = np.argsort(-blended, kind="stable")[:top]
    return [Hit(index.entries[int(cand[i])], float(blended[i])) for i in order
            if blended[i] >= min_score]


def detect_kinds(folded: str) -> set[str]:
    """Kinds named in a normalised query ("tribunal" → parquet, "asso" → association)."""
    padded = f" {folded} "
    for phrase in NOT_KIND_PHRASES:
        padded = padded.replace(f" {phrase} ", " ")
    kinds = {kind for kind, phrases in KIND_WORDS.items()
             if any(f" {p} " in padded for p in phrases)}
    return kinds - {k for kind in kinds for k in KIND_OVERRIDES.get(kind, ())}


def near(directory: Directory, lat: float, lon: float, kind: str | None = None,
         top: int = 5, place: Place | None = None) -> list[Hit]:
    """Entries nearest to a point; for territorial kinds those serving the place first."""
    index = directory.index
    keep = index.mask(kind)
    dist = haversine_km(lat, lon, index.lats, index.lons)
    if place is None:
        place = index.gaz.nearest(lat, lon)
    serve_rank = np.full(len(index.entries), 2)
    if place is not None and (kind in TERRITORIAL_KINDS or kind is None):
        hits = index.place_hits(place)
        serve_rank = np.where(hits >= 1.0, 0, np.where(hits > 0, 1, 2))
        if kind is None:
            serve_rank = np.where(np.isin(index.kinds, list(TERRITORIAL_KINDS)), serve_rank, 2)
    eligible = keep & ((serve_rank < 2) | ~np.isnan(dist))
    rows = np.flatnonzero(eligible)
    sort_dist = np.where(np.isnan(dist[rows]), np.inf, dist[rows])
    order = rows[np.lexsort((sort_dist, serve_rank[rows]))][:top]
    return [Hit(index.entries[i], None, None if math.isnan(dist[i]) else float(dist[i]),
                bool(serve_rank[i] < 2)) for i in order]


def competent(directory: Directory, kind: str, place: Place) -> Competence:
    """Entries of `kind` whose `serves` covers the place; uncertain when several share it."""
    index = directory.index
    of_kind = set(np.flatnonzero(index.kinds == kind).tolist())
    communal = {i for code in (place.insee, place.parent) if code
                for i in index.serving.get(code, ())} & of_kind
    if communal:
        found = sorted(communal)
    else:
        dept = place.department or ""
        found = sorted(set(index.serving.get(dept, ())) & of_kind)
        if not found:
            found = sorted(i for i in of_kind if index.departments[i] == dept
                           and not index.entries[i].serves)
    entries = tuple(index.entries[i] for i in found)
    return Competence(entries, certain=len(entries) == 1)


def kind_label(kind: str) -> str:
    """The untranslated French label of a kind (translate with `_`)."""
    return KINDS.get(kind, kind)


def _cutoff(word: str) -> float:
    """Similarity below which a vocabulary word does not count as the query word."""
    if len(word) <= 3:
        return 1.0
    return 0.8 if len(word) <= 5 else 0.75


def _doc_tokens(entry: Entry) -> list[str]:
    """The distinct searchable words of an entry: names, aliases, kind words, place."""
    parts = [entry.name, *entry.aliases, entry.commune or "", entry.postcode or "",
             entry.department or "", entry.kind.replace("-", " "), *KIND_WORDS.get(entry.kind, ())]
    words = {w for part in parts for w in normalize(part).split() if w not in STOPWORDS}
    return sorted(words) or [entry.id]


def _labels(entries: tuple[Entry, ...]) -> tuple[tuple[str, ...], np.ndarray]:
    """Normalised names and aliases, with the index of the entry each belongs to."""
    labels: list[str] = []
    owners: list[int] = []
    for i, entry in enumerate(entries):
        for text in (entry.name, *entry.aliases):
            labels.append(normalize(text))
            owners.append(i)
    return tuple(labels), np.asarray(owners, dtype=np.int64)


def _serving_index(entries: tuple[Entry, ...]) -> MappingProxyType[str, tuple[int, ...]]:
    """Code (INSEE or département) → entries whose `serves` lists it."""
    serving: dict[str, list[int]] = defaultdict(list)
    for i, entry in enumerate(entries):
        for code in entry.serves:
            serving[code].append(i)
    return MappingProxyType({k: tuple(v) for k, v in serving.items()})


def _located_index(entries: tuple[Entry, ...], gaz: Gazetteer
                   ) -> MappingProxyType[str, tuple[int, ...]]:
    """INSEE code of the commune an entry sits in → entries (exact names only, no guessing)."""
    located: dict[str, list[int]] = defaultdict(list)
    for i, entry in enumerate(entries):
        for place in _entry_places(entry, gaz):
            located[place].append(i)
    return MappingProxyType({k: tuple(v) for k, v in located.items()})


def _entry_places(entry: Entry, gaz: Gazetteer) -> set[str]:
    """INSEE codes of the entry's commune (and its city for an arrondissement)."""
    if not entry.commune:
        return set()
    name = normalize(entry.commune)
    places = [gaz.places[i] for i in gaz.by_name.get(name, ())]
    if entry.postcode:
        places = [p for p in places if entry.postcode in p.postcodes] or [
            p for p in gaz.postcode(entry.postcode) if p.insee and p.parent]
    elif entry.department:
        places = [p for p in places if p.department == entry.department]
    codes = {p.insee for p in places if p.insee}
    return codes | {p.parent for p in places if p.parent}
