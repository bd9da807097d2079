"""Directory results as short Telegram HTML cards (`vvs.ui.Reply`); callback prefix `a`.

Buttons: `a:pin:<id>` (send the map pin), `a:more:<offset>` (next results),
`a:kind:<kind>` (choose a kind). `parse_action` never trusts what comes back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from annuaire.model import KINDS, Directory, Entry
from annuaire.search import Hit
from vvs.errors import StaleAction
from vvs.i18n import _
from vvs.ui import CALLBACK_MAX_BYTES, Button, Reply, Venue, rows

PREFIX = "a"
PAGE_SIZE = 3
MAX_OFFSET = 200
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Action:
    """A parsed `a:` button press."""

    verb: str  # pin | more | kind
    arg: str | int


def card(entry: Entry, distance_km: float | None = None) -> str:
    """One entry as a few lines of Telegram HTML."""
    lines = [f"<b>{escape(entry.name)}</b>"]
    place = " ".join(p for p in (entry.address, entry.postcode, entry.commune) if p)
    if place:
        lines.append(escape(place))
    if entry.phone:
        lines.append("☎ " + escape(entry.phone))  # Telegram links phone numbers itself
    if entry.email:
        lines.append("✉ " + escape(entry.email))
    if entry.website:
        lines.append(escape(entry.website))
    if entry.hours:
        lines.append("🕘 " + escape(entry.hours))
    if distance_km is not None:
        lines.append(_("à {km} km").format(km=_km(distance_km)))
    if entry.missing_contact:
        lines.append("<i>" + escape(_("coordonnées à confirmer")) + "</i>")
    if entry.status != "verified":
        lines.append("<i>" + escape(_("à vérifier")) + "</i>")
    return "\n".join(lines)


def results_reply(hits: Sequence[Hit], offset: int = 0, page: int = PAGE_SIZE) -> Reply:
    """A page of result cards, a pin button per located entry, and "more" if any."""
    shown = hits[offset : offset + page]
    if not shown:
        return Reply(escape(_("Aucun résultat dans l'annuaire.")))
    text = "\n\n".join(card(h.entry, h.distance_km) for h in shown)
    buttons = [Button("📍 " + _short(h.entry.name), f"{PREFIX}:pin:{h.entry.id}")
               for h in shown if h.entry.has_geo and _fits(f"{PREFIX}:pin:{h.entry.id}")]
    if offset + page < len(hits) and offset + page <= MAX_OFFSET:
        buttons.append(Button(_("Plus de résultats"), f"{PREFIX}:more:{offset + page}"))
    return Reply(text, rows(*buttons))


def pin_reply(entry: Entry) -> Reply:
    """The entry's card with its map pin."""
    if not entry.has_geo:
        return Reply(card(entry))
    address = ", ".join(p for p in (entry.address, entry.postcode, entry.commune) if p)
    venue = Venue(entry.lat, entry.lon, entry.name, address)  # type: ignore[arg-type]
    return Reply(card(entry), venues=(venue,))


def kind_keyboard(kinds: Sequence[str] = ("cdom", "parquet", "crip", "umj", "uaped",
                                          "association", "ligne-nationale")) -> Reply:
    """Ask which kind of contact the physician is looking for."""
    buttons = [Button(_(KINDS[k]), f"{PREFIX}:kind:{k}") for k in kinds]
    return Reply(escape(_("Quel type de contact cherchez-vous ?")), rows(*buttons))


def parse_action(data: str, directory: Directory | None = None) -> Action:
    """Parse `a:` callback data; raise StaleAction for anything forged or outdated."""
    parts = data.split(":") if isinstance(data, str) else []
    if len(parts) != 3 or parts[0] != PREFIX or len(data.encode()) > CALLBACK_MAX_BYTES:
        raise StaleAction(data)
    verb, arg = parts[1], parts[2]
    if verb == "pin" and _ID.match(arg):
        if directory is not None and directory.get(arg) is None:
            raise StaleAction(data)
        return Action(verb, arg)
    if verb == "more" and arg.isdigit() and len(arg) <= 4 and int(arg) <= MAX_OFFSET:
        return Action(verb, int(arg))
    if verb == "kind" and arg in KINDS:
        return Action(verb, arg)
    raise StaleAction(data)


def _fits(data: str) -> bool:
    return len(data.encode()) <= CALLBACK_MAX_BYTES


def _short(name: str, limit: int = 40) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _km(distance: float) -> str:
    return f"{distance:.1f}".replace(".", ",") if distance < 10 else f"{distance:.0f}"
