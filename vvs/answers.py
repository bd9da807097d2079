"""What a short text typed at a step with buttons stands for: one of the buttons, or nothing.

A physician on a phone types « oui », « 2 », « 93 » or « seine saint denis » instead of
pressing a button. These functions read such answers against the labels of the step (in
the language they are shown in); anything they cannot tie to exactly one button is None, so
the caller shows the step again rather than guess.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from rapidfuzz import fuzz

from vvs.departements import IDF_DEPARTMENT_NAMES

# The first word of a yes or no answer, and the first word of the labels they choose.
YES = frozenset(("oui", "ouais", "ouai", "o", "yes", "y", "yep", "yeah", "si"))
NO = frozenset(("non", "nan", "no", "n", "nope"))
# Words that add nothing to a typed answer (« le 93 », « dans le val de marne »).
FILLER = frozenset(("le", "la", "les", "l", "de", "du", "des", "d", "dans", "en", "a", "au",
                    "j", "je", "exerce", "suis", "c", "est", "the", "in", "i", "am", "work",
                    "departement", "dept", "dep"))
SIMILAR = 85.0  # rapidfuzz ratio for a misspelt label or département name
_NON_WORD = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """Lower case, no accents, no punctuation or emoji, single spaces; « st » → « saint »."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    words = _NON_WORD.sub(" ", plain).split()
    return " ".join("saint" if w in ("st", "ste") else w for w in words)


def choice_index(text: str, labels: Sequence[str]) -> int | None:
    """The index of the one label `text` answers: its number (1-based), the label itself
    (or nearly), « oui »/« non » for the label that starts so, or words found in one label
    only. None when no label, or more than one, fits."""
    typed = fold(text)
    folded = [fold(label) for label in labels]
    if not typed:
        return None
    if typed.isdigit():
        number = int(typed)
        return number - 1 if 1 <= number <= len(labels) else None
    exact = [i for i, label in enumerate(folded) if label == typed]
    if len(exact) == 1:
        return exact[0]
    first = typed.split()[0]
    for answer in (YES, NO):
        if first in answer:
            starting = [i for i, label in enumerate(folded)
                        if label and label.split()[0] in answer]
            return starting[0] if len(starting) == 1 else None
    if len(typed) >= 4:
        within = [i for i, label in enumerate(folded) if f" {typed} " in f" {label} "]
        if len(within) == 1:
            return within[0]
        words = set(typed.split()) - FILLER
        holding = [i for i, label in enumerate(folded)
                   if words and all(_has_word(label, word) for word in words)]
        if len(holding) == 1:
            return holding[0]
        close = [i for i, label in enumerate(folded) if fuzz.ratio(typed, label) >= SIMILAR]
        if len(close) == 1:
            return close[0]
    return None


def _has_word(label: str, word: str) -> bool:
    """The label holds the word, or (for a word of 4 letters or more) one spelt nearly so."""
    return any(w == word or (len(word) >= 4 and fuzz.ratio(w, word) >= SIMILAR)
               for w in label.split())


def department_in(text: str) -> str | None:
    """The Île-de-France département a short text names: its code (« 93 », « le 93 »), a
    postcode of it (« 93200 »), or its name, even misspelt (« seine st denis »). None when
    it names none, or several."""
    words = [w for w in fold(text).split() if w not in FILLER]
    found: set[str] = set()
    for word in words:
        if word in IDF_DEPARTMENT_NAMES:
            found.add(word)
        elif len(word) == 5 and word.isdigit() and word[:2] in IDF_DEPARTMENT_NAMES:
            found.add(word[:2])
    names = {code: "".join(w for w in fold(name).split() if w not in FILLER)
             for code, name in IDF_DEPARTMENT_NAMES.items()}
    for start in range(len(words)):
        for end in range(start + 1, min(len(words), start + 5) + 1):
            span = "".join(words[start:end])
            for code, name in names.items():
                if span == name or (len(span) >= 6 and fuzz.ratio(span, name) >= SIMILAR):
                    found.add(code)
    return found.pop() if len(found) == 1 else None
