"""Search over the knowledge entries, for questions typed by physicians in French.

Pipeline (the same for entries and questions): fold case, accents and punctuation → SMS
spellings (`synonyms.yaml`, `sms`; ages "6a", "je" glued to a verb "jfais") → typo
correction against the entries' vocabulary (questions only; real French words of the
lexicon, `french_lexicon`, are never corrected, they only join a word of the base of the
same family) → acronyms and synonym groups as alternatives (`acronyms`, `synonyms`) → stop
words out → French Snowball stems.

Each entry gets three signals: a field-weighted BM25 (title, questions, keywords, summary,
details), the idf-weighted *coverage* of the question's words by the entry (words unknown
to the whole base lower it: that is what makes off-topic questions abstain), and the best
rapidfuzz similarity with the entry's title and sample questions. They are combined into a
score in [0, 1], scaled down when the entry covers little of the question; questions that
name an off-topic concept (`out_of_scope.yaml`) are penalised, and so are questions with
rare French words the base never uses (a topic it does not cover). Below `THRESHOLD` the
search abstains and returns the closest entries as suggestions only, unless the best entry
is a clear winner (`MARGIN_FLOOR`, `MARGIN`) and no off-topic concept was named.

When unsure, ask: an answer whose runners-up are within `CLOSE` of it carries them as
`alternatives` (the card offers them: "Vouliez-vous plutôt : …"); a question just below the
threshold whose best entry is strong (`STRONG`) and leads by `MARGIN`, with no off-topic
concept, is answered with the next entries as alternatives instead of abstaining.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import snowballstemmer
import yaml
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

if TYPE_CHECKING:
    from knowledge.model import Entry

PACKAGE_DIR = Path(__file__).resolve().parent
SYNONYMS_FILE = PACKAGE_DIR / "synonyms.yaml"
OUT_OF_SCOPE_FILE = PACKAGE_DIR / "out_of_scope.yaml"

# Field weights of the BM25 part (sample questions are the closest to what users type).
FIELD_WEIGHTS = {"title": 2.0, "questions": 1.5, "keywords": 1.5, "summary": 1.0,
                 "details": 0.8}
BM25_K1, BM25_B = 1.2, 0.5
# How much a word found in each field counts for coverage.
PRESENCE_WEIGHTS = {"title": 1.0, "questions": 1.0, "keywords": 1.0, "summary": 0.7,
                    "details": 0.4}
# Score = W_COVER * coverage + W_BM25 * BM25 part + W_FUZZ * fuzzy similarity. The BM25
# part is relative to the best entry (ranking), times a saturation of the best raw BM25
# (absolute evidence): BM25_HALF is the raw BM25 at which that saturation reaches 0.5.
W_COVER, W_BM25, W_FUZZ = 0.34, 0.42, 0.24
BM25_HALF = 12.0
# Ranking between neighbouring entries: W_KNN times the nearest sample question (best
# TF-IDF cosine of the question with the entry's title or one of its sample questions;
# stems, idf across entries, so a word naming one entry weighs more than one shared by all
# its neighbours) is added, then the scores are rescaled so that the best keeps its value:
# the signal reorders the entries without changing the confidence of the best one.
# Fitted on dev, own, holdout and holdout2 (top-1 accuracy, leave-one-set-out): flat from
# 0.4 to 0.9; end to end (with abstention) 0.3 and 0.6 equal.
W_KNN = 0.6
# Coverage weights: idf + IDF_SMOOTH; concepts of the synonym tables at least CONCEPT_WEIGHT
# (they are the domain's core words, common across entries); a word unknown to the base
# UNKNOWN_WEIGHT times the heaviest word (this is what makes off-topic questions abstain).
IDF_SMOOTH = 0.5
CONCEPT_WEIGHT = 2.0
UNKNOWN_WEIGHT = 0.8
# Entries that cover less than COVERAGE_GATE of the question are scaled down by
# sqrt(coverage / COVERAGE_GATE): matching one shared word ("secret", "enfant") is not enough.
COVERAGE_GATE = 0.5
# A question's content word that the base does not know at all: a real French word (in the
# lexicon) is a topic the base does not cover and weighs UNKNOWN_FRENCH_WEIGHT times the
# heaviest word in coverage, and each one scales the score by UNKNOWN_FRENCH_FACTOR; a
# non-word (an uncorrectable typo, a name, an unknown acronym) keeps UNKNOWN_WEIGHT.
UNKNOWN_FRENCH_WEIGHT = 1.2
UNKNOWN_FRENCH_FACTOR = 0.9
# ... in proportion to its rarity: 0 for a word seen RARITY_COMMON times or more in the
# lexicon (everyday words: "fois", "fils"), 1 for RARITY_RARE times or fewer ("fièvre").
RARITY_COMMON, RARITY_RARE = 30_000, 1_000
# A word of the lexicon seen at least LEXICON_PROTECT times is never corrected (rarer forms,
# "pliante", are more often typos of a word of the base, "plainte").
LEXICON_PROTECT = 100
FAMILY_PREFIX = 8
OUT_OF_SCOPE_FACTOR = 0.55
THRESHOLD = 0.49
# Below THRESHOLD the search still answers when the best entry is at least MARGIN_FLOOR and
# leads the second by MARGIN (a clear winner, typical of terse or texting-style questions
# whose words are half unknown), unless the question names an off-topic concept or the
# base has little evidence on its words (best raw BM25 below MARGIN_EVIDENCE).
# Fitted jointly on dev, own, holdout and holdout2-TUNE (bench/tune_knowledge_abstention.py,
# max of min(in-scope, out-of-scope), per-set rates averaged), each at the middle of its flat
# range: THRESHOLD 0.46-0.50, MARGIN 0.09-0.13, MARGIN_FLOOR 0.22-0.44, MARGIN_EVIDENCE
# 12-64 (geometric middle), UNKNOWN_FRENCH_FACTOR best at 0.9 (0.85 and 0.95 lose a case).
# With the nearest-neighbour reranking (W_KNN) the leads grow: MARGIN 0.14 is the smallest
# that keeps out-of-scope abstention where it was (macro 98.0%, holdout2 both halves too);
# 0.11-0.14 give the same in-scope rate.
MARGIN_FLOOR, MARGIN, MARGIN_EVIDENCE = 0.33, 0.14, 28.0
SUGGESTION_FLOOR = 0.12
# "When unsure, ask". Runners-up within CLOSE of the answer are offered beside it, at most
# MAX_ALTERNATIVES: half the clear-winner MARGIN. On dev, own, holdout and holdout2 it puts
# the right sheet one tap away for 17 of the 50 wrong answers and adds suggestions to 44 of
# the 512 right ones (0.05: 12 and 34; 0.10: 19 and 70).
# Below THRESHOLD, a best entry of at least STRONG that leads by MARGIN (the clear-winner
# rule without its evidence condition) is shown with its runners-up rather than withheld:
# every out-of-scope question of those sets that gets that lead with no off-topic concept
# scores under 0.42 (the highest, 0.415, names an organ donation).
CLOSE = MARGIN / 2
MAX_ALTERNATIVES = 2
STRONG = 0.44

_STOP_TEXT = """
a ai aie aient aies ait alors as au aucun aucune aupres aussi autre autres aux avais avait
avant avec avez avoir avons bah ben bien bon bonjour c ca car ce ceci cela celle celles celui
cependant certain certaine certains ces cet cette ceux chaque chez ci combien comme comment
d dans de deja des dois doit doivent donc dont du elle elles en encore es est est-ce et etc
etais etait etant ete etre eu eux exactement faire fais fait faites faut hello i il ils j je
jusqu l la le les leur leurs lui m ma mais me meme mes moi mon n ne ni nos notre nous o on ont
ou oui par parce pas peu peut peuvent peux plus plutot pour pourquoi pouvez pouvons puis
puisque qu quand que quel quelle quelles quels qui quoi s sa sais sait sans se ses si sinon
soit sont sous suis sur svp t ta te tes toi ton tous tout toute toutes tres tu un une vais
veut veux voila vos votre vous vraiment y merci question questions dr
devons devez dire dit doit-on faut-il quelqu quelque quelques chose choses cas etc
son sa leur nos vos sera serai serais serait seront seras serons serez fut aura aurai
aurais aurait auront avait avais eu ca cela ceci voici aujourd hui
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())

