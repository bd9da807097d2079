"""Read a free text typed at the menu, on the existing search indexes.

Every reading is scored by the index that owns it, then the readings are ranked:

- `directory`: the annuaire's own detectors — kinds named (`detect_kinds`), places named
  verbatim (`Gazetteer.find_in_tokens`, or a misspelt commune beside a kind through
  `Gazetteer.lookup`), a resource's name (`annuaire.search.search`). Its score is the share of
  the text's content words they explain: "crip 93" is all directory, "c koi la crip" asks
  what the CRIP is.
- `question`: the knowledge search (`SearchIndex.search`): its best entry when it answers
  (its abstention is kept: no entry, no reading), with its score.
- `procedure`: the flows of the snapshot. A flow's title typed in the text ("information
  préoccupante"), or a wish to act ("je dois faire un signalement…", "je suis agressé") whose
  knowledge entries are the legal basis of a flow's outcomes: each entry votes for the flows
  that cite it, in proportion to how often (an entry cited by one flow only names it).

The only hand-written words are grammar, not topics: what asks a question ("quoi",
"comment", "?"), what asks for contact details ("numéro", "adresse", "où") and what says
"I want to act" ("je dois", "je veux", "je suis … agressé"). Danger words never reach this
step (`vvs.emergency` runs first).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from annuaire.gazetteer import Place
from annuaire.model import KIND_WORDS, NOT_KIND_PHRASES, Directory
from annuaire.search import STOPWORDS as DIRECTORY_STOPWORDS
from annuaire.search import detect_kinds, name_words, search
from annuaire.text import normalize
from bot.flows.model import Flow
from intent.model import DirectoryReading, Intent, ProcedureReading, QuestionReading, Reading
from knowledge.model import KnowledgeBase
from knowledge.search import STOP_WORDS, Tables, Unit, analyse, fold, texting
from vvs.departements import IDF_DEPARTMENTS

# Grammar cues, matched on the folded text with texting forms spelt out (" koi " → " quoi ").
QUESTION_CUES = ("quoi", "quest", "qu est ce", "comment", "pourquoi", "quel", "quelle", "quels",
                 "quelles", "quand", "est ce", "faut il", "peut on", "puis je", "ai je",
                 "dois je", "doit on", "droit", "obligatoire", "obligation", "risque", "combien")
CONTACT_CUES = frozenset(("numero", "num", "tel", "telephone", "adresse", "coordonnees",
                          "contact", "contacter", "joindre", "appeler", "mail", "email",
                          "ou", "proche", "pres", "trouver", "cherche", "annuaire", "site"))
ACTION_CUES = ("je dois", "je veux", "je voudrais", "je vais", "je souhaite", "il faut que je",
               "faire un signalement", "faire une ip", "faire une information", "je signale",
               "signaler", "declarer", "lancer", "commencer", "demarche", "procedure")
VICTIM_CUES = ("agress", "menac", "frapp", "insult", "victime", "harcel", "violente")
SELF_CUES = ("je suis", "j ai ete", "on m a", "je me suis fait", "moi meme", "me menace",
             "m a frappe", "m a agresse", "m agresse", "m insulte", "m a menace", "m a insulte")
# A flow's title typed in the text (rapidfuzz partial_ratio, folded).
TITLE_MATCH = 90.0
TITLE_SCORE = 0.95
# A wish to act weighs this much more than the question about the same entry; a procedure
# named inside a question this much less.
ACTION_BONUS = 0.1
# Directory: base score of the share of words it explains, plus a named kind or place.
BASE, KIND_PART, PLACE_PART = 0.6, 0.2, 0.2
CONTACT_BONUS = 0.1
QUESTION_FACTOR = 0.7  # a directory reading of a text that asks a question
CONTACT_FACTOR = 0.85  # a knowledge answer to a text that asks for contact details
NAME_SURE = 0.6  # an annuaire name-search hit this good: the text names a resource
PLACE_SURE = 0.9  # a gazetteer lookup this good: a (misspelt) commune
# Readings offered: at least FLOOR, and within OFFER_GAP of the best; at most MAX_READINGS.
FLOOR = 0.35
OFFER_GAP = 0.25
MAX_READINGS = 3

HINTS = 3  # the knowledge search's best entries a procedure reading looks at

# One-word kind phrases ("crip", "tribunal"): a leftover word one edit away is that word.
KIND_TERMS = tuple(sorted({p for phrases in KIND_WORDS.values() for p in phrases
                           if " " not in p and len(p) >= 4}))


def read(text: str, knowledge: KnowledgeBase, directory: Directory | None,
         flows: Mapping[str, Flow] | None, top: int = HINTS) -> Intent:
    """The readings of `text`, best first (empty when none is plausible). The knowledge
    search (its best `top` entries) is kept with them: an answer needs it again."""
    spelt = _spelt(text, knowledge)
    padded = f" {spelt} "
    asks = "?" in text or any(f" {c} " in padded for c in QUESTION_CUES)
    contact = bool(CONTACT_CUES & set(spelt.split()))
    result = knowledge.search(text, max(top, HINTS))
    readings: list[Reading] = []
    if result.answered:
        score = result.results[0][1] * (CONTACT_FACTOR if contact and not asks else 1.0)
        readings.append(QuestionReading(score, result.results[0][0], result.alternatives))
    if directory is not None:
        found = _directory(text, spelt, directory, asks, contact)
        if found is not None:
            readings.append(found)
    if flows:
        wish = _wish(padded)
        readings += _procedures(spelt, result.results[:HINTS], flows, wish, asks,
                                knowledge.index.tables)
    return Intent(_ranked(readings), result)


def _spelt(text: str, knowledge: KnowledgeBase) -> str:
    """Folded text, texting forms spelt out ("jdois" → "je dois", "koi" → "quoi")."""
    sms = knowledge.index.tables.sms
    return " ".join(w for word in fold(text).split() for w in texting(word, sms))


def _directory(text: str, spelt: str, directory: Directory, asks: bool,
               contact: bool) -> DirectoryReading | None:
    """A kind and/or a place named, scored by the share of the content words they explain."""
    words = normalize(spelt).split()
    content = [i for i, w in enumerate(words)
               if w not in DIRECTORY_STOPWORDS and w not in STOP_WORDS]
    if not content:
        return None
    words = [_kind_term(w) if i in content else w for i, w in enumerate(words)]
    kinds = detect_kinds(" ".join(words))
    explained = {i for i in content if words[i] in CONTACT_CUES}
    explained |= _kind_words(words, kinds)
    gaz = directory.index.gaz
    place: Place | None = None
    for found, span in gaz.find_in_tokens(words):
        if place is None or (found.department in IDF_DEPARTMENTS
                             and place.department not in IDF_DEPARTMENTS):
            place = found
        explained |= span
    left = [i for i in content if i not in explained]
    if kinds and place is None and 0 < len(left) <= 2:  # "crip versaille": a misspelt town
        matches = [m for m in gaz.lookup(" ".join(words[i] for i in left), limit=3)
                   if m.score >= PLACE_SURE and m.place.department in IDF_DEPARTMENTS]
        if matches:
            place = matches[0].place
            explained |= set(left)
    entry_id = None
    # a resource's name ("maison des femmes saint denis"): searched only when enough of the
    # text's words are words of some name (the test below, on the best hit, needs as much)
    could = {i for i in content if words[i] in directory.index.name_words}
    if (not kinds or place is None) and could - explained and len(could) >= 2 \
            and len(could) * 2 >= len(content):
        hits = search(directory, text, top=1, min_score=NAME_SURE)
        if hits and hits[0].score is not None and hits[0].score >= NAME_SURE:
            named = name_words(hits[0].entry)
            named_here = {i for i in content if words[i] in named}
            # one shared word ("aide") is not a name; most of the text must be the name
            if (named_here - explained and len(named_here) >= 2
                    and len(named_here) * 2 >= len(content)):
                entry_id = hits[0].entry.id
                explained |= named_here
                kinds = kinds or {hits[0].entry.kind}
    share = len(explained & set(content)) / len(content)
    if not kinds and (place is None or share < 1):  # a place alone: nothing else typed
        return None
    score = share * (BASE + KIND_PART * bool(kinds) + PLACE_PART * (place is not None))
    score = min(1.0, score + CONTACT_BONUS * contact) * (QUESTION_FACTOR if asks else 1.0)
    kind = next(iter(kinds)) if len(kinds) == 1 else None
    return DirectoryReading(score, kind, place, entry_id)


def _kind_term(word: str) -> str:
    """A misspelt one-word kind ("cirp", "trbunal") → that word; else the word itself."""
    if len(word) < 4 or word in KIND_TERMS:
        return word
    match = process.extractOne(word, KIND_TERMS, scorer=OSA.distance, score_cutoff=1)
    return match[0] if match and match[0][0] == word[0] else word


def _kind_words(words: list[str], kinds: set[str]) -> set[int]:
    """Positions of the words of the kind phrases found (not those of NOT_KIND_PHRASES)."""
    out: set[int] = set()
    for kind in kinds:
        for phrase in KIND_WORDS.get(kind, ()):
            size = len(phrase.split())
            for start in range(len(words) - size + 1):
                if " ".join(words[start : start + size]) == phrase and not any(
                        n in " ".join(words) for n in NOT_KIND_PHRASES if phrase in n):
                    out |= set(range(start, start + size))
    return out


def _wish(padded: str) -> bool:
    """The text says "I want to act", or that the physician is a victim."""
    if any(f" {c} " in padded for c in ACTION_CUES):
        return True
    return any(c in padded for c in SELF_CUES) and any(c in padded for c in VICTIM_CUES)


def _procedures(spelt: str, results: tuple[tuple[str, float], ...], flows: Mapping[str, Flow],
                wish: bool, asks: bool, tables: Tables) -> list[ProcedureReading]:
    """Flows named by their title, or voted for by the entries of a wish to act."""
    known = _flows_known(flows, tables)
    scores: dict[str, float] = defaultdict(float)
    said: set[tuple[str, ...]] | None = None  # the text's concepts, read once if needed
    for flow_id, title in known.titles.items():
        if fuzz.partial_ratio(title.folded, spelt) >= TITLE_MATCH:
            scores[flow_id] = TITLE_SCORE
        elif title.words >= 2:
            if said is None:
                said = {alt for u in analyse(spelt, tables) for alt in u.alternatives}
            if all(said.intersection(u.alternatives) for u in title.units):
                scores[flow_id] = TITLE_SCORE
    if wish:
        for entry_id, score in results:
            for flow_id, share in known.votes.get(entry_id, {}).items():
                scores[flow_id] = max(scores[flow_id], score * share + ACTION_BONUS)
    # inside a question, a procedure comes after the answer about the same entry
    factor = -2 * ACTION_BONUS if asks else 0.0
    return [ProcedureReading(min(1.0, s + factor), flow_id) for flow_id, s in scores.items()
            if s > 0]


@dataclass(frozen=True)
class _Title:
    """A flow's title as the text is matched against it: typed nearly verbatim (`folded`),
    or, for a title of two or more words, every concept of it (`units`, acronyms included:
    "une ip" names « Information préoccupante »)."""

    folded: str
    units: tuple[Unit, ...]
    words: int


@dataclass(frozen=True)
class _Known:
    """What the reader needs of a flows snapshot, computed once per snapshot."""

    flows: Mapping[str, Flow]
    tables: Tables
    titles: dict[str, _Title]
    votes: dict[str, dict[str, float]]


_KNOWN: list[_Known] = []  # the snapshot in service (content is swapped whole)


def _flows_known(flows: Mapping[str, Flow], tables: Tables) -> _Known:
    if _KNOWN and _KNOWN[0].flows is flows and _KNOWN[0].tables is tables:
        return _KNOWN[0]
    titles = {}
    for flow_id, flow in flows.items():
        units = tuple(analyse(flow.title, tables))
        titles[flow_id] = _Title(fold(flow.title), units,
                                 sum(len(u.alternatives[0]) for u in units))
    _KNOWN[:] = [_Known(flows, tables, titles, flow_votes(flows))]
    return _KNOWN[0]


def flow_votes(flows: Mapping[str, Flow]) -> dict[str, dict[str, float]]:
    """Knowledge entry → {flow: share of the citations of the entry by outcomes of flows}."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for flow_id, flow in flows.items():
        for outcome in flow.outcomes.values():
            for entry_id in outcome.basis:
                counts[entry_id][flow_id] += 1
    return {e: {f: n / sum(c.values()) for f, n in c.items()} for e, c in counts.items()}


def _ranked(readings: list[Reading]) -> tuple[Reading, ...]:
    """Best first; those at least FLOOR and within OFFER_GAP of the best; one per flow."""
    readings = sorted(readings, key=lambda r: -r.score)
    if not readings or readings[0].score < FLOOR:
        return ()
    best = readings[0].score
    return tuple(r for r in readings if r.score >= max(FLOOR, best - OFFER_GAP))[:MAX_READINGS]
