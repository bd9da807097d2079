"""Directory in the bot: choose a kind or type freely; a place or a shared location.

A kind (chosen with its button, or named in the text) applies to one search only, and the
results say which kind they are; the next search starts without it. Typed text is read by
`bot.handlers.textbox` (the one text box), which calls `search_text` or `show_reading`."""

from __future__ import annotations

import html
from dataclasses import dataclass, replace

from annuaire.finder import Found, find, national_first, near_place
from annuaire.model import KINDS, Directory
from annuaire.render import kind_keyboard, parse_action, pin_reply, results_reply
from annuaire.search import Hit, near
from bot.handlers.router import ANY_MODE, Router
from bot.handlers.turn import Turn
from intent.model import DirectoryReading
from vvs.departements import IDF_DEPARTMENTS
from vvs.errors import StaleAction
from vvs.i18n import N_, _
from vvs.state import IDLE
from vvs.ui import Button, Reply, menu_button, with_rows

MODE = "annuaire"


@dataclass(frozen=True)
class DirectoryState:
    """The directory mode: the kind chosen for the next search (cleared once it has run),
    and the last results (ids, distances) for « more results »."""

    kind: str | None = None
    ids: tuple[str, ...] = ()
    dist: tuple[float | None, ...] = ()


def _state(turn: Turn) -> DirectoryState:
    return turn.conv.state_of(DirectoryState) or DirectoryState()


def _directory(turn: Turn) -> Directory:
    return turn.services.content.of("annuaire", Directory)


async def open_directory(turn: Turn) -> None:
    """Menu item: ask for a kind, or free text, or a location."""
    turn.conv.set_mode(MODE, DirectoryState())
    turn.reply(kind_keyboard(), Reply(_(
        "Ou écrivez ce que vous cherchez (« umj créteil », « crip 93 », « tribunal "
        "bobigny »), une ville ou un code postal, ou partagez votre position."),
        request_location=True))


async def search_text(turn: Turn) -> None:
    """Free text in the directory mode that names no kind: a resource's name or a place,
    searched with the kind chosen for this search, if any."""
    kind = _state(turn).kind
    found = find(_directory(turn), turn.text, kind)
    await _show(turn, found, kind)


async def show_reading(turn: Turn, reading: DirectoryReading) -> None:
    """A text read as a directory search: a resource named, a kind near a place, a kind
    alone (then: where?), or a place alone; the kind named applies to this search only."""
    directory = _directory(turn)
    if reading.entry is not None:
        await _show(turn, find(directory, turn.text), reading.kind)
    elif reading.kind is not None and reading.place is not None:
        hits = near_place(directory, reading.place, reading.kind)
        await _show(turn, national_first(directory, Found(tuple(hits), reading.place)),
                    reading.kind)
    elif reading.kind is not None:
        choose_kind(turn, reading.kind)
    elif turn.text:  # a place typed alone: homonyms are asked about
        await _show(turn, find(directory, turn.text, _state(turn).kind), _state(turn).kind)
    elif reading.place is not None:
        hits = near_place(directory, reading.place, None)
        await _show(turn, national_first(directory, Found(tuple(hits), reading.place)), None)


def reading_data(reading: DirectoryReading) -> str:
    """The button data of a directory reading offered among others: `a:pin:<entry>`, or
    `a:q:<kind or ->:<INSEE code, d<département> or ->`."""
    if reading.entry is not None and len(f"a:pin:{reading.entry}".encode()) <= 64:
        return f"a:pin:{reading.entry}"
    place = reading.place
    code = "-" if place is None else place.insee or f"d{place.department}"
    return f"a:q:{reading.kind or '-'}:{code}"


def _reading_of(turn: Turn, kind: str, code: str) -> DirectoryReading:
    """The directory reading a `a:q:` button stands for (never trusted: StaleAction)."""
    gaz = _directory(turn).index.gaz
    if kind != "-" and kind not in KINDS:
        raise StaleAction(kind)
    place = None
    if code.startswith("d"):
        place = gaz.department(code[1:])
    elif code != "-":
        place = gaz.by_code(code)
    if place is None and code != "-":
        raise StaleAction(code)
    if kind == "-" and place is None:
        raise StaleAction("a:q")
    return DirectoryReading(1.0, None if kind == "-" else kind, place)


def choose_kind(turn: Turn, kind: str) -> None:
    """A kind for the next search: ask where."""
    turn.conv.set_mode(MODE, DirectoryState(kind))
    turn.reply(Reply(_("{kind} : indiquez une ville ou un code postal, ou partagez votre "
                       "position.").format(kind=html.escape(_(KINDS[kind]))),
                     request_location=True))


async def on_location(turn: Turn) -> None:
    """A shared location: nearest entries (of the chosen kind, if any)."""
    assert turn.location is not None
    lat, lon = turn.location
    directory = _directory(turn)
    kind = _state(turn).kind if turn.conv.mode == MODE else None
    was, was_state = turn.conv.mode, turn.conv.state
    place = directory.index.gaz.nearest(lat, lon)
    hits = near(directory, lat, lon, kind=kind, top=12, place=place)
    turn.conv.set_mode(MODE, DirectoryState(kind))
    await _show(turn, national_first(directory, Found(tuple(hits), place)), kind,
                by="location")
    if was not in (IDLE, MODE):  # a procedure in progress is kept, and shown again
        turn.conv.set_mode(was, was_state)
        turn.reply(Reply(_("Votre démarche est toujours en cours :")))
        rerender = turn.router.rerender.get(was)
        if rerender is not None:
            await rerender(turn)