_NON_WORD = re.compile(r"[^0-9a-z_]+")
_ARTICLE = re.compile(r"\b(?:art(?:icle)?s?\.?\s*)?([lrd])\s*\.?\s*(\d{1,4}(?:[-.]\d+)+)\b")
_NUMBER_DASH = re.compile(r"(\d)[-.](?=\d)")
# Texting forms: "6a" / "85ans" (an age), "jfais" / "jpeux" (je + verb).
_AGE = re.compile(r"(\d{1,3})(?:a|ans)")
_JE_VERB = re.compile(r"j([bcdfghjklmnpqrstvwxz][a-z]+)")

_stemmer = snowballstemmer.stemmer("french")


@lru_cache(maxsize=1)
def french_lexicon() -> Mapping[str, int]:
    """Folded French word → frequency (pyspellchecker's French list; empty if absent).

    A word of this list is a real word: a frequent one is never "corrected" into a word
    of the base, and when the base does not know it, it names a topic the base does not
    cover. Its rarest forms (count 50) come from a dictionary rather than from usage.
    """
    try:
        raw = (resources.files("spellchecker") / "resources" / "fr.json.gz").read_bytes()
        counts = json.loads(gzip.decompress(raw))
    except (ModuleNotFoundError, OSError, ValueError):
        return MappingProxyType({})
    words: dict[str, int] = {}
    for word, count in counts.items():
        if not word.isalpha():
            continue
        if not word.isascii():
            word = unicodedata.normalize("NFKD", word.replace("œ", "oe").replace("æ", "ae"))
            word = word.encode("ascii", "ignore").decode()
        word = word.lower()
        words[word] = max(count, words.get(word, 0))
    return MappingProxyType(words)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """French Snowball stem of a folded word (numbers and article ids unchanged)."""
    if any(c.isdigit() for c in word):
        return word
    return str(_stemmer.stemWord(word))


