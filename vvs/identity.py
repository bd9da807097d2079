"""Detector of what looks like a patient's identity, used before text is sent or kept.

It warns; it never blocks silently and never stores or logs what it saw (a `Finding` only
carries the kind). Kinds: a social security number (NIR, key checked), a date of birth, a
person's name, an e-mail, a French phone number, a postal address. Ordinary clinical and
legal text ("art. 226-14", "R.4127-44", "ITT de 8 jours", "le 12/03", "3919", "le Dr de
garde", "93200") must not trigger it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vvs.i18n import N_, _

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


# --- NIR -----------------------------------------------------------------------------------

# Sex (1/2; 3/4/7/8 for provisional numbers), year, month (01-12, 20-42 and 50-99 are used
# for unknown months), department (2 digits, 2A/2B), commune, order number, optional key.
_NIR_CANDIDATE = re.compile(
    r"(?<![\w.])[1-478](?:[ .\-]?[0-9ABab]){12}(?:[ .\-]?[0-9]){0,2}(?!\w)"
)
_NIR_COMPACT = re.compile(r"[1-478]\d{2}(?:0[1-9]|1[0-2]|[2-9]\d)(?:\d{2}|2[AB])\d{6}(\d{2})?")


def nir_key(nir13: str) -> int:
    """The control key of a 13-character NIR: 97 - (number mod 97); 2A -> 19, 2B -> 18."""
    compact = nir13.upper().replace(" ", "")
    number = compact.replace("2A", "19", 1) if compact[5:7] == "2A" else compact
    number = number.replace("2B", "18", 1) if compact[5:7] == "2B" else number
    return 97 - int(number) % 97


def is_nir(candidate: str) -> bool:
    """True for a 13-character NIR, or a 15-character one whose key is right."""
    compact = re.sub(r"[ .\-]", "", candidate).upper()
    if len(compact) not in (13, 15) or not _NIR_COMPACT.fullmatch(compact):
        return False
    return len(compact) == 13 or nir_key(compact[:13]) == int(compact[13:])


def _nir_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _NIR_CANDIDATE.finditer(text) if is_nir(m.group(0))]


# --- phone, e-mail, address ----------------------------------------------------------------

# Ten digits in pairs with one consistent separator, or +33 / 0033 and nine digits.
_PHONE = re.compile(
    r"(?<![\d+])(?:(?:\+|00)33[ .\-]?(?:\(0\)[ .\-]?)?[1-9]|0[1-9])"
    r"(?P<sep>[ .\-]?)\d{2}(?:(?P=sep)\d{2}){3}(?!\d)"
)
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b")
_STREET = (
    r"rue|avenue|av\.?|boulevard|bd|bld|impasse|all[ée]e|quai|place|pl\.|chemin|route|"
    r"cours|square|passage|sentier|r[ée]sidence|cit[ée]|villa|voie|faubourg|fbg|"
    r"rond-point|hameau|lotissement|mail|parvis|promenade|esplanade|chauss[ée]e"
)
_ADDRESS = re.compile(
    rf"(?<![\w.,/-])\d{{1,4}}(?:\s?(?:bis|ter|quater|[a-d]))?,?\s+(?:{_STREET})\s+"
    r"(?:(?:de la|de l'|de l’|du|des|de|d'|d’|la|le|les|l'|l’)\s*)?"
    r"(?:[A-ZÉÈÀÂÎÔÛÇ0-9][\w'’-]*|[a-zéèàâîôûç][\w'’-]{2,})",
    re.IGNORECASE,
)
# Street words that are also ordinary words: these need a capitalised name after them.
_AMBIGUOUS_STREET = re.compile(
    r"^(?:place|pl\.|chemin|route|cours|mail|voie|villa|cit[ée]|passage|r[ée]sidence|"
    r"sentier|square|hameau|promenade)$",
    re.IGNORECASE,
)


def _has_address(text: str) -> bool:
    for match in _ADDRESS.finditer(text):
        street = re.search(rf"\b(?:{_STREET})(?=\s)", match.group(0), re.IGNORECASE)
        if street and _AMBIGUOUS_STREET.match(street.group(0)):
            name = match.group(0)[street.end():].strip()
            name = re.sub(r"^(?:de la|de l['’]|du|des|de|d['’]|la|le|les|l['’])\s*", "", name)
            if not name[:1].isupper():
                continue
        return True
    return False


# --- names and dates of birth --------------------------------------------------------------

_UP = "A-ZÉÈÊÀÂÎÏÔÛÜÇ"
_LOW = "a-zéèêëàâîïôûüç"
_CAP_WORD = rf"[{_UP}][{_LOW}]+(?:-[{_UP}][{_LOW}]+)?"
_UPPER_WORD = rf"[{_UP}]{{2,}}(?:-[{_UP}]{{2,}})?"
_CIVILITY = (
    r"M\.|Mr\.?|Mme|Mmes|Mlle|Mlles|Monsieur|Madame|Mademoiselle|Me|Maître|Dr\.?|Docteur|Pr"
)
_ROLE = (
    r"patiente?s?|enfant|fils|fille|petite?|b[ée]b[ée]|nourrisson|mari|[ée]poux|[ée]pouse|"
    r"conjointe?|compagnon|compagne|concubine?|p[èe]re|m[èe]re|fr[èe]re|s[œo]eur|"
    r"beau-p[èe]re|belle-m[èe]re|ado|adolescente?|voisine?|victime|auteur|agresseur|"
    r"nomm[ée]e?|appel[ée]e?|prénommée?|s'appelle|s’appelle|dénommée?|mineure?|majeure?|"
    r"grand-m[èe]re|grand-p[èe]re|nièce|neveu|cousine?|ami|amie|ex|copain|copine|"
    r"Patiente?|Enfant|Fils|Fille|Mari|Victime"
)
# Capitalised words that follow a role or a civility without being a name.
_NOT_NAMES = frozenset({
    "X", "Y", "Z", "Le", "La", "Les", "De", "Du", "Des", "Un", "Une", "Et", "Ou", "Qui",
    "Alzheimer", "Parkinson", "Covid", "Crohn", "Down", "Asperger", "Bobigny", "Créteil",
    "Paris", "Versailles", "Nanterre", "Evry", "Évry", "Pontoise", "Melun", "Garde",
    "Je", "Il", "Elle", "On", "Nous", "Vous", "Ils", "Elles", "Mais", "Donc", "Car",
    "Bonjour", "Merci", "Madame", "Monsieur", "Docteur", "Procureur", "Juge", "Président",
    "Présidente", "Ordre", "Conseil",
})
# Upper-case words that are acronyms of the domain, not surnames.
_ACRONYMS = frozenset({
    "ITT", "UMJ", "CRIP", "ASE", "VVS", "SAMU", "SMUR", "HAS", "CNOM", "CDOM", "TGD", "IP",
    "OPJ", "APJ", "PMI", "CMP", "CMPP", "CHU", "CHI", "CH", "EHPAD", "SMS", "DDN", "NIR",
    "RPPS", "ADELI", "ARS", "CPAM", "MDPH", "SDF", "CAF", "TSA", "TDAH", "BPCO", "HTA",
    "VIH", "HIV", "IVG", "PMA", "AEMO", "JAF", "JE", "TGI", "TJ", "CASF", "CSP", "CP",
    "CPP", "OK", "SOS", "PDF", "RDV", "URGENT", "IDF", "VIF", "VSS", "AVC", "SSR", "USLD",
    "HAD", "SSIAD", "CMU", "AME", "PUMA", "CIDFF", "FNSF", "CLSM", "CHRS", "SIAO", "DR",
    "MME", "MR", "UAPED", "PJJ", "SPIP", "GHT", "APHP", "AP-HP", "EPS", "PSY", "CMS",
    "SOS-MEDECINS", "SOS-MÉDECINS", "GHU", "ORL", "IRM", "ECG", "NFS", "TP", "INR",
})

_CIVILITY_NAME = re.compile(
    rf"(?<![\w])(?:{_CIVILITY})\s+(?P<name>{_CAP_WORD}|{_UPPER_WORD})"
)
_ROLE_NAME = re.compile(
    rf"(?<![\w])(?:{_ROLE})\s+(?P<name>(?:{_CAP_WORD}|{_UPPER_WORD})"
    rf"(?:\s+(?:{_CAP_WORD}|{_UPPER_WORD}|[{_UP}]\.))?)"
)
_FULL_NAME = re.compile(
    rf"(?<![\w])(?P<a>{_UPPER_WORD})\s+(?P<b>{_CAP_WORD})(?![\w])"
    rf"|(?<![\w])(?P<c>{_CAP_WORD})\s+(?P<d>{_UPPER_WORD})(?![\w])"
)

_MONTHS = (
    r"janvier|f[ée]vrier|mars|avril|mai|juin|juillet|ao[uû]t|septembre|octobre|novembre|"
    r"d[ée]cembre|janv\.?|f[ée]vr?\.?|avr\.?|juil\.?|sept\.?|oct\.?|nov\.?|d[ée]c\.?"
)
_DAY_MONTH = rf"(?:0?[1-9]|[12]\d|3[01])(?:er)?(?:\s*[/.\-]\s*(?:0?[1-9]|1[0-2])|\s+(?:{_MONTHS}))"
_DATE_ANY = re.compile(rf"(?<![\w/.])(?:{_DAY_MONTH})(?:\s*[/.\-]?\s*(?:19|20)?\d{{2}})?",
                       re.IGNORECASE)
_DATE_WITH_YEAR = re.compile(
    rf"(?<![\w/.])(?:{_DAY_MONTH})\s*[/.\-]?\s*(?:(?:19|20)\d{{2}}|\d{{2}})(?![\w/])",
    re.IGNORECASE,
)
_BIRTH_WORDS = re.compile(
    r"(?<![\w])(?:n[ée]e?s?\s+(?:le\s+)?|date\s+de\s+naissance|ddn|d\.d\.n\.?|"
    r"naissance|anniversaire|birth)",
    re.IGNORECASE,
)


def _names(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for regex in (_CIVILITY_NAME, _ROLE_NAME):
        for match in regex.finditer(text):
            words = match.group("name").split()
            if words[0] not in _NOT_NAMES and words[0].upper() not in _ACRONYMS:
                spans.append(match.span())
    for match in _FULL_NAME.finditer(text):
        upper = match.group("a") or match.group("d")
        cap = match.group("b") or match.group("c")
        if upper not in _ACRONYMS and cap not in _NOT_NAMES and len(upper) >= 3:
            spans.append(match.span())
    return spans


# Two capitalised words ("Lucas Martin"): too common to be a name on their own, but a
# full date right next to them reads as a date of birth.
_CAP_PAIR = re.compile(rf"(?<![\w])(?P<a>{_CAP_WORD})\s+(?P<b>{_CAP_WORD})(?![\w])")


def _has_birthdate(text: str, names: list[tuple[int, int]]) -> bool:
    """A date after "né(e) le"/"DDN", or a full date right next to a name."""
    for words in _BIRTH_WORDS.finditer(text):
        if _DATE_ANY.search(text[words.end():words.end() + 30]):
            return True
    names = names + [m.span() for m in _CAP_PAIR.finditer(text)
                     if not {m.group("a"), m.group("b")} & _NOT_NAMES]
    for date in _DATE_WITH_YEAR.finditer(text):
        if any(abs(date.start() - end) <= 25 or abs(start - date.end()) <= 25
               for start, end in names):
            return True
    return False


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _phones(text: str, allow_own_phone: str | None) -> bool:
    own = _digits(allow_own_phone or "")[-9:]
    return any(not own or _digits(m.group(0))[-9:] != own for m in _PHONE.finditer(text))


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in spans:
        text = text[:start] + "#" * (end - start) + text[end:]
    return text


def detect_identity(text: str, *, allow_own_phone: str | None = None) -> list[Finding]:
    """Kinds of identifying data found in `text`, each kind once, in a stable order.

    `allow_own_phone` is the physician's own number, shared on purpose: not a warning.
    """
    kinds: list[str] = []
    nirs = _nir_spans(text)
    if nirs:
        kinds.append("nir")
    rest = _mask(text, nirs)
    emails = [m.span() for m in _EMAIL.finditer(rest)]
    rest = _mask(rest, emails)
    names = _names(rest)
    if _has_birthdate(rest, names):
        kinds.append("birthdate")
    if names:
        kinds.append("name")
    if emails:
        kinds.append("email")
    if _phones(rest, allow_own_phone):
        kinds.append("phone")
    if _has_address(rest):
        kinds.append("address")
    return [Finding(k) for k in kinds]


def identity_warning(findings: list[Finding]) -> str:
    """The warning shown before anything is sent."""
    what = ", ".join(_(KIND_LABELS[f.kind]) for f in findings)
    return _(
        "⚠️ Votre message semble contenir {what}. Ce service ne doit jamais recevoir "
        "l'identité d'un patient ni d'un tiers. Reformulez sans ces éléments."
    ).format(what=what)
