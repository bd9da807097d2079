"""Text normalisation shared by the gazetteer and the search: accents, case, abbreviations."""

from __future__ import annotations

import re
import unicodedata

# Abbreviations typed by users, expanded token by token before matching.
ABBREVIATIONS: dict[str, str] = {
    "st": "saint",
    "ste": "sainte",
    "sts": "saints",
    "stes": "saintes",
    "mt": "mont",
    "gd": "grand",
    "gde": "grande",
    "asso": "association",
    "assoc": "association",
    "hop": "hopital",
    "hosp": "hopital",
    "trib": "tribunal",
    "tj": "tribunal judiciaire",
    "tgi": "tribunal judiciaire",
    "proc": "procureur",
    "dept": "departement",
    "dpt": "departement",
    "bd": "boulevard",
    "av": "avenue",
}

_NON_WORD = re.compile(r"[^0-9a-z]+")
# "s/seine", "s/marne" → "sur seine"
_SUR = re.compile(r"\bs/")


def fold(text: str) -> str:
    """Lowercase and strip accents and punctuation; hyphens and apostrophes become spaces."""
    text = unicodedata.normalize("NFKD", text.lower().replace("œ", "oe").replace("æ", "ae"))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _SUR.sub("sur ", text)
    return _NON_WORD.sub(" ", text).strip()


def tokens(text: str) -> list[str]:
    """Folded tokens with abbreviations expanded."""
    out: list[str] = []
    for token in fold(text).split():
        out.extend(ABBREVIATIONS.get(token, token).split())
    return out


def normalize(text: str) -> str:
    """Folded text with abbreviations expanded, as one space-separated string."""
    return " ".join(tokens(text))
