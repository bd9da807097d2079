"""Detector of what looks like a patient's identity, used before text is sent or kept.

It warns; it never blocks silently and never stores what it saw.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vvs.i18n import N_, _

# French NIR: sex digit, year, month (01-12, 20-42, 50-99 allowed), dept, commune, order, key
_NIR = re.compile(
    r"\b[12378]\s?\d{2}\s?(0[1-9]|1[0-2]|[2-9]\d)\s?(\d{2}|2[AB])\s?\d{3}\s?\d{3}\s?(\d{2})?\b",
    re.IGNORECASE,
)
_DATE = re.compile(r"\b(0?[1-9]|[12]\d|3[01])[/.-](0?[1-9]|1[0-2])[/.-](19|20)?\d{2}\b")
_BIRTH_WORDS = re.compile(r"\b(n[ée]e? le|date de naissance|ddn)\b", re.IGNORECASE)
_NAME = re.compile(
    r"\b(M\.|Mme|Mlle|Monsieur|Madame|Mademoiselle|Dr|patient(?:e)?|enfant|fils|fille)\s+"
    r"[A-ZÉÈÀÂÎÔÛÇ][a-zéèàâêîôûçëï-]+(?:\s+[A-ZÉÈÀÂÎÔÛÇ][A-Za-zéèàâêîôûçëï-]+)?"
)
_UPPER_NAME = re.compile(r"\b[A-ZÉÈÀÂÎÔÛÇ]{2,}(?:-[A-ZÉÈÀÂÎÔÛÇ]{2,})?\s+[A-ZÉÈ][a-zéèàâêîôûç]+\b")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.]+\b")
_PHONE = re.compile(r"(?<!\d)(?:\+33\s?|0033\s?|0)[1-9](?:[\s.-]?\d{2}){4}(?!\d)")
_ADDRESS = re.compile(
    r"\b\d{1,4}\s?(bis|ter)?,?\s+(rue|avenue|av\.|boulevard|bd|place|impasse|allée|chemin|quai)\b",
    re.IGNORECASE,
)

KIND_LABELS = {
    "nir": N_("un numéro de sécurité sociale"),
    "birthdate": N_("une date de naissance"),
    "name": N_("un nom de personne"),
    "email": N_("une adresse e-mail"),
    "phone": N_("un numéro de téléphone"),
    "address": N_("une adresse postale"),
}


@dataclass(frozen=True)
class Finding:
    kind: str


def detect_identity(text: str, *, allow_own_phone: str | None = None) -> list[Finding]:
    """Kinds of identifying data found in `text` (each kind once)."""
    kinds: list[str] = []

    def add(kind: str) -> None:
        if kind not in kinds:
            kinds.append(kind)

    if _NIR.search(text.replace(".", " ")):
        add("nir")
    if _DATE.search(text) and (_BIRTH_WORDS.search(text) or _NAME.search(text)):
        add("birthdate")
    elif _BIRTH_WORDS.search(text):
        add("birthdate")
    if _NAME.search(text) or _UPPER_NAME.search(text):
        add("name")
    if _EMAIL.search(text):
        add("email")
    for match in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
        if not allow_own_phone or digits[-9:] != re.sub(r"\D", "", allow_own_phone)[-9:]:
            add("phone")
    if _ADDRESS.search(text):
        add("address")
    return [Finding(k) for k in kinds]


def identity_warning(findings: list[Finding]) -> str:
    """The warning shown before anything is sent."""
    what = ", ".join(_(KIND_LABELS[f.kind]) for f in findings)
    return _(
        "⚠️ Votre message semble contenir {what}. Ce service ne doit jamais recevoir "
        "l'identité d'un patient ni d'un tiers. Reformulez sans ces éléments."
    ).format(what=what)
