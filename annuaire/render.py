"""Directory results as short Telegram HTML cards (`vvs.ui.Reply`); callback prefix `a`.

Buttons: `a:pin:<id>` (send the map pin), `a:more:<offset>` (next results),
`a:kind:<kind>` (choose a kind). `parse_action` never trusts what comes back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from annuaire.model import CHANNEL_TYPES, KINDS, USES, Channel, Directory, Entry
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


_ICONS = {"phone": "☎", "email": "✉", "courrier": "📮", "web": "🌐"}


def channel_status(channel: Channel) -> str:
    """"vérifié le 03/02/2026", "à vérifier — source de 2015" or "… source non datée"."""
    if channel.verified_on:
        return _("vérifié le {date}").format(date=channel.verified_on.strftime("%d/%m/%Y"))
    if channel.source_year:
        return _("à vérifier — source de {year}").format(year=channel.source_year)
    return _("à vérifier — source non datée")


def channel_text(channel: Channel, use: str | None = None, icons: bool = True) -> str:
    """"☎ 119 — conseil sur la situation d'un enfant (24h/24) · à vérifier — source de 2025".

    `use`: the use to name (the one an outcome chose); default, every use of the channel."""
    head = _ICONS.get(channel.type, "") if icons else _(CHANNEL_TYPES[channel.type])
    uses = (use,) if use else channel.uses
    text = f"{head} {channel.value} — " + " ; ".join(_(USES[u]) for u in uses)
    if channel.hours:
        text += f" ({channel.hours})"
    parts = [text]
    if channel.instructions:
        parts.append(channel.instructions)
    parts.append(channel_status(channel))
    return " · ".join(parts)


# The Ordre's listening and assistance line for physicians (entry `entraide-ordre`), used
# when the directory cannot be read.
ORDRE_LISTENING_LINE = "0800 288 038"


def council_contacts(directory: Directory | None, department: str, victim: bool) -> str:
    """What to contact when no referent can be reached through the bot (Telegram HTML): the
    département's council of the Ordre by its channels for that use; else, for a physician
    who is a victim, the Ordre's listening line; else the regional council."""
    from annuaire.purposes import PURPOSES, national_channels

    uses = PURPOSES["ordre-medecins"].uses
    entries = directory.entries if directory is not None else ()
    cdoms = [(e, e.channels_for(uses)) for e in entries
             if e.kind == "cdom" and e.department == department]
    fit = [(e, channels) for e, channels in cdoms if channels]
    if fit:
        return "\n\n".join("\n".join([f"<b>{escape(e.name)}</b>",
                                       *(escape(channel_text(c)) for c in channels)])
                            for e, channels in fit)
    if victim:
        lines = national_channels(directory, "ecoute-medecins")
        if lines:
            return "\n".join(f"<b>{escape(e.name)}</b>\n{escape(channel_text(c))}"
                             for e, c in lines)
    crom = next((e for e in entries if e.kind == "crom"), None)
    if crom is not None and not victim:
        return card(crom)
    return escape(_("Ligne d'écoute et d'assistance de l'Ordre des médecins : {phone} "
                    "(gratuite, 24h/24)").format(phone=ORDRE_LISTENING_LINE))


def place_text(entry: Entry) -> str:
    """Address, postcode and commune, without repeating a postcode the address holds."""
    parts = [entry.address] if entry.address else []
    if entry.postcode and not (entry.address and entry.postcode in entry.address):
        parts.append(entry.postcode)
    if entry.commune and not (entry.address and entry.commune in entry.address):
        parts.append(entry.commune)
    return " ".join(parts)


def entry_status(entry: Entry) -> str:
    """The entry's status in a physician's words."""
    if entry.status == "verified" and entry.verified_on:
        return _("Fiche vérifiée le {date}.").format(date=entry.verified_on.strftime("%d/%m/%Y"))
    return _("Fiche pas encore vérifiée : confirmez ces coordonnées avant de vous en servir.")


def card(entry: Entry, distance_km: float | None = None, number: int | None = None) -> str:
    """One entry as a few lines of Telegram HTML: each channel with what it is for.
    `number`: its place in a list, repeated on its buttons."""
    head = f"{number}. " if number is not None else ""
    lines = [f"<b>{head}{escape(entry.name)}</b>"]
    place = place_text(entry)
    if place:
        lines.append(escape(place))
    # Telegram links phone numbers and e-mail addresses itself.
    lines += [escape(channel_text(c)) for c in entry.channels]
    if entry.website:
        lines.append(escape(entry.website))
    if entry.hours:
        lines.append("🕘 " + escape(entry.hours))
    if entry.caution:
        lines.append("<i>" + escape(entry.caution) + "</i>")
    if distance_km is not None:
        lines.append(_("à {km} km").format(km=_km(distance_km)))
    if entry.missing_contact:
        lines.append("<i>" + escape(_("coordonnées à confirmer")) + "</i>")
    lines.append("<i>" + escape(entry_status(entry)) + "</i>")
    return "\n".join(lines)


def results_reply(hits: Sequence[Hit], offset: int = 0, page: int = PAGE_SIZE) -> Reply:
    """A page of result cards, a pin button per located entry, and "more" if any."""
    shown = hits[offset : offset + page]
    if not shown:
        return Reply(escape(_("Aucun résultat dans l'annuaire.")))
    # Cards and their buttons carry the same number: an entry without a map pin has no
    # button, and the next one's must not look like the first card's.
    numbered = [(offset + i + 1, h) for i, h in enumerate(shown)]
    text = "\n\n".join(card(h.entry, h.distance_km, n) for n, h in numbered)
    buttons = [Button(f"📍 {n}. {_pin_label(h.entry)}", f"{PREFIX}:pin:{h.entry.id}")
               for n, h in numbered if h.entry.has_geo and _fits(f"{PREFIX}:pin:{h.entry.id}")]
    if offset + page < len(hits) and offset + page <= MAX_OFFSET:
        buttons.append(Button(_("Plus de résultats"), f"{PREFIX}:more:{offset + page}"))
    return Reply(text, rows(*buttons))


def pin_reply(entry: Entry) -> Reply:
    """The entry's card with its map pin."""
    if entry.lat is None or entry.lon is None:
        return Reply(card(entry))
    address = place_text(entry)
    if entry.geo_precision == "commune":  # the town hall's position, not the service's
        address = _("position approximative : mairie de {commune}").format(
            commune=entry.commune or "")
    venue = Venue(entry.lat, entry.lon, entry.name, address)
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


def _pin_label(entry: Entry) -> str:
    if entry.geo_precision == "commune":
        return entry.label + " " + _("(commune)")
    return entry.label


def _fits(data: str) -> bool:
    return len(data.encode()) <= CALLBACK_MAX_BYTES



def _km(distance: float) -> str:
    return f"{distance:.1f}".replace(".", ",") if distance < 10 else f"{distance:.0f}"
