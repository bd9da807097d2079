"""The intent step: what a free text typed at the menu is read as (a table from
bench/intent_eval.tsv, with the readings' details)."""

from __future__ import annotations

from pathlib import Path

import pytest

from annuaire.loader import load_directory
from bot.flows.loader import load_flows
from intent.model import DirectoryReading, ProcedureReading, QuestionReading
from intent.reader import flow_votes, read
from knowledge.loader import load_knowledge

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def parts():
    kb, _ = load_knowledge(ROOT)
    directory, _ = load_directory(ROOT)
    flows, _ = load_flows(ROOT, kb)
    assert directory is not None and flows is not None
    return kb, directory, flows.flows


def readings(parts, text: str):
    kb, directory, flows = parts
    return read(text, kb, directory, flows).readings


# text → kind, département of the directory reading read first (and alone)
@pytest.mark.parametrize(("text", "kind", "department"), [
    ("crip 93", "crip", "93"),
    ("umj bobigny", "umj", "93"),
    ("cdom 94", "cdom", "94"),
    ("tribunal pontoise", "parquet", "95"),
    ("crip versaille", "crip", "78"),  # misspelt town beside a kind
    ("cirp 93", "crip", "93"),  # misspelt kind
    ("trbunal de bobigny", "parquet", "93"),
    ("numéro de la crip du 94", "crip", "94"),
])
def test_directory_queries_go_to_the_directory(parts, text: str, kind: str,
                                               department: str) -> None:
    found = readings(parts, text)
    assert isinstance(found[0], DirectoryReading), found
    assert found[0].kind == kind and found[0].place is not None
    assert found[0].place.department == department


@pytest.mark.parametrize(("text", "flow"), [
    ("je dois faire un signalement pour un enfant", "mineur"),
    ("jdois faire un signalement pr un gamin de 8 ans", "mineur"),
    ("je dois signaler une femme battue", "majeur"),
    ("information préoccupante", "ip"),
    ("faire une ip", "ip"),  # the acronym names the flow's title
    ("je suis médecin agressé", "victime"),
    ("un patient m'a frappé au cabinet", "victime"),
])
def test_a_wish_to_act_starts_the_procedure(parts, text: str, flow: str) -> None:
    found = readings(parts, text)
    assert isinstance(found[0], ProcedureReading) and found[0].flow == flow, found


@pytest.mark.parametrize(("text", "entry"), [
    ("c koi la crip", "crip"),
    ("c'est quoi l'ITT", "itt"),
    ("suis je protege si je signale de bonne foi", "protection-du-signalant"),
    ("la police me demande le dossier medical je dois le donner", "requisitions-perquisition"),
])
def test_legal_questions_go_to_the_knowledge_base(parts, text: str, entry: str) -> None:
    found = readings(parts, text)
    assert isinstance(found[0], QuestionReading) and found[0].entry == entry, found


def test_two_plausible_readings_are_both_offered(parts) -> None:
    # "uaped" alone: what a UAPED is, and where they are
    found = readings(parts, "uaped")
    assert [r.name for r in found] == ["question", "directory"]
    assert found[1].kind == "uaped"
    # a wish to act on a child: the procedure, and the sheet behind it
    found = readings(parts, "je dois faire un signalement pour un enfant")
    assert [r.name for r in found[:2]] == ["procedure", "question"]
    assert found[1].entry == "signalement-mineur"


def test_a_clear_directory_query_is_read_alone(parts) -> None:
    assert [r.name for r in readings(parts, "cdom 94")] == ["directory"]


@pytest.mark.parametrize("text", [
    "bonjour", "quel temps fera t il demain a paris", "prescription antibiotique angine",
    "je cherche un kine a paris", "contrat de remplacement", "test",
])
def test_out_of_scope_texts_have_no_reading(parts, text: str) -> None:
    assert readings(parts, text) == ()


def test_flow_votes_come_from_the_outcomes_legal_basis(parts) -> None:
    _kb, _directory, flows = parts
    votes = flow_votes(flows)
    assert votes["signalement-mineur"] == {"mineur": 1.0}
    assert votes["medecin-victime-premiers-gestes"] == {"victime": 1.0}
    assert set(votes["information-preoccupante"]) == {"ip", "mineur"}


@pytest.mark.parametrize(("text", "unsure"), [
    ("crip 93", False),  # all directory: what the CRIP is stays a distant second
    ("versailles", False),
    ("uaped", True),  # what a UAPED is, or where they are
    ("je dois faire un signalement pour un enfant", True),
])
def test_a_clear_lead_is_acted_on_and_a_close_call_is_asked(parts, text: str,
                                                            unsure: bool) -> None:
    kb, directory, flows = parts
    assert read(text, kb, directory, flows).unsure is unsure
