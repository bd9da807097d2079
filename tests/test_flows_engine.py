"""The flow engine through scripted walks: every outcome, back/restart, stale data, state."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.flows.engine import FlowEngine, FlowState
from bot.flows.model import DEPARTMENTS, OTHER_DEPARTMENT, Outcome
from tests.flowkit import button_data, engine, through_json, walk
from vvs.errors import StaleAction
from vvs.events import FlowOutcome, FlowStarted, FlowStep
from vvs.state import decode, encode
from vvs.ui import CALLBACK_MAX_BYTES, MESSAGE_MAX_CHARS


@pytest.fixture(scope="module")
def eng() -> FlowEngine:
    return engine()


# (name, flow, answers, expected "flow:outcome", texts that must be shown on the way)
SCENARIOS = [
    ("v1 couple, no danger, no consent", "majeur",
     ["Non", "peut se protéger", "Non, ou", "Oui, au sein", "Non, pas les deux", "93"],
     "majeur:sans-accord",
     ["vous ne signalez pas", "certificat médical initial", "3919", "116 006", "<b>17</b>",
      "UMJ", "associations", "dossier", "commission VVS", "Victime mineure"]),
    ("v2 couple, danger and emprise", "majeur",
     ["Oui, danger", "peut se protéger", "Non, ou", "Oui, au sein", "Les deux", "93"],
     "majeur:signalement-couple",
     ["<b>17</b> ou le <b>112</b>", "procureur de la République seul", "obtenir son accord",
      "<b>informer</b>", "vade-mecum", "danger immédiat pour sa vie", "menaces de mort",
      "emprise", "Ne nommez pas l'auteur présumé", "Bobigny"]),
    ("v3 elderly man unable to protect himself", "majeur",
     ["Non", "ne le peut pas", "93"], "majeur:alerte-vulnerable",
     ["sans attendre l'accord", "autorité administrative", "Jamais la CRIP",
      "devoir déontologique", "R.4127-44 al. 2", "3977", "C'est vous qui appréciez"]),
    ("v4 student who agrees", "majeur",
     ["Non", "peut se protéger", "Oui, elle", "93"], "majeur:signalement-accord",
     ["226-14 2°", "porter plainte", "ITT", "Bobigny"]),
    ("adult, not a couple, no consent, outside IdF", "majeur",
     ["Non", "peut se protéger", "Non, ou", "Non", "x"], "majeur:sans-accord",
     ["3919", "Hors Île-de-France"]),
    ("v5 girl, sexual touching", "mineur",
     ["Non", "Oui, des faits", "93"], "mineur:signalement",
     ["signalement au procureur de la République", "copie à la CRIP",
      "N'informez jamais l'auteur présumé", "devoir", "Bobigny", "CRIP"]),
    ("v6 shaken infant", "mineur",
     ["Oui, danger", "93"], "mineur:signalement-urgent",
     ["<b>15</b> ou le <b>17</b>", "hospitalisez", "<b>téléphone</b>", "par écrit",
      "copie à la CRIP"]),
    ("v7 neglected boy", "mineur",
     ["Non", "Non : danger", "93"], "mineur:information-preoccupante",
     ["information préoccupante", "CRIP", "Informez les parents",
      "contraire à l'intérêt de l'enfant", "L.226-2-1 CASF", "n'en donnez pas copie"]),
    ("v8 physician in doubt", "mineur",
     ["Non", "Je ne sais pas", "93"], "mineur:doute",
     ["<b>CRIP</b>", "<b>119</b>", "médecin référent protection de l'enfance", "UAPED",
      "secret partagé", "L.226-2-2 CASF", "information préoccupante", "signalement"]),
    ("ip direct, real IP", "ip",
     ["Non", "Non : danger", "93"], "ip:transmettre-ip",
     ["vérifions qu'un signalement", "sauf si c'est contraire à l'intérêt de l'enfant",
      "information préoccupante", "R.4127-44"]),
    ("ip, but an emergency", "ip",
     ["Oui, danger", "93"], "mineur:signalement-urgent", ["hospitalisez"]),
    ("ip, but an offence", "ip",
     ["Non", "Oui", "93"], "mineur:signalement", ["copie à la CRIP"]),
    ("ip, but a doubt", "ip",
     ["Non", "Je ne sais pas", "93"], "mineur:doute", ["<b>119</b>"]),
    ("physician victim in danger, salaried", "victime",
     ["Non, je suis en danger", "Agression", "Salarié", "92"], "victime:contact-cdom-salarie",
     ["<b>17</b>", "<b>114</b> par SMS", "certificat médical initial", "ITT",
      "adresse professionnelle", "2025-623", "art. 4", "avec son accord", "art. 10-2",
      "accord écrit", "votre employeur", "Observatoire de la sécurité des médecins",
      "L.4123-1", "protection fonctionnelle", "CDOM 92", "01 00 00 00 00", "0800 288 038"]),
    ("physician victim, private practice", "victime",
     ["Oui", "Agression", "Libéral", "75"], "victime:contact-cdom",
     ["Observatoire de la sécurité des médecins", "URPS", "diagnostic de sécurité du cabinet",
      "Non trouvé dans l'annuaire", "0800 288 038"]),
    ("sexist and sexual violence by a colleague", "victime",
     ["Oui", "Violences sexistes", "92"], "victime:vss-contact",
     ["3919", "116 006", "signalement-violences-sexuelles-sexistes.gouv.fr",
      "violences sexistes et sexuelles commises par un médecin", "commission VVS", "CDOM 92"]),
]


@pytest.mark.parametrize(("name", "flow", "answers", "outcome", "texts"), SCENARIOS,
                         ids=[s[0] for s in SCENARIOS])
def test_scenario(eng, name, flow, answers, outcome, texts) -> None:
    done = walk(eng, flow, answers)
    assert done.outcome == outcome
    for text in texts:
        assert text in done.all_text, f"{text!r} missing in {name}"
    assert done.reply.events == (FlowOutcome(flow=outcome.split(":")[0], origin=flow,
                                             outcome=outcome.split(":")[1],
                                             department=answers[-1]),)


def test_every_outcome_is_covered_by_a_scenario(eng) -> None:
    every = {f"{f.id}:{o}" for f in eng.flows.flows.values() for o in f.outcomes}
    assert every == {s[3] for s in SCENARIOS}


def test_vulnerable_adult_is_never_sent_to_the_crip(eng) -> None:
    done = walk(eng, "majeur", ["Non", "ne le peut pas", "93"])
    destinataire = done.reply.text.split("<b>Destinataire</b>")[1].split("<b>Comment")[0]
    assert "Procureur" in destinataire and "CRIP" not in destinataire


def test_uncertain_competence_shows_every_candidate(eng) -> None:
    done = walk(eng, "mineur", ["Non", "Oui, des faits", "77"])
    for name in ("Meaux", "Melun", "Fontainebleau"):
        line = next(s for s in done.reply.text.splitlines() if name in s)
        assert "à confirmer" in line
    assert "Aucun moyen de transmission confirmé" in done.reply.text


def test_certain_competence_is_not_marked(eng) -> None:
    done = walk(eng, "majeur", ["Non", "peut se protéger", "Oui, elle", "93"])
    line = next(s for s in done.reply.text.splitlines() if "Bobigny" in s)
    assert "à confirmer" not in line
    assert "01 23 45 67 89" in done.reply.text


def test_without_directory_the_outcome_still_renders() -> None:
    done = walk(engine(directory=False), "mineur", ["Non", "Oui, des faits", "93"])
    assert "Non trouvé dans l'annuaire." in done.reply.text
    assert "Être contacté par un référent" in done.reply.text  # still a next step


def test_outcome_buttons(eng) -> None:
    done = walk(eng, "majeur", ["Oui, danger", "peut se protéger", "Non, ou", "Oui, au sein",
                                "Les deux", "92"])
    data = button_data(done.reply)
    assert {"f:doc:signalement", "f:rec", "e:new:majeur:92", "m:urg", "f:r", "f:x",
            "f:b:signalement-couple", "k:more:violences-conjugales-danger-immediat"} <= set(data)
    assert "f:doc:ip" not in data


@pytest.mark.parametrize(("flow", "answers", "category"), [
    ("ip", ["Non", "Non : danger", "93"], "ip"),
    ("ip", ["Non", "Oui", "93"], "mineur"),
    ("victime", ["Oui", "Agression", "Libéral", "93"], "victime"),
    ("victime", ["Oui", "Violences sexistes", "93"], "vss"),
])
def test_referent_category(eng, flow, answers, category) -> None:
    # the département answered in the procedure travels with the request
    assert f"e:new:{category}:93" in button_data(walk(eng, flow, answers).reply)


def test_every_step_and_outcome_renders_within_limits(eng) -> None:
    for flow in eng.flows.flows.values():
        for node_id in [*flow.steps, *flow.outcomes]:
            node = flow.node(node_id)
            if getattr(node, "type", None) == "goto":
                continue
            for department in (*DEPARTMENTS, "x", None):
                state = FlowState(origin=flow.id, flow=flow.id, step=node_id,
                                  path=(f"{flow.id}:{flow.start}",),
                                  answered_dept=department, home="93")
                reply = eng.render(state)
                assert len(reply.text) <= MESSAGE_MAX_CHARS
                data = button_data(reply)
                assert "m:urg" in data, f"{flow.id}:{node_id} has no emergency button"
                assert all(len(d.encode()) <= CALLBACK_MAX_BYTES for d in data)
                if isinstance(node, Outcome):  # a reminder for patients' flows only
                    assert ("identité du patient" in reply.text) is flow.patient


def test_back_goes_to_the_previous_question_and_forgets_its_answer(eng) -> None:
    state, _ = eng.start("majeur")
    state, _ = eng.handle(state, "f:c:danger-vital:1")
    state, _ = eng.handle(state, "f:c:protection:0")
    assert state.step == "accord"
    state, reply = eng.handle(state, "f:b:accord")
    assert state.step == "protection" and state.path == ("majeur:danger-vital",)
    assert "majeur:protection" not in state.answers
    assert "f:c:protection:0" in button_data(reply)


def test_back_from_an_outcome_and_across_a_goto(eng) -> None:
    done = walk(eng, "ip", ["Non", "Oui", "93"])
    state, _ = eng.handle(done.state, "f:b:signalement")
    assert (state.flow, state.step) == ("mineur", "residence-signalement")
    state, _ = eng.handle(state, "f:b:residence-signalement")
    assert (state.flow, state.step) == ("ip", "infraction")


def test_restart_returns_to_the_start_of_the_original_flow(eng) -> None:
    done = walk(eng, "ip", ["Oui, danger", "93"], home="94")
    state, reply = eng.handle(done.state, "f:r")
    assert (state.flow, state.step, state.path) == ("ip", "urgence", ())
    assert state.home == "94"
    assert reply.events == (FlowStarted("ip"), FlowStep("ip", "urgence", None))


def test_quit_closes_the_flow(eng) -> None:
    state, _ = eng.start("victime")
    new, reply = eng.handle(state, "f:x")
    assert new is None and "m:urg" in button_data(reply)


def test_menu_and_start_by_button(eng) -> None:
    data = button_data(eng.menu())
    assert {"f:s:majeur", "f:s:mineur", "f:s:ip", "f:s:victime", "m:urg"} <= set(data)
    state, _ = eng.handle(None, "f:s:mineur", department="93")
    assert state.flow == "mineur" and state.home == "93"


def test_home_department_is_suggested_first_class(eng) -> None:
    done_state, _ = eng.start("mineur", "93")
    state, _ = eng.handle(done_state, "f:c:danger:1")
    state, reply = eng.handle(state, "f:c:faits:0")
    labels = [b.label for row in reply.buttons for b in row]
    assert "📍 93 Seine-Saint-Denis" in labels and "Autre / hors Île-de-France" in labels


@pytest.mark.parametrize("data", [
    "f:c:protection:0",  # a stale keyboard: not the current step
    "f:c:danger-vital:3",  # out of range
    "f:c:danger-vital:-1",
    "f:c:danger-vital:x",
    "f:c:danger-vital",
    "f:n:danger-vital",  # continue on a question
    "f:d:danger-vital:93",  # a département on a question
    "f:b:danger-vital",  # nothing to go back to
    "f:doc:signalement",  # no document at a step
    "f:rec",
    "f:zz",
    "f:s:inconnu",
    "a:pin:1",
    "",
])
def test_forged_or_stale_data_is_refused(eng, data) -> None:
    state, _ = eng.start("majeur")
    with pytest.raises(StaleAction):
        eng.handle(state, data)


def test_wrong_department_and_documents_not_offered(eng) -> None:
    state, _ = eng.start("mineur")
    state, _ = eng.handle(state, "f:c:danger:1")
    state, _ = eng.handle(state, "f:c:faits:1")
    with pytest.raises(StaleAction):
        eng.handle(state, "f:d:residence-ip:13")
    state, _ = eng.handle(state, "f:d:residence-ip:93")
    with pytest.raises(StaleAction):
        eng.handle(state, "f:doc:signalement")  # an IP outcome offers the IP draft only
    with pytest.raises(StaleAction):
        eng.handle(state, "f:c:faits:0")  # the old question's keyboard


def test_handle_does_not_change_the_callers_state(eng) -> None:
    state, _ = eng.start("majeur")
    before = encode(state)
    eng.handle(state, "f:c:danger-vital:1")
    assert encode(state) == before


@pytest.mark.parametrize("state", [
    None,
    FlowState(origin="majeur", flow="majeur", step="disparue"),  # a step no longer there
    FlowState(origin="majeur", flow="majeur", step="accord", path=("majeur:disparue",)),
    FlowState(origin="disparu", flow="majeur", step="accord"),  # a flow no longer there
    FlowState(origin="majeur", flow="disparu", step="accord"),
])
def test_unusable_state_is_stale(eng, state) -> None:
    with pytest.raises(StaleAction):
        eng.render(state)


@pytest.mark.parametrize("data", [
    {}, {"v": 0}, {"v": 3, "origin": "majeur", "flow": "majeur", "step": "danger-vital"},
    {"v": 2, "origin": "majeur", "flow": "majeur"},  # no step
    {"v": 2, "origin": "majeur", "flow": "majeur", "step": "danger-vital", "path": "x:y"},
    {"v": 2, "origin": "majeur", "flow": "majeur", "step": "danger-vital",
     "answers": {"majeur:danger-vital": [1]}},
    {"v": 1, "state": "not a flow"}, {"v": 1, "state": {"v": 0, "origin": "majeur"}},
    {"v": 1, "state": {"v": 1, "origin": "majeur", "flow": "majeur"}},
])
def test_a_stored_state_of_another_shape_does_not_read(data) -> None:
    """The store returns the user to idle (tested in test_platform_db) when this raises."""
    with pytest.raises(ValueError):
        decode(FlowState, data)


def test_the_previous_version_reads_where_the_physician_was(eng) -> None:
    """Version 1 (the engine's dict in {"state": …}; without "v" before states were typed)
    reads as the same place in the procedure."""
    state, _ = eng.start("victime", "92")
    for data in ("f:c:securite:1", "f:n:urgence", "f:c:nature:0", "f:c:exercice:0",
                 "f:d:departement-liberal:93"):
        state, _ = eng.handle(state, data)
    engine_v1 = {"v": 1, "origin": state.origin, "flow": state.flow, "step": state.step,
                 "path": list(state.path), "answers": dict(state.answers),
                 "department": state.answered_dept, "home": state.home}
    for stored in ({"v": 1, "state": engine_v1, "asked_dept": "93"},
                   {"state": engine_v1, "asked_dept": "93"}):
        read = decode(FlowState, stored)
        assert read == state and read.department == "93"
        assert eng.render(read).text == eng.render(state).text
    assert encode(decode(FlowState, {"state": engine_v1}))["v"] == FlowState.VERSION == 2


def test_resume_restarts_when_the_content_changed(eng) -> None:
    state = FlowState(origin="mineur", flow="mineur", step="disparue")
    new, reply = eng.resume(state)
    assert new.step == "danger" and "mis à jour" in reply.text
    same, _ = eng.resume(new)
    assert same == new


def test_state_survives_json_at_every_step(eng) -> None:
    state, _ = eng.start("victime", "92")
    for data in ("f:c:securite:1", "f:n:urgence", "f:c:nature:0", "f:c:exercice:0"):
        state = through_json(state)
        state, _ = eng.handle(state, data)
    assert state.step == "departement-liberal"
    assert through_json(state) == state


def test_the_department_is_the_answered_one_in_the_region() -> None:
    """What the turn's events take (`Located`): an Île-de-France answer, never « Autre »."""
    at = FlowState(origin="ip", flow="ip", step="urgence")
    assert at.department is None
    assert replace(at, answered_dept="93").department == "93"
    assert replace(at, answered_dept=OTHER_DEPARTMENT).department is None


def test_victim_route_asks_before_it_informs_and_fits_its_recap(eng) -> None:
    """Safety first, then the two choices and the département: no information screen on the
    way (the details are one tap away); the recap fits the answers; no patient footer."""
    done = walk(eng, "victime", ["Oui", "Agression", "Libéral", "93"])
    assert len(done.texts) == 5  # safety, nature, practice, département, outcome
    assert "employeur" not in done.reply.text and "URPS" in done.reply.text
    assert "identité du patient" not in done.reply.text
    assert "0800 288 038" in done.reply.text  # the Ordre's support line on the last screen
    salaried = walk(eng, "victime", ["Oui", "Agression", "Salarié", "93"])
    assert "protection fonctionnelle" in salaried.reply.text
    assert "URPS" not in salaried.reply.text
    vss = walk(eng, "victime", ["Oui", "Violences sexistes", "93"])
    assert len(vss.texts) == 4 and "identité du patient" not in vss.reply.text
    minor = walk(eng, "mineur", ["Non", "Oui, des faits", "93"])
    assert "identité du patient" in minor.reply.text  # patients' flows keep the reminder


@pytest.mark.parametrize(("answers", "text", "data"), [
    ((), "oui", "f:c:danger:0"),
    ((), "Non.", "f:c:danger:1"),
    ((), "2", "f:c:danger:1"),
    ((), "recommencer", "f:r"),
    ((), "retour", None),  # nothing to go back to
    ((), "ma patiente refuse", None),
    (("Non",), "retour", "f:b:faits"),
    (("Non",), "je sais pas", "f:c:faits:2"),
    (("Non", "infraction"), "93", "f:d:residence-signalement:93"),
    (("Non", "infraction"), "seine st denis", "f:d:residence-signalement:93"),
    (("Non", "infraction"), "bobigny", "f:d:residence-signalement:93"),
    (("Non", "infraction"), "autre", "f:d:residence-signalement:x"),
    (("Non", "infraction"), "oui", None),
])
def test_a_typed_answer_is_read_as_a_button_of_the_step(eng: FlowEngine, answers: tuple,
                                                        text: str, data: str | None) -> None:
    state, reply = eng.start("mineur")
    for label in answers:
        pressed = next(b.data for row in reply.buttons for b in row if label in b.label)
        state, reply = eng.handle(state, pressed)
    assert eng.typed(state, text) == data
