"""Emergency first: free text suggesting immediate danger shows the numbers at once.

A false alarm costs one extra line; a miss can cost a life, so the detector is generous:
it matches stems on a normalised text (accents, case, common typos and SMS spellings).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from vvs.i18n import _
from vvs.ui import Reply


def normalise(text: str) -> str:
    """Lower-case, strip accents, collapse repeated letters and spaces."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"[’'`]", " ", text)
    text = re.sub(r"(.)\1{2,}", r"\1\1", text)
    return re.sub(r"\s+", " ", text).strip()


# Each pattern is applied to the normalised text; keep them broad.
_PATTERNS = [
    r"\b(me|te|la|le|les|nous|vous|l|m|t) ?(menac|menass|menace)",
    r"\bmenac\w* de (mort|tuer|me|la|le)",
    r"\b(va|veut|vais|vont|voulait|menace de) (me |la |le |les |nous |l )?(tuer|tue|buter|egorger|etrangler)",
    r"\b(tuer|tue|buter|egorger|etrangl\w*|poignard\w*|assassin\w*)\b",
    r"\b(couteau|couto|cuteau|arme|armes|fusil|pistolet|flingue|revolver|hache|machette|cutter)\b",
    r"\b(en|suis|est|sommes|sont) ?(en )?dang(e|é)?r\b",
    r"\ben dang\w*",
    r"\b(il|elle|on|ils) (me |la |le |les |l )?(frappe|frap|tape|cogne|bat|etrangle|viole)",
    r"\b(frappe|bat|tape|cogne|secoue|brule)\w* (l |son |sa |mon |ma |un |une |le |la )?(enfant|bebe|bb|gosse|petit|petite|fille|fils|gamin)",
    r"\b(au secours|a l aide|aidez ?moi|sos)\b",
    r"\b(sequestr|enferm)\w*",
    r"\b(suicid\w*|me tuer|en finir|mettre fin a (mes|ses) jours)",
    r"\b(viol|violee|viole) (en cours|maintenant|la|ici)",
    r"\b(devant|derriere|dans) (ma|la) porte\b",
    r"\bil (est|arrive) (la|ici|dehors)\b",
    r"\bpeur pour (ma|sa) vie\b",
    r"\b(tout de suite|maintenant|urgent|urgence)\b.*\b(danger|frapp|menac|arme|couteau)",
]
_COMPILED = [re.compile(p) for p in _PATTERNS]


@dataclass(frozen=True)
class EmergencyMatch:
    pattern: str
    excerpt: str


def detect_emergency(text: str) -> EmergencyMatch | None:
    """Return a match when `text` suggests immediate danger."""
    norm = normalise(text)
    for regex in _COMPILED:
        found = regex.search(norm)
        if found:
            return EmergencyMatch(regex.pattern, found.group(0))
    return None


def emergency_text() -> str:
    """The emergency numbers, shortest form first (shown before anything else)."""
    return _(
        "🚨 <b>En cas de danger immédiat</b>\n"
        "• <b>17</b> police / gendarmerie\n"
        "• <b>112</b> urgences (depuis tout téléphone)\n"
        "• <b>114</b> par SMS (si parler est impossible ou dangereux)\n"
        "• <b>15</b> SAMU pour les soins"
    )


def all_numbers_text() -> str:
    """The full list for /urgence."""
    return emergency_text() + "\n" + _(
        "• <b>119</b> enfance en danger (24 h/24, gratuit)\n"
        "• <b>3919</b> violences femmes info (24 h/24, gratuit, anonyme)\n"
        "Ce service n'est pas une ligne d'urgence : en cas de danger, appelez."
    )


def emergency_reply() -> Reply:
    return Reply(emergency_text())
