"""Helpers for the flow tests: a knowledge stand-in, the fixture directory, a scripted walk."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType, SimpleNamespace

from annuaire.loader import load_directory
from bot.flows.engine import FlowEngine, FlowState
from bot.flows.loader import load_flows
from bot.flows.model import Outcome
from vvs.state import decode, encode
from vvs.ui import Reply

ROOT = Path(__file__).resolve().parent.parent
ANNUAIRE_FIXTURE = Path(__file__).parent / "data" / "annuaire"

# The knowledge entry ids the flows may cite (the knowledge helpers write these entries).
KNOWN_IDS = [
    "secret-professionnel",
    "derogations-secret",
    "protection-du-signalant",
    "devoir-de-protection",
    "non-assistance-personne-en-danger",
    "non-denonciation",
    "secret-partage",
    "responsabilite-du-medecin",
    "signalement-majeur-consentement",
    "majeur-vulnerable",
    "violences-conjugales-danger-immediat",
    "violences-sexuelles-majeur",
    "plainte-victime",
    "personne-agee-handicap",
    "signalement-mineur",
    "information-preoccupante",
    "ip-ou-signalement",
    "crip",
    "information-des-parents",
    "mineur-danger-immediat",
    "allo-119",
    "evaluation-collegiale-mineur",
    "mutilations-sexuelles",
    "certificat-constatation",
    "itt",
    "rediger-signalement",
    "transmettre-signalement",
    "modeles-formulaires",
    "dossier-medical",
    "suites-du-signalement",
    "requisitions-perquisition",
    "umj",
    "medecin-victime-premiers-gestes",
    "medecin-victime-plainte",
    "declaration-incident-ordre",
    "protection-fonctionnelle",
    "securite-du-cabinet",
    "referent-vvs",
    "vss-entre-professionnels",
    "numeros-urgence",
    "conseil-ordre-appui",
    "donnees-personnelles",
]


def fake_knowledge() -> SimpleNamespace:
    """A knowledge snapshot stand-in: `entries` maps id → object with a title."""
    return SimpleNamespace(
        entries=MappingProxyType({i: SimpleNamespace(id=i, title=f"Fiche {i}") for i in KNOWN_IDS})
    )


def engine(directory: bool = True) -> FlowEngine:
    """An engine over the real flow files, the fixture directory and fake knowledge."""
    knowledge = fake_knowledge()
    flows, findings = load_flows(ROOT, knowledge)
    assert [f for f in findings if f.severity == "error"] == []
    fixture = load_directory(ANNUAIRE_FIXTURE)[0] if directory else None
    return FlowEngine(flows, fixture, knowledge)


@dataclass
class Walk:
    """Where a scripted walk ended, with every text shown on the way."""

    state: FlowState
    reply: Reply
    texts: list[str]
    presses: list[str]

    @property
    def outcome(self) -> str:
        return f"{self.state.flow}:{self.state.step}"

    @property
    def all_text(self) -> str:
        return "\n".join(self.texts)


def walk(eng: FlowEngine, flow_id: str, answers: list[str], home: str | None = None) -> Walk:
    """Start `flow_id` and answer: a choice by a piece of its label, a département by its code.

    Info steps are continued without consuming an answer. The state goes through the state
    store's JSON at every turn, as it does through the database.
    """
    state, reply = eng.start(flow_id, home)
    texts, presses = [reply.text], []
    todo = list(answers)
    while True:
        state = through_json(state)
        flow, node = eng.flows[state.flow], eng.flows[state.flow].node(state.step)
        if isinstance(node, Outcome):
            break
        data = _press(node, todo)
        presses.append(data)
        state, reply = eng.handle(state, data)
        texts.append(reply.text)
    assert not todo, f"unused answers {todo} in {flow.id}"
    return Walk(state, reply, texts, presses)


def through_json(state: FlowState) -> FlowState:
    """The state as the next turn reads it from the database."""
    return decode(FlowState, json.loads(json.dumps(encode(state))))


def _press(node, todo: list[str]) -> str:
    if node.type == "info":
        return f"f:n:{node.id}"
    answer = todo.pop(0)
    if node.type == "department":
        return f"f:d:{node.id}:{answer}"
    matches = [i for i, c in enumerate(node.choices) if answer in c.label]
    assert len(matches) == 1, f"{answer!r} matches {matches} at {node.id}"
    return f"f:c:{node.id}:{matches[0]}"


def button_data(reply: Reply) -> list[str]:
    return [b.data for row in reply.buttons for b in row if b.data]