class _Unaccented(dict[int, str]):
    """`str.translate` table: a character → its NFKD decomposition without combining marks
    (what `unicodedata` gives, computed once per character instead of once per call)."""

    def __missing__(self, code: int) -> str:
        decomposed = unicodedata.normalize("NFKD", chr(code))
        self[code] = "".join(c for c in decomposed if not unicodedata.combining(c))
        return self[code]


_UNACCENTED = _Unaccented()


def fold(text: str) -> str:
    """Lowercase, strip accents, keep article numbers (`R.4127-44` → `r4127_44`)."""
    text = text.lower().replace("œ", "oe").replace("æ", "ae").replace("’", "'")
    if not text.isascii():
        text = text.translate(_UNACCENTED)
    text = _ARTICLE.sub(lambda m: " " + m.group(1) + m.group(2) + " ", text)
    text = _NUMBER_DASH.sub(r"\1_", text)
    return _NON_WORD.sub(" ", text.replace("-", " ")).strip()


def texting(word: str, sms: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    """A folded token → the words it stands for in texting style (itself if none).

    The `sms` table first, then general forms: a number glued to "a"/"ans" is an age
    ("6a" → "6 ans"), "j" glued to a real French word is "je" ("jfais" → "je fais").
    """
    if word in sms:
        return sms[word]
    if word[0].isdigit():
        age = _AGE.fullmatch(word)
        return (age.group(1), "ans") if age else (word,)
    if word[0] == "j" and len(word) >= 3:
        verb = _JE_VERB.fullmatch(word)
        lexicon = french_lexicon()
        if verb and word not in lexicon and lexicon.get(verb.group(1), 0) >= LEXICON_PROTECT:
            return ("je", *sms.get(verb.group(1), (verb.group(1),)))
    return (word,)


@dataclass(frozen=True)
class Cue:
    """An off-topic concept, ignored when the question also names one of `unless`."""

    stems: tuple[str, ...]
    unless: frozenset[str] = frozenset()

    @cached_property
    def needs(self) -> frozenset[str]:
        return frozenset(self.stems)

    @staticmethod
    def parse(item: str | dict[str, Any]) -> Cue:
        """`"concept"` or `{cue: "concept", unless: [words...]}`."""
        if isinstance(item, dict):
            unless = frozenset(t for w in item.get("unless") or [] for t in _stems(fold(w)))
            return Cue(_stems(fold(str(item["cue"]))), unless)
        return Cue(_stems(fold(str(item))))


@dataclass(frozen=True)
class Tables:
    """Committed language tables: SMS spellings, acronyms, synonym groups, off-topic cues."""

    sms: dict[str, tuple[str, ...]]
    expansions: dict[tuple[str, ...], tuple[tuple[str, ...], ...]]  # stems → alternatives
    max_span: int
    out_of_scope: tuple[Cue, ...]
    cue_words: frozenset[str] = frozenset()  # folded words of the cues (typo targets too)

    @cached_property
    def cues_by_stem(self) -> Mapping[str, tuple[Cue, ...]]:
        """Each cue under its first stem: a question is checked against the cues it may hold."""
        index: dict[str, list[Cue]] = {}
        for cue in self.out_of_scope:
            index.setdefault(cue.stems[0], []).append(cue)
        return MappingProxyType({k: tuple(v) for k, v in index.items()})

    @staticmethod
    def load(synonyms: Path = SYNONYMS_FILE, out_of_scope: Path = OUT_OF_SCOPE_FILE) -> Tables:
        """Read the YAML tables (missing files mean empty tables)."""
        syn = _read_yaml(synonyms)
        # SMS spellings and English words are both read as the French words they stand for.
        sms = {fold(str(k)): tuple(fold(str(v)).split())
               for table in ("english", "sms") for k, v in (syn.get(table) or {}).items()}
        expansions: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
        for short, long in (syn.get("acronyms") or {}).items():
            forms = [long] if isinstance(long, str) else list(long)
            _add_group(expansions, [str(short), *forms])
        for group in syn.get("synonyms") or []:
            _add_group(expansions, [str(g) for g in group])
        cues = tuple(c for c in (Cue.parse(item) for item in _read_yaml(out_of_scope)
                                 .get("cues") or []) if c.stems)
        frozen = {k: tuple(sorted(v)) for k, v in expansions.items()}
        raw = [c["cue"] if isinstance(c, dict) else c for c in _read_yaml(out_of_scope)
               .get("cues") or []]
        cue_words = frozenset(w for c in raw for w in fold(str(c)).split()
                              if len(w) >= 5 and w not in STOP_WORDS)
        return Tables(sms, frozen, max((len(k) for k in frozen), default=1), cues, cue_words)


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _stems(text: str) -> tuple[str, ...]:
    return tuple(stem(w) for w in text.split() if w not in STOP_WORDS)


def _add_group(expansions: dict[tuple[str, ...], set[tuple[str, ...]]],
               members: Sequence[str]) -> None:
    """Each member of a group counts as any other member."""
    forms = [s for s in (_stems(fold(m)) for m in members) if s]
    for form in forms:
        expansions.setdefault(form, set()).update(f for f in forms if f != form)


@dataclass
class Unit:
    """One concept of a question: its own stems or any alternative spelled elsewhere."""

    alternatives: list[tuple[str, ...]] = field(default_factory=list)
    words: tuple[str, ...] = ()  # the folded words of the question behind it


def analyse(text: str, tables: Tables, correct: dict[str, str] | None = None) -> list[Unit]:
    """Text → concepts (units) with their alternatives, after SMS, typos and stop words."""
    words: list[str] = []
    for word in fold(text).split():
        words.extend(texting(word, tables.sms))
    if correct is not None:
        words = [correct.get(w, w) for w in words]
    words = [w for w in words if w not in STOP_WORDS]
    stems = [stem(w) for w in words]
    units: list[Unit] = []
    i = 0
    while i < len(stems):
        for span in range(min(tables.max_span, len(stems) - i), 0, -1):
            key = tuple(stems[i : i + span])
            if key in tables.expansions:
                units.append(Unit([key, *tables.expansions[key]], tuple(words[i : i + span])))
                i += span
                break
        else:
            units.append(Unit([(stems[i],)], (words[i],)))
            i += 1
    return units


def terms_of(units: Iterable[Unit]) -> list[str]:
    """Every stem of every alternative (the bag of words of an entry field)."""
    return [t for u in units for alt in u.alternatives for t in alt]


def fuzzy_text(units: Iterable[Unit]) -> str:
    """The question as its own stems, for rapidfuzz."""
    return " ".join(t for u in units for t in u.alternatives[0])


@dataclass(frozen=True)
class SearchResult:
    """`answered` is False when no entry is close enough: `results` are then suggestions.

    `alternatives` are the entries to offer beside an answer when the search is unsure
    (close runners-up, or an answer given below the threshold); empty for a clear winner.
    """

    answered: bool
    results: tuple[tuple[str, float], ...]
    alternatives: tuple[str, ...] = ()

    @property
    def offered(self) -> tuple[str, ...]:
        """The entries on screen or one tap away: the answer and its alternatives, or the
        suggestions of an abstention."""
        if self.answered:
            return (self.results[0][0], *self.alternatives)
        return tuple(i for i, _s in self.results)


class SearchIndex:
    """Built once per snapshot; `search` only reads it."""

    def __init__(self, entries: Sequence[Entry], tables: Tables) -> None:
        self.ids = tuple(e.id for e in entries)
        self.tables = tables
        fields = {name: [terms_of(analyse(_field(e, name), tables)) for e in entries]
                  for name in FIELD_WEIGHTS}
        vocab = sorted({t for bags in fields.values() for bag in bags for t in bag})
        self.term_ids = {t: i for i, t in enumerate(vocab)}
        self.words = self._words(entries)
        self.words_by_initial: dict[str, tuple[str, ...]] = {}
        for word in self.words:
            self.words_by_initial.setdefault(word[0], ())
            self.words_by_initial[word[0]] += (word,)
        self.cue_stems = {t for cue in tables.out_of_scope for t in cue.stems}
        self.lexicon = french_lexicon()
        self.words_by_prefix: dict[str, tuple[str, ...]] = {}
        for word in self.words:
            if len(word) >= FAMILY_PREFIX:
                key = word[:FAMILY_PREFIX]
                self.words_by_prefix[key] = (*self.words_by_prefix.get(key, ()), word)
        self._build_weights(fields)
        self.fuzzy_choices: list[str] = []
        self.fuzzy_owner: list[int] = []
        for n, entry in enumerate(entries):
            for text in (entry.title, *entry.questions):
                # words sorted once here: `ratio` on sorted words is `token_sort_ratio`
                self.fuzzy_choices.append(_sorted_words(fuzzy_text(analyse(text, tables))))
                self.fuzzy_owner.append(n)
        self.fuzzy_owner_arr = np.array(self.fuzzy_owner, dtype=np.int64)
        # each entry's texts are contiguous (title first): its first text's position
        self.fuzzy_starts = np.flatnonzero(np.diff(self.fuzzy_owner_arr, prepend=-1))
        self._build_neighbours(entries)

    def _words(self, entries: Sequence[Entry]) -> dict[str, str]:
        """Folded word → stem, for the entries' vocabulary and the tables (typo targets)."""
        words: set[str] = set()
        for e in entries:
            for text in (e.title, e.summary, e.details, *e.questions, *e.keywords):
                words.update(fold(text).split())
        words = {w for w in words if len(w) >= 4 and not w.isdigit() and w not in STOP_WORDS}
        words |= self.tables.cue_words  # so that a misspelt off-topic word is recognised
        return {w: stem(w) for w in sorted(words)}

    def _build_weights(self, fields: dict[str, list[list[str]]]) -> None:
        n_docs, n_terms = len(self.ids), len(self.term_ids)
        present = np.zeros((n_docs, n_terms), dtype=np.float64)
        weights = np.zeros((n_docs, n_terms), dtype=np.float64)
        tfs = {}
        for name, bags in fields.items():
            tf = np.zeros((n_docs, n_terms), dtype=np.float64)
            for d, bag in enumerate(bags):
                for t in bag:
                    tf[d, self.term_ids[t]] += 1
            tfs[name] = tf
            present = np.maximum(present, PRESENCE_WEIGHTS[name] * (tf > 0))
        df = np.asarray(sum(tfs.values()) > 0).sum(axis=0)
        self.idf = np.log(1 + (n_docs - df + 0.5) / (df + 0.5))
        self.max_idf = math.log(1 + (n_docs + 0.5) / 0.5) if n_docs else 1.0
        for name, tf in tfs.items():
            length = tf.sum(axis=1, keepdims=True)
            norm = BM25_K1 * (1 - BM25_B + BM25_B * length / max(float(length.mean()), 1.0))
            weights += FIELD_WEIGHTS[name] * self.idf * tf * (BM25_K1 + 1) / (tf + norm)
        self.weights = weights
        self.present = present
        for array in (self.idf, self.weights, self.present):
            array.flags.writeable = False  # the index is part of an immutable snapshot

    def _build_neighbours(self, entries: Sequence[Entry]) -> None:
        """TF-IDF rows (sublinear tf, L2-normed) of every title and sample question."""
        bags = [terms_of(analyse(text, self.tables))
                for e in entries for text in (e.title, *e.questions)]
        self.knn_terms = {t: i for i, t in enumerate(sorted({t for b in bags for t in b}))}
        tf = np.zeros((len(bags), len(self.knn_terms)), dtype=np.float32)
        for r, bag in enumerate(bags):
            for t in bag:
                tf[r, self.knn_terms[t]] += 1
        in_entry = np.zeros((len(self.ids), len(self.knn_terms)), dtype=bool)
        np.logical_or.at(in_entry, self.fuzzy_owner_arr, tf > 0)
        n = len(self.ids)
        self.knn_idf = (np.log((1 + n) / (1 + in_entry.sum(axis=0))) + 1).astype(np.float32)
        rows = np.where(tf > 0, 1 + np.log(np.maximum(tf, 1)), 0) * self.knn_idf
        rows /= np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)
        self.knn_rows = rows
        self.knn_max_idf = float(self.knn_idf.max()) if n and len(self.knn_terms) else 1.0
        for array in (self.knn_idf, self.knn_rows):
            array.flags.writeable = False

    def _neighbours(self, terms: list[str]) -> np.ndarray:
        """Best cosine (0..1) of the question with each entry's title and sample questions.

        A stem the sample questions never use counts in the question's norm with the
        highest idf (it lowers every similarity)."""
        out = np.zeros(len(self.ids))
        counts: dict[int, int] = {}
        unknown = 0
        for t in terms:
            j = self.knn_terms.get(t)
            if j is None:
                unknown += 1
            else:
                counts[j] = counts.get(j, 0) + 1
        if not counts:
            return out
        cols = np.fromiter(counts, dtype=np.int64, count=len(counts))
        weights = (1 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))
                   ) * self.knn_idf[cols]
        norm = math.sqrt(float((weights ** 2).sum()) + unknown * self.knn_max_idf ** 2)
        return self._per_entry(self.knn_rows[:, cols] @ (weights / norm))

    def _per_entry(self, sims: np.ndarray) -> np.ndarray:
        """The best of each entry's texts (never below 0): `reduceat` over the contiguous
        runs, a tenth of the time of `np.maximum.at`."""
        return np.maximum(np.maximum.reduceat(sims, self.fuzzy_starts), 0).astype(np.float64)

    def corrections(self, text: str) -> dict[str, str]:
        """Unknown words (typos) → the closest word of the base, when close enough.

        One edit (a transposition counts as one) from 5 letters, two from 8; the first
        letter must match. Words of the off-topic cues are never corrected, nor real French
        words (the lexicon): those only join a word of the base of the same family (the
        same first FAMILY_PREFIX letters: "psychologue" → "psychologique").
        """
        out: dict[str, str] = {}
        for word in set(fold(text).split()):
            word = " ".join(texting(word, self.tables.sms))
            if (len(word) < 5 or word in STOP_WORDS or any(c.isdigit() for c in word)
                    or " " in word or stem(word) in self.term_ids
                    or (stem(word),) in self.tables.expansions
                    or stem(word) in self.cue_stems):
                continue
            if self.lexicon.get(word, 0) >= LEXICON_PROTECT:
                family = self.words_by_prefix.get(word[:FAMILY_PREFIX], ())
                if len(word) >= FAMILY_PREFIX and family:
                    out[word] = min(family, key=lambda w: (OSA.distance(word, w), w))
                continue
            max_edits = 2 if len(word) >= 8 else 1
            candidates = self.words_by_initial.get(word[0], ())
            match = process.extractOne(word, candidates, scorer=OSA.distance,
                                       score_cutoff=max_edits)
            # an off-topic word is a target only one edit away: a real word unknown to the
            # base ("fracture") must not turn into an off-topic one ("facturer")
            if match is not None and (match[1] <= 1 or match[0] not in self.tables.cue_words):
                out[word] = match[0]
        return out

    def scores(self, question: str) -> tuple[np.ndarray, bool]:
        """Calibrated score per entry and whether an off-topic cue was seen."""
        score, off_topic, _evidence = self.signals(question)
        return score, off_topic

    def signals(self, question: str) -> tuple[np.ndarray, bool, float]:
        """`scores`, plus the best raw BM25 (absolute evidence on the question's words)."""
        units = analyse(question, self.tables, self.corrections(question))
        if not units or not self.ids:
            return np.zeros(len(self.ids)), False, 0.0
        coverage = self._coverage(units)
        ids = [self.term_ids[t] for t in set(terms_of(units)) if t in self.term_ids]
        bm25 = self.weights[:, ids].sum(axis=1) if ids else np.zeros(len(self.ids))
        best = float(bm25.max())
        bm25_part = bm25 / (best + BM25_HALF) if best > 0 else bm25
        fuzzy = self._fuzzy(fuzzy_text(units))
        knn = self._neighbours(terms_of(units))
        score = W_COVER * coverage + W_BM25 * bm25_part + W_FUZZ * fuzzy
        gate = np.sqrt(np.minimum(1.0, coverage / COVERAGE_GATE))
        score = score * gate
        if W_KNN and score.max() > 0:
            ranked = score + W_KNN * knn * gate
            score = ranked * (score.max() / ranked.max())
        score = score * UNKNOWN_FRENCH_FACTOR ** self.unknown_french(units)
        off_topic = self.off_topic(units) or self.off_topic(analyse(question, self.tables))
        if off_topic:
            score = score * OUT_OF_SCOPE_FACTOR
        return np.clip(score, 0.0, 1.0), off_topic, best

    def _coverage(self, units: list[Unit]) -> np.ndarray:
        """Idf-weighted share of the question's concepts found in each entry."""
        total = np.zeros(len(self.ids))
        weight_sum = 0.0
        for unit in units:
            best = np.zeros(len(self.ids))
            weight = 0.0
            for alt in unit.alternatives:
                ids = [self.term_ids[t] for t in alt if t in self.term_ids]
                if not ids:
                    continue
                idf = self.idf[ids]
                share = (self.present[:, ids] * idf).sum(axis=1) / (idf.sum() * len(alt)
                                                                      / len(ids))
                best = np.maximum(best, share)
                weight = max(weight, float(idf.mean()) + IDF_SMOOTH)
            if weight == 0.0:
                share = UNKNOWN_WEIGHT
                if self.is_french(unit):
                    share += (UNKNOWN_FRENCH_WEIGHT - UNKNOWN_WEIGHT) * self.rarity(unit)
                weight = share * (self.max_idf + IDF_SMOOTH)
            elif len(unit.alternatives) > 1:
                weight = max(weight, CONCEPT_WEIGHT)
            total += weight * best
            weight_sum += weight
        return total / weight_sum if weight_sum else total

    def is_french(self, unit: Unit) -> bool:
        """A unit made of real French words (the lexicon), not a typo, name or number."""
        return bool(unit.words) and all(w in self.lexicon for w in unit.words)

    def rarity(self, unit: Unit) -> float:
        """0 for everyday words, 1 for rare ones (log scale between RARITY_COMMON and _RARE)."""
        count = min(self.lexicon.get(w, 0) for w in unit.words) if unit.words else 0
        span = math.log(RARITY_COMMON / RARITY_RARE)
        return min(1.0, max(0.0, math.log(RARITY_COMMON / max(count, 1)) / span))

    def unknown_french(self, units: list[Unit]) -> float:
        """The summed rarity of the question's French words that the base never uses."""
        return sum(self.rarity(u) for u in units if self.is_french(u) and not any(
            t in self.term_ids for alt in u.alternatives for t in alt))

    def _fuzzy(self, text: str) -> np.ndarray:
        """Best similarity (0..1) of the question with each entry's title and questions."""
        if not text or not self.fuzzy_choices:
            return np.zeros(len(self.ids))
        sims = process.cdist([_sorted_words(text)], self.fuzzy_choices, scorer=fuzz.ratio,
                             dtype=np.float32)[0] / 100.0
        return self._per_entry(sims)

    def off_topic(self, units: list[Unit]) -> bool:
        """True when a cue appears in the question (in order, at most one word between its
        words), spelled out or as an acronym's form."""
        sequences = [[t for u in units for t in u.alternatives[0]],
                     *(list(alt) for u in units for alt in u.alternatives[1:])]
        words = {t for seq in sequences for t in seq}
        index = self.tables.cues_by_stem
        for cue in (c for word in words for c in index.get(word, ())):
            if cue.unless & words or not cue.needs <= words:
                continue
            if any(_in_order(cue.stems, seq) for seq in sequences):
                return True
        return False

    def search(self, question: str, top: int = 3) -> SearchResult:
        """Best `top` entries; `answered` only when the best one is close enough."""
        score, off_topic, evidence = self.signals(question)
        order = np.argsort(-score, kind="stable")[: max(top, 1 + MAX_ALTERNATIVES)]
        best = float(score[order[0]]) if len(order) else 0.0
        second = float(score[order[1]]) if len(order) > 1 else 0.0
        clear_lead = not off_topic and best - second >= MARGIN
        answered = best >= THRESHOLD or (clear_lead and best >= MARGIN_FLOOR
                                         and evidence >= MARGIN_EVIDENCE)
        unsure = not answered and clear_lead and best >= STRONG
        results = tuple((self.ids[i], round(float(score[i]), 4)) for rank, i in
                        enumerate(order[:top])
                        if score[i] > SUGGESTION_FLOOR or (answered and rank == 0))
        if not results or not (answered or unsure):
            return SearchResult(False, results)
        floor = SUGGESTION_FLOOR if unsure else max(SUGGESTION_FLOOR, best - CLOSE)
        alternatives = tuple(self.ids[i] for i in order[1 : 1 + MAX_ALTERNATIVES]
                             if score[i] > floor)
        return SearchResult(True, results, alternatives)


def _sorted_words(text: str) -> str:
    """What rapidfuzz's `token_sort_ratio` compares: the words in order, one space apart."""
    return " ".join(sorted(text.split()))


def _in_order(cue: tuple[str, ...], seq: list[str]) -> bool:
    """`cue` occurs in `seq` in order, with at most one other word between two of its words."""
    for start, word in enumerate(seq):
        if word != cue[0]:
            continue
        pos = start
        for part in cue[1:]:
            window = seq[pos + 1 : pos + 3]
            if part not in window:
                break
            pos += 1 + window.index(part)
        else:
            return True
    return False


def _field(entry: Entry, name: str) -> str:
    value = getattr(entry, name)
    return "\n".join(value) if isinstance(value, tuple) else str(value)


def build_index(root: Path | None, entries: Sequence[Entry],
                tables: Tables | None = None) -> SearchIndex:
    """Build the index of a snapshot (tables from the package unless given)."""
    return SearchIndex(entries, tables or Tables.load())
