"""Thin Telegram adapters. `build_router` wires every feature's handlers in one place."""

from __future__ import annotations

from bot.handlers import common, flows
from bot.handlers.router import Router
from bot.handlers.turn import Turn
from vvs.errors import StaleAction
from vvs.i18n import N_


def _menu_buttons(router: Router) -> None:
    @router.button("m")
    async def on_menu(turn: Turn, args: list[str]) -> None:
        key = ":".join(args)
        if key == "menu":
            await common.menu(turn)
        elif len(args) == 2 and args[0] == "flow":
            await flows.open_from_menu(turn, args[1])
        elif key in router.menu_items:
            await router.menu_items[key].handler(turn)
        else:
            raise StaleAction(key)

    @router.button("s")
    async def on_settings(turn: Turn, args: list[str]) -> None:
        match args:
            case ["lang", code]:
                await common.set_lang(turn, code)
            case ["erase", "yes"]:
                await common.erase_confirmed(turn)
            case ["erase", "no"]:
                await common.erase_cancelled(turn)
            case ["dept", code]:
                await common.remember_department(turn, code)
            case _:
                raise StaleAction(":".join(args))


def build_router() -> Router:
    """Register every command, button prefix and input mode."""
    router = Router()
    router.command("start")(common.start)
    router.command("menu", description=N_("Menu principal"))(common.menu)
    router.command("aide", "help", description=N_("Aide"))(common.help_)
    router.command("urgence", "urgences", "emergency",
                   description=N_("Numéros d'urgence"))(common.urgence)
    router.command("annuler", "cancel", description=N_("Annuler ce qui est en cours"))(
        common.annuler)
    router.command("confidentialite", "privacy", description=N_("Vos données"))(
        common.confidentialite)
    router.command("langue", "language", description=N_("Changer de langue"))(common.langue)
    router.command("effacer", "erase", description=N_("Effacer mes données"))(common.effacer)
    router.menu_item("urg", N_("🚨 Numéros d'urgence"), order=70)(common.urgence)
    _menu_buttons(router)
    for setup in _feature_setups():
        setup(router)
    return router


def _feature_setups() -> list:
    """Feature modules, each with `setup(router)`; listed here so wiring stays in one place."""
    from bot.handlers import admin_cmds, annuaire, console, escalation, knowledge, textbox

    return [admin_cmds.setup, knowledge.setup, annuaire.setup, flows.setup, escalation.setup,
            console.setup, textbox.setup]
