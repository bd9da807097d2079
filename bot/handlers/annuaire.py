"""Directory in the bot: choose a kind or type freely; a place or a shared location."""

from __future__ import annotations

import html
from dataclasses import dataclass, replace

from annuaire.finder import Found, find, national_first, near_place
from annuaire.model import Directory
from annuaire.render import kind_keyboard, parse_action, pin_reply, results_reply
from annuaire.search import Hit, near
from bot.handlers.router import ANY_MODE, Router
from bot.handlers.turn import Turn
from vvs.departements import IDF_DEPARTMENTS
from vvs.errors import StaleAction
from vvs.i18n import N_, _
from vvs.state import IDLE
from vvs.ui import Button, Reply

MODE = "annuaire"


@dataclass(frozen=True)
class DirectoryState:
    """The directory mode: the kind chosen first, and the last results (ids, distances)
    for « more results »."""

    kind: str | None = None
    ids: tuple[str, ...] = ()
    dist: tuple[float | None, ...] = ()


def _state(turn: Turn) -> DirectoryState:
    return turn.conv.state_of(DirectoryState) or DirectoryState()


def _directory(turn: Turn) -> Directory:
    return turn.services.content["annuaire"]


async def open_directory(turn: Turn) -> None:
    """Menu item: ask for a kind, or free text, or a location."""
    turn.conv.set_mode(MODE, DirectoryState())
    turn.reply(kind_keyboard(), Reply(_(
        "Ou écrivez ce que vous cherchez (« umj créteil », « crip 93 », « tribunal "
        "bobigny »), une ville ou un code postal, ou partagez votre position."),
        request_location=True))


async def on_text(turn: Turn) -> None:
    """Free text in the directory mode: a resource's name or a place."""
    kind = _state(turn).kind
    found = find(_directory(turn), turn.text, kind)
    await _show(turn, found, kind)


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
    turn.conv.set_mode(MODE, DirectoryState(kind, tuple(h.entry.id for h in hits),
                                            tuple(h.distance_km for h in hits)))
    events = (found.event(kind, by),)
    if not hits:
        turn.reply(Reply(_("Je n'ai rien trouvé. Essayez un autre mot, une ville, un code "
                           "postal, ou partagez votre position."), events=events))
        return
    if found.place and found.outside_region:
        turn.reply(Reply(_("{place} est hors d'Île-de-France : l'annuaire ne couvre que "
                           "l'Île-de-France. Les lignes nationales d'abord :").format(
                               place=html.escape(found.place.name)),
                         remove_keyboard=True))
    elif found.place:
        turn.reply(Reply(_("Près de {place} :").format(place=html.escape(found.place.name)),
                         remove_keyboard=True))
    turn.reply(replace(results_reply(hits), events=events))
    _offer_department(turn, found)


def _offer_department(turn: Turn, found: Found) -> None:
    dept = found.place.department if found.place else None
    if dept and turn.conv.department is None and dept in IDF_DEPARTMENTS:
        turn.reply(Reply(_("Voulez-vous que je retienne votre département ({d}) pour vos "
                           "prochaines démarches ?").format(d=dept),
                         ((Button(_("Oui, retenir {d}").format(d=dept), f"s:dept:{dept}"),
                           Button(_("Non merci"), "s:dept:no")),)))


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
    action = parse_action(data, directory)
    if action.verb == "kind":
        turn.conv.set_mode(MODE, DirectoryState(str(action.arg)))
        turn.reply(Reply(_("Indiquez une ville ou un code postal, ou partagez votre position."),
                         request_location=True))
    elif action.verb == "pin":
        entry = directory.get(str(action.arg))
        assert entry is not None
        turn.reply(pin_reply(entry))
    elif action.verb == "more":
        hits = _stored_hits(turn)
        if not hits or int(action.arg) >= len(hits):
            raise StaleAction(data)
        turn.reply(results_reply(hits, int(action.arg)))


def setup(router: Router) -> None:
    router.menu_item("annuaire", N_("📍 Trouver une ressource"), order=50)(open_directory)
    router.command("annuaire", "ressources", "directory")(open_directory)
    router.mode(MODE, state=DirectoryState, text=on_text)
    router.mode(ANY_MODE, location=on_location)
    router.button("a")(on_button)
