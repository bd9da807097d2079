"""Every outcome of every flow, for each département and "Autre", with the bundled directory:
the addressee shown on screen and in the drafts is fit for the outcome's purpose, says how sure
it is, shows no internal note, and the physician always has a concrete next step."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from annuaire.loader import load_directory
from annuaire.model import Directory
from annuaire.purposes import PURPOSES
from bot.flows.engine import FlowEngine, FlowState
from bot.flows.loader import load_flows
from bot.flows.model import DEPARTMENTS, OTHER_DEPARTMENT, Outcome
from bot.flows.resolvers import FALLBACK, RESOLVERS
from tests.flowkit import fake_knowledge

ROOT = Path(__file__).resolve().parent.parent
PLACES = (*DEPARTMENTS, OTHER_DEPARTMENT)
# Words that only internal notes use: a physician must never read them.
INTERNAL = ("localisation seulement", "dépliant", "[U]", "[S]", "[S-sec]", "idf-directory",
            "legal-brief", "legal-review", "mentionnée, à confirmer")
HAS_PDFTOTEXT = shutil.which("pdftotext") is not None


@pytest.fixture(scope="module")
def directory() -> Directory:
    found, _findings = load_directory(ROOT)
    assert found is not None
    return found


@pytest.fixture(scope="module")
def eng(directory: Directory) -> FlowEngine:
    knowledge = fake_knowledge()
    flows, _findings = load_flows(ROOT, knowledge)
    return FlowEngine(flows, directory, knowledge)


@pytest.fixture(scope="module")
def reached(eng: FlowEngine) -> dict[tuple[str, str, str], tuple[FlowState, str]]:
    """(flow, outcome, département) → (state, outcome text + button data), by pressing every
    button."""
    found: dict[tuple[str, str, str], tuple[FlowState, str]] = {}
    todo = [eng.start(flow_id) for flow_id in eng.flows.flows]
    seen: set[tuple[str, str, str | None]] = set()
    while todo:
        state, reply = todo.pop()
        node = eng.flows[state.flow].node(state.step)
        if isinstance(node, Outcome):
            data = " ".join(b.data or "" for row in reply.buttons for b in row)
            found[(state.flow, node.id, state.answered_dept)] = (state,
                                                                       reply.text + " " + data)
            continue
        key = (state.flow, state.step, state.answered_dept)
        if key in seen:
            continue
        seen.add(key)
        for row in reply.buttons:
            for button in row:
                if button.data and button.data.split(":")[1] in ("c", "n", "d"):
                    todo.append(eng.handle(state, button.data))
    return found


def _destinataire(text: str) -> str:
    return text.split("<b>Destinataire</b>")[1].split("\n\n<b>")[0] \
        if "<b>Destinataire</b>" in text else ""


def _info_only(directory: Directory) -> set[str]:
    return {c.value for e in directory.entries for c in e.channels
            if set(c.uses) <= {"information"}}


def test_every_outcome_is_reached_for_every_place(eng, reached) -> None:
    for flow in eng.flows.flows.values():
        for outcome in flow.outcomes.values():
            places = {d for (f, o, d) in reached if (f, o) == (flow.id, outcome.id)}
            assert places == set(PLACES), (flow.id, outcome.id, places)


def test_each_channel_shown_fits_the_outcomes_purpose(eng, reached, directory) -> None:
    for (flow_id, outcome_id, dept), _seen in reached.items():
        outcome = eng.flows[flow_id].outcomes[outcome_id]
        for line in eng.addressees(outcome, dept):
            for contact in line.contacts:
                for shown in contact.channels:
                    assert shown.use in shown.channel.uses
                    if line.kind == FALLBACK:  # national lines, never a local service
                        assert any(shown.channel in e.channels for e in directory.entries
                                   if e.department is None)
                    else:
                        assert shown.use in PURPOSES[line.purpose].uses, \
                            (flow_id, outcome_id, dept, shown.channel.value)


def test_information_lines_and_the_couple_mailbox_only_where_they_fit(eng, reached,
                                                                      directory) -> None:
    info = _info_only(directory)
    assert {"01 72 58 70 00", "accueil-pontoise@justice.fr", "01 49 81 16 00",
            "tj-creteil@justice.fr"} <= info
    couple_mailbox = "parquet3.tgi-nanterre@justice.fr"
    for (flow_id, outcome_id, dept), (_state, text) in reached.items():
        for value in info:
            assert value not in text, (flow_id, outcome_id, dept, value)
        expected = (flow_id, outcome_id, dept) == ("majeur", "signalement-couple", "92")
        assert (couple_mailbox in text) is expected, (flow_id, outcome_id, dept)
        if expected:  # with the subject line the source requires
            assert "signalement-violences conjugales + nom de la victime" in text


def test_every_channel_shown_says_how_sure_it_is(eng, reached, directory) -> None:
    values = {c.value for e in directory.entries for c in e.channels}
    for key, (_state, text) in reached.items():
        for line in _destinataire(text).splitlines():
            if any(v in line for v in values if len(v) > 4):
                assert re.search(r"à vérifier — source (de \d{4}|non datée)|vérifié le", line), \
                    (key, line)
    crip75 = reached[("mineur", "information-preoccupante", "75")][1]
    assert "crip75@paris.fr" in crip75 and "à vérifier — source de 2015" in crip75
    assert "01 42 76 26 17" not in crip75  # the contradicted 2015 phone is not shown


def test_no_internal_note_is_displayed(eng, reached, directory) -> None:
    notes = [e.notes[:40] for e in directory.entries if e.notes]
    for key, (_state, text) in reached.items():
        for marker in INTERNAL:
            assert marker not in text, (key, marker)
        for note in notes:
            assert note not in text, (key, note)


def test_every_outcome_offers_a_concrete_next_step(eng, reached, directory) -> None:
    """A channel to use, and when no channel fit for sending is known, the national lines and
    the referent: never "coordonnées à confirmer" alone."""
    values = {c.value for e in directory.entries for c in e.channels}
    for (flow_id, outcome_id, dept), (_state, text) in reached.items():
        block = _destinataire(text)
        outcome = eng.flows[flow_id].outcomes[outcome_id]
        lines = eng.addressees(outcome, dept)
        assert any(v in block for v in values), (flow_id, outcome_id, dept)
        if not all(line.usable for line in lines if line.kind != FALLBACK):
            assert "Ce qui fonctionne dès maintenant" in block, (flow_id, outcome_id, dept)
        if outcome.referent:
            assert "e:new:" in text  # the referent button


def test_the_ordres_listening_line_belongs_to_the_victim_route(eng, reached) -> None:
    for (flow_id, outcome_id, dept), (_state, text) in reached.items():
        assert ("0800 288 038" in _destinataire(text)) is (
            flow_id == "victime" and "— à confirmer" not in text
            and "CDOM 92" not in text and "CDOM 78" not in text), (flow_id, outcome_id, dept)


def test_outside_the_region_says_so(eng, reached) -> None:
    for (flow_id, outcome_id, dept), (_state, text) in reached.items():
        if dept == OTHER_DEPARTMENT and RESOLVERS[
                eng.flows[flow_id].outcomes[outcome_id].addressee].lines:
            assert "Hors Île-de-France" in text, (flow_id, outcome_id)


@pytest.mark.skipif(not HAS_PDFTOTEXT, reason="needs pdftotext")
def test_drafts_carry_the_same_guarantees(eng, reached, directory) -> None:
    info = _info_only(directory)
    # A PDF's addressee block depends on the resolver, the département and whether it is a
    # draft or the record: one PDF of each (records in two places only, to keep CI short).
    done: set[tuple[str, str, bool]] = set()
    for (flow_id, outcome_id, dept), (state, _text) in reached.items():
        outcome = eng.flows[flow_id].outcomes[outcome_id]
        for kind in outcome.documents:
            key = (outcome.addressee, dept, kind == "record")
            if key in done or (kind == "record" and dept not in ("75", OTHER_DEPARTMENT)):
                continue
            done.add(key)
            data = "f:rec" if kind == "record" else f"f:doc:{kind}"
            (doc,) = eng.handle(state, data)[1].documents
            text = " ".join(subprocess.run(["pdftotext", "-", "-"], input=doc.content,
                                           capture_output=True, check=True)
                            .stdout.decode().split())
            for value in info:
                assert value not in text, (flow_id, outcome_id, dept, kind, value)
            for marker in INTERNAL:
                assert marker not in text
            if "crip75@paris.fr" in text:
                assert "à vérifier — source de 2015" in text
