"""Tables that map commands, button prefixes and input modes to handler functions.

Each feature module exposes `setup(router)`; the runner consults the tables, so exactly one
place decides what a command, a button or a piece of free text means. Registering the same
name twice is a wiring error and raises `DuplicateRoute` when the router is built.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from bot.handlers.turn import Turn

TurnHandler = Callable[[Turn], Awaitable[None]]
ButtonHandler = Callable[[Turn, list[str]], Awaitable[None]]
ReplyHook = Callable[[Turn], Awaitable[bool]]
# the turn left a mode's state (another state, or another mode): what that means, given the
# state the turn began with (e.g. a procedure abandoned at a step)
LeaveHook = Callable[[Turn, object], None]
# `/start <arg>`: the handler for a deep-link argument, or None when it means nothing
DeepLinks = Callable[[Turn, str], TurnHandler | None]
H = TypeVar("H")
ANY_MODE = "*"


class DuplicateRoute(ValueError):
    """Two features claimed the same command, prefix, mode or menu item."""


@dataclass(frozen=True)
class MenuItem:
    """A main-menu entry of a feature (`m:<key>`); flows add theirs from their files."""

    key: str
    label: str  # French, marked with N_, translated at display time
    order: int
    handler: TurnHandler


@dataclass
class Router:
    commands: dict[str, TurnHandler] = field(default_factory=dict)
    buttons: dict[str, ButtonHandler] = field(default_factory=dict)
    modes: dict[str, TurnHandler] = field(default_factory=dict)  # free text in a mode
    rerender: dict[str, TurnHandler] = field(default_factory=dict)  # show a mode's step again
    location: dict[str, TurnHandler] = field(default_factory=dict)  # by mode; "*" default
    contact: dict[str, TurnHandler] = field(default_factory=dict)
    menu_items: dict[str, MenuItem] = field(default_factory=dict)  # "m:<item>" targets
    states: dict[str, type[object]] = field(default_factory=dict)  # mode → its state dataclass
    leave: dict[str, LeaveHook] = field(default_factory=dict)  # by the mode left
    # modes whose text handler reads the reply keyboard's own buttons ("Annuler", "Ne pas
    # partager"); elsewhere those texts cancel what is in progress
    reads_keyboard: set[str] = field(default_factory=set)
    idle_text: TurnHandler | None = None
    deep_links: DeepLinks | None = None
    # consulted first for a message sent as a reply; True means "handled"
    reply_hooks: list[ReplyHook] = field(default_factory=list)
    # run after a private /start (e.g. what waited for a referent to open the bot)
    start_hooks: list[TurnHandler] = field(default_factory=list)
    descriptions: list[tuple[str, str]] = field(default_factory=list)  # for setMyCommands

    def command(self, *names: str, description: str | None = None
                ) -> Callable[[TurnHandler], TurnHandler]:
        """Register a command under several names (French first, English aliases)."""
        def wrap(fn: TurnHandler) -> TurnHandler:
            for name in names:
                _put(self.commands, name, fn, "command /")
            if description:
                self.descriptions.append((names[0], description))
            return fn
        return wrap

    def button(self, prefix: str) -> Callable[[ButtonHandler], ButtonHandler]:
        """Register the handler of every button whose data starts with `<prefix>:`."""
        def wrap(fn: ButtonHandler) -> ButtonHandler:
            _put(self.buttons, prefix, fn, "button prefix ")
            return fn
        return wrap

    def mode(self, mode: str, *, state: type[object] | None = None,
             text: TurnHandler | None = None, rerender: TurnHandler | None = None,
             location: TurnHandler | None = None, contact: TurnHandler | None = None,
             reads_keyboard: bool = False, leave: LeaveHook | None = None) -> None:
        """What free text, a location or a contact means in `mode`; how to show it again;
        the dataclass of its state (how the state store reads it back); what leaving its
        state means."""
        if state is not None:
            _put(self.states, mode, state, "state of mode ")
        if leave is not None:
            _put(self.leave, mode, leave, "leave hook of mode ")
        if reads_keyboard:
            self.reads_keyboard.add(mode)
        for table, handler, what in ((self.modes, text, "text in mode "),
                                     (self.rerender, rerender, "rerender of mode "),
                                     (self.location, location, "location in mode "),
                                     (self.contact, contact, "contact in mode ")):
            if handler is not None:
                _put(table, mode, handler, what)

    def menu_item(self, key: str, label: str, order: int
                  ) -> Callable[[TurnHandler], TurnHandler]:
        """A main-menu button `m:<key>`, placed by `order` among the others."""
        def wrap(fn: TurnHandler) -> TurnHandler:
            _put(self.menu_items, key, MenuItem(key, label, order, fn), "menu item ")
            return fn
        return wrap

    def on_idle_text(self, fn: TurnHandler) -> TurnHandler:
        """Free text when no mode claims it (a question for the knowledge base)."""
        self.idle_text = _once(self.idle_text, fn, "idle text")
        return fn

    def on_deep_link(self, fn: DeepLinks) -> DeepLinks:
        """Who resolves `/start <arg>`."""
        self.deep_links = _once(self.deep_links, fn, "deep links")
        return fn

    def on_reply(self, fn: ReplyHook) -> ReplyHook:
        self.reply_hooks.append(fn)
        return fn

    def on_start(self, fn: TurnHandler) -> TurnHandler:
        """Also run after every private /start."""
        self.start_hooks.append(fn)
        return fn


def _put(table: dict[str, H], key: str, value: H, what: str) -> None:
    if key in table:
        raise DuplicateRoute(f"{what}{key!r} registered twice")
    table[key] = value


def _once(current: H | None, value: H, what: str) -> H:
    if current is not None:
        raise DuplicateRoute(f"{what} registered twice")
    return value
