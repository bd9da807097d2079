"""Guided procedures in the bot: menu buttons, commands, deep links, `f:` buttons."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

from bot.flows.engine import FlowEngine, FlowState
from bot.flows.model import Flows
from bot.handlers.router import Router, TurnHandler
from bot.handlers.turn import Turn
from vvs.errors import StaleAction
from vvs.events import FlowStarted
from vvs.i18n import N_, _, current_language
from vvs.ui import Button, Reply

MODE = "flow"


def _engine(turn: Turn) -> FlowEngine:
    return FlowEngine.from_snapshot(turn.services.content)


def flows_in_service(turn: Turn) -> Flows:
    """The flows of the content in service (none when the flows set is not loaded)."""
    flows = turn.services.content.get("flows", Flows)
    return flows if flows is not None else Flows(MappingProxyType({}))


def menu_entries(turn: Turn) -> list[tuple[int, str, str]]:
    """(order, label, button data) of each flow the flow files put in the main menu."""
    language = current_language()
    return [(entry.order, entry.label_in(language), f"m:flow:{flow.id}")
            for flow, entry in flows_in_service(turn).in_menu()]


async def open_from_menu(turn: Turn, flow_id: str) -> None:
    """`m:flow:<id>`: a menu button of a flow still in the menu."""
    flow = flows_in_service(turn).get(flow_id)
    if flow is None or flow.menu is None:
        raise StaleAction(f"m:flow:{flow_id}")
    await starter(flow_id)(turn)


async def _apply(turn: Turn, state: FlowState | None, reply: Reply) -> None:
    """Store the flow state (or leave the flow), show the reply (its events are recorded
    with the turn)."""
    if state is None:
        turn.conv.idle()
    else:
        turn.conv.set_mode(MODE, state)
    turn.reply(reply)


def starter(flow_id: str) -> TurnHandler:
    async def start(turn: Turn) -> None:
        state, reply = _engine(turn).start(flow_id, turn.conv.department)
        await _apply(turn, state, reply)
    return start


def deep_link(turn: Turn, arg: str) -> TurnHandler | None:
    """`/start <flow id>` opens that flow."""
    return starter(arg) if arg in _engine(turn).flows else None


async def signaler(turn: Turn) -> None:
    """/signaler: which victim? (the flows whose files have a `report` entry)."""
    language = current_language()
    rows = tuple((Button(entry.label_in(language), f"f:s:{flow.id}"),)
                 for flow, entry in flows_in_service(turn).in_report())
    turn.reply(Reply(_("Qui est la victime ?"),
                     (*rows, (Button(_("🚨 Urgence : numéros"), "m:urg"),))))


async def on_button(turn: Turn, args: list[str]) -> None:
    """`f:` buttons: the engine validates them against the stored state."""
    new_state, reply = _engine(turn).handle(_state(turn), "f:" + ":".join(args),
                                            department=turn.conv.department)
    if args and args[0] in ("doc", "rec"):  # a document does not move the flow
        turn.reply(reply)
        return
    await _apply(turn, new_state, reply)
    if args == ["m"]:  # « Menu » on an outcome: the flow is over, the menu follows
        await turn.router.buttons["m"](turn, ["menu"])


def _state(turn: Turn) -> FlowState | None:
    return turn.conv.state_of(FlowState, MODE)


async def rerender(turn: Turn) -> None:
    """Show the current step again (after a stale button or a stray message)."""
    state, reply = _engine(turn).resume(turn.conv.state_of(FlowState), turn.conv.department)
    turn.conv.set_mode(MODE, state)
    turn.reply(replace(reply, events=()))  # showing a step again is not an event


async def on_text(turn: Turn) -> None:
    """Free text during a flow: one of the step's buttons typed (« oui », « 2 », « 93 »),
    else the step again with a hint. Never a cancellation, never a legal question."""
    data = _engine(turn).typed(_state(turn), turn.text)
    if data is not None:
        await on_button(turn, data.split(":")[1:])
        return
    if _engine(turn).at_outcome(_state(turn)):
        turn.reply(Reply(_("Votre démarche est arrivée à son terme. Appuyez sur « ✅ "
                           "Terminer » ou « 🏠 Menu » pour la refermer, puis écrivez votre "
                           "question ou votre recherche.")))
    else:
        turn.reply(Reply(_("Je n'ai pas reconnu de réponse à cette étape. Votre démarche est "
                           "toujours en cours : répondez avec les boutons, ou tapez le "
                           "numéro d'un choix, « oui », « non » ou votre département. "
                           "/annuler l'abandonne.")))
    await rerender(turn)


def left(turn: Turn, entered: object) -> None:
    """The turn left the procedure's state: a quit when it stood at a step and the physician
    went elsewhere or started a procedure again (an answer, 'Retour' or a document is not)."""
    if not isinstance(entered, FlowState):
        return
    restarted = any(isinstance(e, FlowStarted) for e in turn.events)
    if turn.conv.mode == MODE and not restarted:
        return
    event = _engine(turn).left(entered)
    if event is not None:
        turn.note(event)


def setup(router: Router) -> None:
    router.on_deep_link(deep_link)
    router.command("signaler", "report", description=N_("Signaler des violences"))(signaler)
    router.command("ip", description=N_("Information préoccupante"))(starter("ip"))
    router.command("victime", "victim", description=N_("Je suis victime"))(
        starter("victime"))
    router.button("f")(on_button)
    router.mode(MODE, state=FlowState, text=on_text, rerender=rerender, leave=left)

