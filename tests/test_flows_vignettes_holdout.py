"""Held-out vignettes (tests/data/flows_vignettes_holdout.md) played through the flow engine.

Each vignette was written from the law (legal-review.md first, then legal-brief.md) before the
flow files were read. A row gives the path a physician takes (answers chosen by a piece of the
button label, a département by its code), the outcome the law leads to, the kind of addressee,
texts that must be shown on the way and texts that must not appear in the outcome.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from annuaire.loader import load_directory
from bot.flows.engine import FlowEngine
from bot.flows.loader import load_flows
from tests.flowkit import ANNUAIRE_FIXTURE, ROOT, fake_knowledge, walk

VIGNETTES_FILE = Path(__file__).parent / "data" / "flows_vignettes_holdout.md"

ADULT = "parquet_majeur"
VULNERABLE = "parquet_vulnerable"
COUPLE = "parquet_couple"
ADULT_ORIENTATION = "orientation_majeur"
CHILD = "parquet_et_crip_enfant"
CHILD_URGENT = "parquet_urgent_enfant"
CRIP = "crip_enfant"
ADVICE = "conseil_enfance"
CDOM = "cdom_medecin"

NO_REPORT = ["vous ne signalez pas", "certificat médical initial", "3919", "116 006", "<b>17</b>"]
CHILD_REPORT = ["signalement au procureur de la République", "copie à la CRIP",
                "accord de l'enfant ou des parents n'est pas nécessaire",
                "N'informez jamais l'auteur présumé"]


@pytest.fixture(scope="module")
def eng() -> FlowEngine:
    """The engine as the bot builds it: from a content snapshot holding the loaded sets."""
    knowledge = fake_knowledge()
    flows, findings = load_flows(ROOT, knowledge)
    assert [f for f in findings if f.severity == "error"] == []
    snapshot = {"flows": flows, "annuaire": load_directory(ANNUAIRE_FIXTURE)[0],
                "knowledge": knowledge}
    return FlowEngine.from_snapshot(snapshot)


# (vignette, flow, answers, "flow:outcome", addressee kind, shown on the way, never in outcome)
VIGNETTES = [
    # -- adult victims --------------------------------------------------------------------
    ("H01 woman 87, dementia, neglect at home", "majeur",
     ["Non", "ne le peut pas", "93"], "majeur:alerte-vulnerable", VULNERABLE,
     ["sans attendre l'accord", "226-14 1° et 2°", "procureur de la République",
      "autorité administrative", "devoir déontologique", "R.4127-44 al. 2", "Jamais la CRIP"],
     ["vous ne signalez pas"]),
    ("H02 man 34, psychological state, carer slaps him", "majeur",
     ["Non", "ne le peut pas", "75"], "majeur:alerte-vulnerable", VULNERABLE,
     ["sans attendre l'accord", "procureur de la République", "Jamais la CRIP", "3977"],
     ["vous ne signalez pas"]),
    ("H03 student 24, stranger, consents", "majeur",
     ["Non", "peut se protéger", "Oui, elle est d'accord", "92"], "majeur:signalement-accord",
     ADULT,
     ["Avec son accord", "226-14 2°", "procureur de la République", "porter plainte", "ITT"],
     ["CRIP", "vous ne signalez pas"]),
    ("H04 wife 41, strangled, weapon, emprise, agrees", "majeur",
     ["Oui, danger", "peut se protéger", "Oui, elle est d'accord", "94"],
     "majeur:signalement-accord", ADULT,
     ["<b>17</b> ou le <b>112</b>", "Avec son accord", "226-14 2°", "procureur de la République"],
     ["CRIP", "vous ne signalez pas"]),
    ("H05 PACS partner, knife, danger but no emprise, refuses", "majeur",
     ["Oui, danger", "peut se protéger", "Non, ou", "Oui, au sein", "Non, pas les deux", "93"],
     "majeur:sans-accord", ADULT_ORIENTATION,
     [*NO_REPORT, "<b>17</b> ou le <b>112</b>", "les deux", "emprise"],
     ["CRIP", "226-14 3°", "226-14 2°"]),
    ("H06 man 38, controlling wife, no danger to life, refuses", "majeur",
     ["Non", "peut se protéger", "Non, ou", "Oui, au sein", "Non, pas les deux", "77"],
     "majeur:sans-accord", ADULT_ORIENTATION,
     [*NO_REPORT, "commission VVS", "dossier"],
     ["CRIP", "226-14 3°"]),
    ("H07 ex-husband, violence linked to the past marriage, danger and emprise, refuses",
     "majeur",
     ["Non", "peut se protéger", "Non, ou", "Oui, au sein", "Les deux", "91"],
     "majeur:signalement-couple", COUPLE,
     ["si les violences sont liées à la relation passée", "226-14 3°",
      "procureur de la République seul", "obtenir son accord", "<b>informer</b>",
      "<b>17</b> ou <b>112</b>", "3919"],
     ["vous ne signalez pas"]),
    ("H08 former PACS partner, quarrel unrelated to the past relationship, refuses", "majeur",
     ["Non", "peut se protéger", "Non, ou", "Non", "78"], "majeur:sans-accord",
     ADULT_ORIENTATION,
     [*NO_REPORT, "si les violences sont liées à la relation passée"],
     ["CRIP", "226-14 3°"]),
    ("H09 pregnant woman 31, couple, able, no danger, refuses", "majeur",
     ["Non", "peut se protéger", "Non, ou", "Oui, au sein", "Non, pas les deux", "95"],
     "majeur:sans-accord", ADULT_ORIENTATION,
     [*NO_REPORT, "La grossesse, la maladie ou le handicap ne suffisent pas"],
     ["CRIP", "226-14 3°"]),
    # -- minor victims --------------------------------------------------------------------
    ("M01 girl 4, burns and fracture, presumed author waiting", "mineur",
     ["Oui, danger", "93"], "mineur:signalement-urgent", CHILD_URGENT,
     ["<b>15</b> ou le <b>17</b>", "hospitalisez", "<b>téléphone</b>", "par écrit",
      "copie à la CRIP", "N'informez jamais l'auteur présumé", "accord de l'enfant"],
     ["Informez les parents"]),
    ("M02 boy 9, sexual abuse by his uncle", "mineur",
     ["Non", "Oui, des faits", "92"], "mineur:signalement", CHILD,
     [*CHILD_REPORT, "entre guillemets", "Ne nommez ni ne mettez en cause aucun auteur"],
     ["Informez les parents"]),
    ("M03 girl 15 discloses beatings by stepfather, asks for secrecy", "mineur",
     ["Non", "Oui, des faits", "94"], "mineur:signalement", CHILD,
     [*CHILD_REPORT, "devoir déontologique"],
     ["Informez les parents"]),
    ("M04 girl 6, neglect, no offence", "mineur",
     ["Non", "Non : danger", "93"], "mineur:information-preoccupante", CRIP,
     ["information préoccupante", "<b>CRIP</b>", "Informez les parents",
      "sauf si c'est contraire à l'intérêt de l'enfant", "L.226-2-1 CASF",
      "n'avez pas à prouver le danger"],
     ["Procureur de la République (résidence"]),
    ("M05 boy 5, bruises, physician unsure", "mineur",
     ["Non", "Je ne sais pas", "77"], "mineur:doute", ADVICE,
     ["<b>CRIP</b>", "<b>119</b>", "médecin référent protection de l'enfance", "UAPED",
      "secret partagé", "information préoccupante", "signalement"],
     []),
    ("M06 girl 17, strangled by her boyfriend, refuses", "mineur",
     ["Non", "Oui, des faits", "95"], "mineur:signalement", CHILD,
     CHILD_REPORT,
     ["226-14 3°", "vous ne signalez pas"]),
    # -- entry by the information préoccupante ---------------------------------------------
    ("I01 IP entry, baby 2 months, signs of shaking", "ip",
     ["Oui, danger", "93"], "mineur:signalement-urgent", CHILD_URGENT,
     ["vérifions qu'un signalement", "<b>15</b> ou le <b>17</b>", "hospitalisez",
      "copie à la CRIP"],
     ["Informez les parents"]),
    ("I02 IP entry, girl 13 reveals night visits by the mother's partner", "ip",
     ["Non", "Oui", "92"], "mineur:signalement", CHILD,
     [*CHILD_REPORT, "ni une personne qui pourrait le prévenir"],
     ["Informez les parents"]),
    # -- physicians who are victims ----------------------------------------------------------
    ("V01 physician punched by a patient in the practice", "victime",
     ["Oui", "Agression", "Libéral", "93"], "victime:contact-cdom", CDOM,
     ["certificat médical initial", "ITT", "porter plainte", "lettre au procureur",
      "adresse professionnelle", "accord écrit", "URPS",
      "Observatoire de la sécurité des médecins", "partie civile", "L.4123-1"],
     []),
    ("V02 physician threatened online after a refused certificate", "victime",
     ["Oui", "Agression", "Libéral", "75"], "victime:contact-cdom", CDOM,
     ["porter plainte", "menaces", "Observatoire de la sécurité des médecins",
      "conseil départemental"],
     []),
    ("V03 resident harassed and touched by a senior colleague", "victime",
     ["Oui", "Violences sexistes", "94"], "victime:vss-contact", CDOM,
     ["violences sexistes et sexuelles commises par un médecin", "commission VVS",
      "porter plainte", "protection fonctionnelle", "3919"],
     []),
]


def test_the_table_matches_the_vignette_file() -> None:
    """Every vignette of the markdown file is played, and nothing else."""
    text = VIGNETTES_FILE.read_text(encoding="utf-8")
    ids = [line.split("|")[1].strip() for line in text.splitlines()
           if line.startswith("| ") and line.split("|")[1].strip()[:1] in "HMIV"
           and line.split("|")[1].strip()[1:].isdigit()]
    assert len(ids) == 20
    assert ids == [v[0].split()[0] for v in VIGNETTES]


@pytest.mark.parametrize(("name", "flow", "answers", "outcome", "kind", "shown", "never"),
                         VIGNETTES, ids=[v[0].split()[0] for v in VIGNETTES])
def test_vignette(eng, name, flow, answers, outcome, kind, shown, never) -> None:
    done = walk(eng, flow, answers)
    assert done.outcome == outcome, f"{name}: landed on {done.outcome}"
    flow_id, outcome_id = outcome.split(":")
    node = eng.flows[flow_id].node(outcome_id)
    assert node.addressee == kind
    for text in shown:
        assert text in done.all_text, f"{text!r} missing in {name}"
    for text in never:
        assert text not in done.reply.text, f"{text!r} shown at the outcome of {name}"
    if flow in ("majeur", "victime"):
        # An adult (or a physician) is never sent to the CRIP, which handles minors only.
        assert "crip" not in kind
        if "<b>Destinataire</b>" in done.reply.text:
            block = done.reply.text.split("<b>Destinataire</b>")[1].split("<b>Comment")[0]
            assert "CRIP" not in block and "informations préoccupantes" not in block


def test_minor_in_a_couple_is_steered_away_from_the_adult_path(eng) -> None:
    """M06 from the other side: a physician who opens "Victime majeure" for a 17-year-old
    (couple violence) must be told at once that under 18 the minor path applies. Otherwise the
    adult path ends on "vous ne signalez pas" or on 226-14 3°, which needs a "victime majeure".
    """
    _state, reply = eng.start("majeur")
    assert "moins de 18 ans" in reply.text and "Victime mineure" in reply.text

