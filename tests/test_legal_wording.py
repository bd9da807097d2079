"""Legal wording of the flows and knowledge entries, checked against the shared documents
(legal-review.md overrides legal-brief.md). Each test names the statement it protects."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from knowledge.loader import split_front_matter
from vvs.yamlfile import load_file, loads

ROOT = Path(__file__).resolve().parent.parent
FLOWS = sorted((ROOT / "bot" / "flows" / "data").glob("*.yaml"))
ENTRIES = sorted((ROOT / "knowledge" / "entries").glob("*.md"))
# Fields that are not statements to the physician: identifiers, button labels, titles, the
# formal citation put in documents (`mention`), sample questions, keywords, reviewers' notes.
NOT_STATEMENTS = {"id", "label", "title", "mention", "questions", "keywords", "review_notes",
                  "next", "goto", "addressee", "basis", "documents", "type", "category",
                  "start", "related", "sources", "theme", "status", "validated_by",
                  "reviewed_on", "referent"}


def _strings(node: object, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key not in NOT_STATEMENTS:
                yield from _strings(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            ident = value.get("id") if isinstance(value, dict) else None
            yield from _strings(value, f"{where}[{ident or i}]")
    elif isinstance(node, str):
        yield where, node


def statements() -> Iterator[tuple[str, str]]:
    """(where, one line of text shown to physicians) for every flow and entry."""
    for path in FLOWS:
        for where, text in _strings(load_file(path), path.stem):
            for line in text.splitlines():
                yield where, line
    for path in ENTRIES:
        front, body, _line = split_front_matter(path.read_text(encoding="utf-8"))
        for where, text in _strings(loads(front), path.stem):
            for line in text.splitlines():
                yield where, line
        for line in body.splitlines():
            yield f"{path.stem}.details", line


def plain(text: str) -> str:
    return re.sub(r"\*\*|«|»", "", text).lower()


def flow_outcome(flow: str, outcome: str) -> dict:
    data = load_file(ROOT / "bot" / "flows" / "data" / f"{flow}.yaml")
    return next(o for o in data["outcomes"] if o["id"] == outcome)


def entry_text(entry_id: str) -> str:
    return (ROOT / "knowledge" / "entries" / f"{entry_id}.md").read_text(encoding="utf-8")


# -- R.4127-44 al. 2: the duty to alert always carries its conscience clause ---------------
# legal-review A1: « il alerte les autorités judiciaires ou administratives sauf
# circonstances particulières qu'il apprécie en conscience ».
DUTY = re.compile(
    r"devoir d'alert|alerter (est|reste) (alors |aussi )?(un|votre) devoir|\bil alerte\b"
    r"|\bvous alertez\b|\bdevez alerter\b|devoir déontologique(?! de protéger)"
    # the sanction for not alerting states the duty too
    r"|sanction disciplinaire est possible|disciplinaire\W*\(r\.4127-44")
QUALIFIER = re.compile(r"sauf circonstances particulières\b.*\ben conscience\b")


def test_the_duty_to_alert_is_stated_with_its_conscience_clause() -> None:
    found = [(where, line) for where, line in statements() if DUTY.search(plain(line))]
    assert len(found) > 15  # the detector does see the statements
    bare = [f"{where}: {line.strip()[:160]}" for where, line in found
            if not QUALIFIER.search(plain(line))]
    assert not bare, "R.4127-44 al. 2 stated without « sauf circonstances particulières " \
        "qu'il apprécie en conscience »:\n" + "\n".join(bare)


@pytest.mark.parametrize("line", [
    "Pour un mineur, alerter est un **devoir** (R.4127-44 al. 2).",
    "C'est un devoir déontologique, sauf circonstances particulières que vous devez expliquer.",
    "Les deux voies remplissent votre devoir d'alerte (R.4127-44).",
    "Mais une sanction disciplinaire est possible pour un mineur (R.4127-44).",
    "**Disciplinaire** (R.4127-44) : oui, si vous n'avez pas alerté sans raison à expliquer.",
])
def test_the_detector_flags_a_bare_duty(line: str) -> None:
    assert DUTY.search(plain(line)) and not QUALIFIER.search(plain(line))


# -- majeur, sans-accord: 223-6 is a duty to help, not a duty to report -------------------
def test_refusing_adult_able_to_protect_herself_gets_the_223_6_duty_not_a_report() -> None:
    outcome = flow_outcome("majeur", "sans-accord")
    assert ("En cas de péril imminent pour sa vie, vous devez lui porter secours ou appeler "
            "les secours (17, 15, 112) (art. 223-6). Ce n'est pas une obligation de "
            "signaler : sans son accord, hors 226-14 1° et 3°, vous ne signalez pas.") \
        in outcome["now"].replace("**", "")
    assert "justifie toujours" not in outcome["now"]
    assert "non-assistance-personne-en-danger" in outcome["basis"]


# -- mineur: which parquet (legal-brief §2.2) -------------------------------------------------
@pytest.mark.parametrize("outcome", ["signalement", "signalement-urgent"])
def test_minor_signalement_names_the_parquet_of_the_childs_residence(outcome: str) -> None:
    send = flow_outcome("mineur", outcome)["send"]
    assert "du lieu de résidence habituelle de l'enfant ; en cas de doute, la commission VVS " \
        "ou le parquet réoriente" in send


# -- entries ---------------------------------------------------------------------------------
def test_secrecy_exceptions_include_223_6() -> None:
    """legal-brief §1.6 and §0.5: 223-6 applies to everyone, secrecy does not exempt."""
    for entry_id in ("secret-professionnel", "derogations-secret"):
        text = entry_text(entry_id)
        assert 'ref: "Code pénal, art. 223-6"' in text
        assert "non-assistance-personne-en-danger" in text
    summary = entry_text("secret-professionnel").split("summary:")[1].split("sources:")[0]
    assert "226-14" in summary and "223-6" in summary


def test_couple_of_132_80_in_the_sexual_violence_entry() -> None:
    """legal-review A9: concubin and PACS partner; a former partner only when the violence is
    linked to the former relationship."""
    text = entry_text("violences-sexuelles-majeur")
    assert "ex-conjoint" not in text
    assert "concubin ou partenaire de PACS" in text
    assert "seulement si les violences sont liées à la relation passée" in text


def test_vss_between_professionals_treating_physician_and_sourced_figures() -> None:
    """legal-review A8 and legal-brief §1.2: facts learned as her physician stay secret; only
    226-14 routes, never the management or the Ordre. Figures: brief §1.11 only."""
    text = entry_text("vss-entre-professionnels")
    body = text.split("\n---\n", 1)[1]
    assert "49 %" not in body and "3 %" not in body
    assert "29 %" in body and "26 %" in body
    assert "**Si vous êtes son médecin.**" in body
    assert "avec son accord, signalement au procureur seulement (226-14 2°)" in body
    assert "seulement si elle ne peut pas se protéger" in body and "(3°)" in body
    assert "ne transmettez pas ces faits à la direction ni à l'Ordre" in body


def test_ban_on_leaving_the_territory_is_quoted_with_its_conditions_and_marked() -> None:
    """375-5 C. civ. is in neither shared document: the alinéa is quoted with its conditions,
    and shown to physicians as to be re-checked; the entry stays a draft (banner)."""
    text = entry_text("mutilations-sexuelles")
    front, body = text.split("\n---\n", 1)
    assert "status: draft" in front and "375-5" in front.split("review_notes:")[1]
    assert "Art. 375-5 du code civil (texte à revérifier sur Légifrance) : « En cas d'urgence" \
        in body
    for condition in ("des éléments sérieux laissant supposer que l'enfant s'apprête à "
                      "quitter le territoire national dans des conditions qui le mettraient "
                      "en danger", "ne prend pas de mesure pour l'en protéger",
                      "dans les huit jours le juge compétent", "ne peut excéder deux mois"):
        assert condition in body, condition
    assert "**À vérifier.**" in body and "est à valider" in front.split("summary:")[1]


def test_online_and_video_complaints_are_marked_to_recheck() -> None:
    body = entry_text("medecin-victime-plainte").split("\n---\n", 1)[1]
    assert "seulement pour une atteinte aux biens" not in body
    assert "En ligne ou par visioconférence : à revérifier dans le code de procédure pénale " \
        "en vigueur. Pour des violences, portez plainte au commissariat, à la gendarmerie ou " \
        "par courrier." in body


def test_l226_5_is_always_to_be_rechecked() -> None:
    """legal-review §C: whether the 3-month feedback sits in L.226-5 CASF is not verified;
    the review overrides any earlier « vérifié »."""
    cited = 0
    for path in ENTRIES:
        text = path.read_text(encoding="utf-8")
        front, body = text.split("\n---\n", 1)
        for line in body.splitlines():
            if "L.226-5" in line:
                cited += 1
                assert "à revérifier sur Légifrance" in line, path.stem
        notes = front.split("review_notes:")[1] if "review_notes:" in front else ""
        for sentence in re.split(r"(?<=\.) ", notes):
            if "226-5" in sentence:
                assert "revérifier" in sentence or "[U]" in sentence, (path.stem, sentence)
                assert not re.search(r"\b(vérifié|confirmé) le", sentence) \
                    or "prévaut" in sentence, (path.stem, sentence)
    assert cited >= 2
    links = (ROOT / "knowledge" / "links.yaml").read_text(encoding="utf-8")
    row = links.split('"Code de l\'action sociale et des familles, art. L.226-5":')[1]
    assert "note: \"numéro d'article à revérifier sur Légifrance\"" in row.split('\n"')[0]
