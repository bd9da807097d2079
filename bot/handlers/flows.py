"""Guided procedures in the bot: menu buttons, commands, deep links, `f:` buttons."""

from __future__ import annotations

from typing import Any

from bot.flows.engine import FlowEngine
from bot.handlers.router import Router, TurnHandler
from bot.handlers.turn import Turn
from vvs.i18n import N_, _
from vvs.ui import Button, Reply

MODE = "flow"
MENU = (("majeur", N_("🧑 Signaler : victime majeure"), 10),
        ("mineur", N_("🧒 Signaler : victime mineure"), 20),
        ("ip", N_("📨 Information préoccupante"), 30),
        ("victime", N_("🛡️ Je suis moi-même victime"), 60))


def _engine(turn: Turn) -> FlowEngine:
    return FlowEngine.from_snapshot(turn.services.content)


async def _apply(turn: Turn, state: dict[str, Any] | None, reply: Reply) -> None:
    """Store the flow state (or leave the flow), log its event, show the reply."""
    if state is None:
        turn.conv.idle()
    else:
        turn.conv.set_mode(MODE, {"state": state})
        if state.get("department") and turn.conv.department is None:
            turn.conv.data["asked_dept"] = state["department"]
    await _record(turn, reply.extra)
    turn.reply(reply)


async def _record(turn: Turn, extra: dict[str, Any]) -> None:
    kind = extra.get("event")
    if not kind:
        return
    await turn.event(kind, category=extra.get("flow"),
                     detail=extra.get("outcome") or extra.get("kind"),
                     department=extra.get("department") or turn.conv.department)


def starter(flow_id: str):
    async def start(turn: Turn) -> None:
        state, reply = _engine(turn).start(flow_id, turn.conv.department)
        await _apply(turn, state, reply)
    return start


def deep_link(turn: Turn, arg: str) -> TurnHandler | None:
    """`/start <flow id>` opens that flow."""
    return starter(arg) if arg in _engine(turn).flows else None


async def signaler(turn: Turn) -> None:
    """/signaler: which victim? (adult, minor, information préoccupante)."""
    turn.reply(Reply(_("Qui est la victime ?"), (
        (Button(_("🧑 Une personne majeure"), "f:s:majeur"),),
        (Button(_("🧒 Un mineur (moins de 18 ans)"), "f:s:mineur"),),
        (Button(_("📨 Information préoccupante"), "f:s:ip"),),
        (Button(_("🚨 Urgence : numéros"), "m:urg"),),
    )))


async def on_button(turn: Turn, args: list[str]) -> None:
    """`f:` buttons: the engine validates them against the stored state."""
    state = turn.conv.data.get("state") if turn.conv.mode == MODE else None
    new_state, reply = _engine(turn).handle(state, "f:" + ":".join(args),
                                            department=turn.conv.department)
    if args and args[0] in ("doc", "rec"):  # a document does not move the flow
        await _record(turn, reply.extra)
        turn.reply(reply)
        return
    await _apply(turn, new_state, reply)


async def rerender(turn: Turn) -> None:
    """Show the current step again (after a stale button or a stray message)."""
    state, reply = _engine(turn).resume(turn.conv.data.get("state"), turn.conv.department)
    turn.conv.set_mode(MODE, {"state": state})
    turn.reply(reply)


async def on_text(turn: Turn) -> None:
    """Free text during a flow: answer it as a question, then show the step again."""
    if turn.router.idle_text is not None:
        await turn.router.idle_text(turn)
    turn.reply(Reply(_("Votre démarche est toujours en cours :")))
    await rerender(turn)


def setup(router: Router) -> None:
    for flow_id, label, order in MENU:
        router.menu_item(f"flow:{flow_id}", label, order)(starter(flow_id))
    router.on_deep_link(deep_link)
    router.command("signaler", "report", description=N_("Signaler des violences"))(signaler)
    router.command("ip", description=N_("Information préoccupante"))(starter("ip"))
    router.command("victime", "victim", description=N_("Je suis victime"))(
        starter("victime"))
    router.button("f")(on_button)
    router.mode(MODE, text=on_text, rerender=rerender)

