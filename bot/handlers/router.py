"""Tables that map commands, button prefixes and input modes to handler functions.

Each feature module exposes `setup(router)`; the runner consults the tables, so exactly one
place decides what a command, a button or a piece of free text means.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.handlers.turn import Turn

TurnHandler = Callable[[Turn], Awaitable[None]]
ButtonHandler = Callable[[Turn, list[str]], Awaitable[None]]


@dataclass
class Router:
    commands: dict[str, TurnHandler] = field(default_factory=dict)
    buttons: dict[str, ButtonHandler] = field(default_factory=dict)
    modes: dict[str, TurnHandler] = field(default_factory=dict)  # free text in a mode
    rerender: dict[str, TurnHandler] = field(default_factory=dict)  # show a mode's step again
    location: dict[str, TurnHandler] = field(default_factory=dict)  # by mode; "*" default
    contact: dict[str, TurnHandler] = field(default_factory=dict)
    idle_text: TurnHandler | None = None
    # consulted first for a message sent as a reply; True means "handled"
    reply_hooks: list[Callable[[Turn], Awaitable[bool]]] = field(default_factory=list)
    menu_items: dict[str, TurnHandler] = field(default_factory=dict)  # "m:<item>" targets
    deep_links: dict[str, TurnHandler] = field(default_factory=dict)  # /start <arg>
    descriptions: list[tuple[str, str]] = field(default_factory=list)  # for setMyCommands

    def command(self, *names: str, description: str | None = None) -> Callable:
        """Register a command under several names (French first, English aliases)."""
        def wrap(fn: TurnHandler) -> TurnHandler:
            for name in names:
                self.commands[name] = fn
            if description:
                self.descriptions.append((names[0], description))
            return fn
        return wrap

    def button(self, prefix: str) -> Callable:
        def wrap(fn: ButtonHandler) -> ButtonHandler:
            self.buttons[prefix] = fn
            return fn
        return wrap
