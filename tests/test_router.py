"""The router refuses a command, prefix, mode or menu item registered twice."""

from __future__ import annotations

import pytest

from bot.handlers import build_router
from bot.handlers.router import DuplicateRoute, Router
from bot.handlers.turn import Turn


async def one(turn: Turn) -> None:
    """A handler."""


async def other(turn: Turn) -> None:
    """Another handler."""


async def press(turn: Turn, args: list[str]) -> None:
    """A button handler."""


def test_the_real_router_has_no_duplicate() -> None:
    router = build_router()
    assert {"start", "menu", "signaler", "recharger", "dossiers"} <= set(router.commands)
    assert set(router.buttons) == {"m", "s", "k", "a", "f", "e"}
    assert {"ask", "annuaire", "urg"} <= set(router.menu_items)


@pytest.mark.parametrize("register_twice", [
    lambda r: (r.command("aide")(one), r.command("help", "aide")(other)),
    lambda r: (r.button("k")(press), r.button("k")(press)),
    lambda r: (r.mode("flow", text=one), r.mode("flow", text=other)),
    lambda r: (r.mode("flow", rerender=one), r.mode("flow", rerender=other)),
    lambda r: (r.mode("*", location=one), r.mode("*", location=other)),
    lambda r: (r.menu_item("ask", "Question", 1)(one), r.menu_item("ask", "Autre", 2)(other)),
    lambda r: (r.on_idle_text(one), r.on_idle_text(other)),
    lambda r: (r.on_deep_link(lambda t, a: None), r.on_deep_link(lambda t, a: None)),
])
def test_a_second_registration_is_refused(register_twice) -> None:
    with pytest.raises(DuplicateRoute):
        register_twice(Router())


def test_distinct_registrations_coexist() -> None:
    router = Router()
    router.mode("flow", text=one, rerender=other)
    router.mode("annuaire", text=other)
    router.command("aide", "help")(one)
    assert router.modes == {"flow": one, "annuaire": other}
    assert router.rerender == {"flow": other}
    assert router.commands == {"aide": one, "help": one}


def test_every_mode_declares_the_type_of_its_state() -> None:
    """The state store reads a mode's state with its type: a mode without one would send
    its users back to idle at their next message."""
    router = build_router()
    modes = set(router.modes) | set(router.rerender) | set(router.contact) \
        | set(router.location)
    assert modes - {"*"} <= set(router.states)
    assert router.reads_keyboard == {"esc_contact"}


def test_a_state_type_registered_twice_is_refused() -> None:
    router = Router()
    router.mode("x", state=int)
    with pytest.raises(DuplicateRoute):
        router.mode("x", state=str)