async def _show(turn: Turn, found: Found, kind: str | None, by: str | None = None) -> None:
    if found.ambiguous:
        turn.reply(Reply(_("Plusieurs communes portent ce nom. Laquelle ?"), tuple(
            (Button(f"{p.name} ({p.department})", f"a:place:{p.insee}"),)
            for p in found.ambiguous[:6] if p.insee)))
        return
    hits = list(found.hits)
    # the kind was for this search: the next one starts without it
    turn.conv.set_mode(MODE, DirectoryState(None, tuple(h.entry.id for h in hits),
                                            tuple(h.distance_km for h in hits)))
    events = (found.event(kind, by),)
    label = html.escape(_(KINDS[kind])) if kind is not None and kind in KINDS else None
    if not hits:
        text = _("Je n'ai rien trouvé. Essayez un autre mot, une ville, un code postal, ou "
                 "partagez votre position.")
        if label:
            text = _("{kind} : je n'ai rien trouvé. Essayez une autre ville, un code "
                     "postal, ou partagez votre position.").format(kind=label)
        turn.reply(Reply(text, ((menu_button(),),), events=events))
        return
    where = found.place
    place = html.escape(where.name) if where else None
    # a whole département is not a point one is "near": it is named, with its code
    area = where is not None and where.insee is None and where.department is not None
    if where is not None and area:
        place = f"{place} ({where.department})"
    if place and found.outside_region:
        turn.reply(Reply(_("{place} est hors d'Île-de-France : l'annuaire ne couvre que "
                           "l'Île-de-France. Les lignes nationales d'abord :").format(
                               place=place), remove_keyboard=True))
    elif place and label and area:
        turn.reply(Reply(_("{kind} — {place} :").format(kind=label, place=place),
                         remove_keyboard=True))
    elif place and label:
        turn.reply(Reply(_("{kind} près de {place} :").format(kind=label, place=place),
                         remove_keyboard=True))
    elif place and area:
        turn.reply(Reply(_("{place} :").format(place=place), remove_keyboard=True))
    elif place:
        turn.reply(Reply(_("Près de {place} :").format(place=place), remove_keyboard=True))
    elif label:
        turn.reply(Reply(_("{kind} :").format(kind=label), remove_keyboard=True))
    turn.reply(replace(with_rows(results_reply(hits), (menu_button(),)), events=events))
    _offer_department(turn, found)


def _offer_department(turn: Turn, found: Found) -> None:
    dept = found.place.department if found.place else None
    if dept and turn.conv.department is None and dept in IDF_DEPARTMENTS:
        turn.reply(Reply(_("Voulez-vous que je retienne votre département ({d}) pour vos "
                           "prochaines démarches ?").format(d=dept),
                         ((Button(_("Oui, retenir {d}").format(d=dept), f"s:dept:{dept}"),
                           Button(_("Non merci"), "s:dept:no")), (menu_button(),))))


def _stored_hits(turn: Turn) -> list[Hit]:
    directory, state = _directory(turn), _state(turn)
    dists = state.dist or (None,) * len(state.ids)
    return [Hit(e, None, d) for e, d in ((directory.get(i), d) for i, d in zip(
        state.ids, dists, strict=False)) if e is not None]


async def on_button(turn: Turn, args: list[str]) -> None:
    """`a:` buttons: kind choice, map pin, more results, homonym choice."""
    data = "a:" + ":".join(args)
    directory = _directory(turn)
    if len(args) == 2 and args[0] == "place":
        place = directory.index.gaz.by_code(args[1])
        if place is None:
            raise StaleAction(data)
        kind = _state(turn).kind
        await _show(turn, national_first(
            directory, Found(tuple(near_place(directory, place, kind)), place)), kind)
        return
    if len(args) == 3 and args[0] == "q":
        await show_reading(turn, _reading_of(turn, args[1], args[2]))
        return
    action = parse_action(data, directory)
    if action.verb == "kind":
        choose_kind(turn, str(action.arg))
    elif action.verb == "pin":
        entry = directory.get(str(action.arg))
        assert entry is not None
        turn.reply(with_rows(pin_reply(entry), (menu_button(),)))
    elif action.verb == "more":
        hits = _stored_hits(turn)
        if not hits or int(action.arg) >= len(hits):
            raise StaleAction(data)
        turn.reply(with_rows(results_reply(hits, int(action.arg)), (menu_button(),)))


def setup(router: Router) -> None:
    router.menu_item("annuaire", N_("📍 Trouver une ressource"), order=50)(open_directory)
    router.command("annuaire", "ressources", "directory")(open_directory)
    router.mode(MODE, state=DirectoryState)  # its text: bot.handlers.textbox
    router.mode(ANY_MODE, location=on_location)
    router.button("a")(on_button)
