"""Flow loader: the real files validate; broken copies fail with the file and the step."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from types import MappingProxyType

import pytest

from bot.flows.loader import SUBDIR, FlowSet, graph_mermaid, load_flows, register
from bot.flows.model import french_hash
from tests.flowkit import ROOT, fake_knowledge
from vvs.content import ContentError, load_all

DOCS = ROOT / "docs" / "flows"


def errors(findings: list[ContentError]) -> list[str]:
    return [str(f) for f in findings if f.severity == "error"]


def test_real_flows_are_valid() -> None:
    flows, findings = load_flows(ROOT, fake_knowledge())
    assert findings == []
    assert set(flows.flows) == {"majeur", "mineur", "ip", "victime"}


def test_missing_knowledge_is_a_warning_not_an_error() -> None:
    _flows, findings = FlowSet().load(ROOT, MappingProxyType({"knowledge": None}))
    assert errors(findings) == []
    assert any("non vérifiées" in f.message and f.severity == "warning" for f in findings)


def test_flowset_in_the_registry_sees_the_knowledge_snapshot() -> None:
    class Knowledge:
        name, subdir = "knowledge", "knowledge/entries"

        def load(self, root, loaded):
            return fake_knowledge(), []

    snapshot, findings = load_all(ROOT, [Knowledge(), FlowSet()])
    assert findings == [] and snapshot is not None
    assert "majeur" in snapshot["flows"]


@pytest.fixture
def copy(tmp_path: Path):
    """A writable copy of the flow files; `edit(name, old, new)` changes one of them."""
    shutil.copytree(ROOT / SUBDIR, tmp_path / SUBDIR)

    def edit(name: str, old: str, new: str) -> list[str]:
        path = tmp_path / SUBDIR / f"{name}.yaml"
        text = path.read_text(encoding="utf-8")
        assert old in text, old
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        return errors(load_flows(tmp_path, fake_knowledge())[1])

    return edit


def line_of(name: str, start: str) -> int:
    """1-based line of the first line of the real file that starts with `start`."""
    lines = (ROOT / SUBDIR / f"{name}.yaml").read_text(encoding="utf-8").splitlines()
    return next(i for i, text in enumerate(lines, 1) if text.startswith(start))


def has(found: list[str], file: str, *parts: str) -> bool:
    return any(f.startswith(f"{SUBDIR}/{file}.yaml:") and all(p in f for p in parts)
               for f in found)


def test_unknown_link(copy) -> None:
    found = copy("majeur", "next: lieu-accord}", "next: nulle-part}")
    assert has(found, "majeur", "étape « accord »", "« nulle-part » inconnu")
    assert has(found, "majeur", "« lieu-accord » inaccessible")


def test_unreachable_step(copy) -> None:
    english = f"    en: {{source: {french_hash({'text': 'perdue'})}, text: lost}}\n"
    found = copy("mineur", "outcomes:\n", "  - id: orpheline\n    type: info\n"
                 f"    text: perdue\n    next: doute\n{english}\noutcomes:\n")
    line = line_of("mineur", "outcomes:")  # the new step takes the place of "outcomes:"
    assert found == [f"{SUBDIR}/mineur.yaml:{line} [id]: étape « orpheline » inaccessible "
                     "depuis « danger »"]


def test_cycle_without_exit(copy) -> None:
    copy("victime", "    next: nature\n", "    next: boucle\n")  # urgence → boucle
    found = copy("victime", "  - id: nature", "  - id: boucle\n    type: info\n"
                 "    text: encore\n    next: urgence\n\n  - id: nature")
    assert has(found, "victime", "étape « urgence »", "aucun chemin ne mène à une issue")
    assert has(found, "victime", "étape « boucle »", "boucle sans sortie")


def test_unknown_knowledge_id(copy) -> None:
    found = copy("ip", "basis: [information-preoccupante,", "basis: [fiche-imaginaire,")
    assert has(found, "ip", "issue « transmettre-ip »", "« fiche-imaginaire » inconnue")


def test_outcome_without_basis(copy) -> None:
    found = copy("ip", "    basis: [information-preoccupante, information-des-parents, crip, "
                 "suites-du-signalement, protection-du-signalant]\n", "")
    assert has(found, "ip", "issue « transmettre-ip »", "base légale manquante")


def test_unknown_resolver_and_document(copy) -> None:
    copy("majeur", "addressee: orientation_majeur", "addressee: orientation_magique")
    found = copy("majeur", "documents: [record]\n    referent: true\n",
                 "documents: [fax]\n    referent: true\n")
    assert has(found, "majeur", "issue « sans-accord »", "« orientation_magique » inconnue")
    assert has(found, "majeur", "issue « sans-accord »", "document « fax » inconnu")


def test_draft_needs_a_legal_mention(copy) -> None:
    found = copy("ip", "    mention: |\n      Articles L.226-2-1", "    write2: |\n      Articles")
    assert has(found, "ip", "champ inconnu « write2 »")
    assert has(found, "ip", "issue « transmettre-ip »", "exige une mention")


def test_goto_to_an_unknown_step(copy) -> None:
    found = copy("ip", "goto: mineur/urgence", "goto: mineur/disparue")
    assert has(found, "ip", "étape « vers-urgence »", "« disparue » inconnue",
               "parcours « mineur »")


def test_shape_errors_name_the_line_and_field(copy) -> None:
    copy("majeur", "  - id: urgence\n    type: info\n    text: |",
         "  - id: urgence\n    type: info\n    texte: |")
    found = copy("majeur", "    referent: true\n    en:", "    referent: oui\n    en:")
    assert has(found, "majeur", "[texte]", "étape « urgence » : champ inconnu « texte »")
    assert has(found, "majeur", "[text]", "étape « urgence » : texte manquant")
    assert has(found, "majeur", "[referent]", "issue « alerte-vulnerable »", "true ou false")
    line = next(f for f in found if "champ inconnu « texte »" in f)
    expected = line_of("majeur", "  - id: urgence") + 2
    assert line.startswith(f"{SUBDIR}/majeur.yaml:{expected} ")


def test_wrong_step_type_and_file_id(copy) -> None:
    copy("mineur", "    type: department\n    text: \"Dans quel département l'enfant réside-t-il"
         " habituellement ?\"\n    next: signalement-urgent",
         "    type: formulaire\n    text: x\n    next: signalement-urgent")
    found = copy("victime", "id: victime", "id: victim")
    assert has(found, "mineur", "type « formulaire » inconnu")
    assert has(found, "victime", "doit être le nom du fichier")


def test_invalid_yaml(copy) -> None:
    found = copy("ip", "steps:\n", "steps: [\n")
    assert has(found, "ip", "YAML invalide")


@pytest.mark.parametrize("flow_id", ["majeur", "mineur", "ip", "victime"])
def test_committed_graph_matches_a_fresh_rendering(flow_id: str) -> None:
    flows, _ = load_flows(ROOT, None)
    committed = (DOCS / f"{flow_id}.mmd").read_text(encoding="utf-8")
    assert committed == graph_mermaid(flows[flow_id]), (
        f"regenerate with: vvs-admin flows graph {flow_id} -o docs/flows/{flow_id}.mmd")


def test_graph_shows_choices_and_jumps() -> None:
    flows, _ = load_flows(ROOT, None)
    text = graph_mermaid(flows["ip"])
    assert text.startswith("flowchart TD\n")
    assert 'ip_urgence -->|"Non"| ip_infraction' in text
    assert "ip_vers_urgence -.-> mineur_urgence" in text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("--content-dir")
    register(parser.add_subparsers(dest="group", required=True))
    return parser


def test_admin_check_and_graph(capsys, tmp_path: Path) -> None:
    # The real knowledge base: every entry the flows cite must exist.
    args = _parser().parse_args(["--content-dir", str(ROOT), "flows", "check"])
    assert args.func(args) == 0
    assert "0 erreur(s)" in capsys.readouterr().out
    out = tmp_path / "ip.mmd"
    args = _parser().parse_args(["flows", "graph", "ip", "-o", str(out)])
    assert args.func(args) == 0
    assert out.read_text(encoding="utf-8") == (DOCS / "ip.mmd").read_text(encoding="utf-8")
    args = _parser().parse_args(["flows", "graph", "inconnu"])
    assert args.func(args) == 1


def test_admin_check_fails_on_a_broken_copy(copy, capsys, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.flows.loader._knowledge_snapshot", lambda root: fake_knowledge())
    copy("majeur", "next: lieu-accord}", "next: nulle-part}")
    args = _parser().parse_args(["--content-dir", str(tmp_path), "flows", "check"])
    assert args.func(args) == 1
    assert "nulle-part" in capsys.readouterr().out


def test_information_preoccupante_draft_only_goes_to_the_crip(copy) -> None:
    """An adult's outcome offering the CRIP's template is refused: the CRIP handles minors."""
    found = copy("majeur", "documents: [signalement, alerte-administrative, record]",
                 "documents: [signalement, ip, record]")
    assert has(found, "majeur", "issue « alerte-vulnerable »", "ne va qu'à la CRIP")


# -- English: every shown text translated, from the French it says it translates ---------
def en_block(name: str, node_id: str) -> str:
    """The exact `en:` block of one step or outcome of the real file."""
    lines = (ROOT / SUBDIR / f"{name}.yaml").read_text(encoding="utf-8").split("\n")
    start = lines.index(f"  - id: {node_id}")
    first = next(i for i in range(start, len(lines)) if lines[i] == "    en:")
    end = first + 1
    while end < len(lines) and (lines[end].startswith("      ") or (
            not lines[end] and end + 1 < len(lines) and lines[end + 1].startswith("      "))):
        end += 1
    return "\n".join(lines[first:end]) + "\n"


def test_a_text_without_english_is_refused_at_its_line(copy) -> None:
    found = copy("ip", en_block("ip", "residence"), "")
    assert found == [f"{SUBDIR}/ip.yaml:{line_of('ip', '  - id: residence')} [en]: "
                     "étape « residence » : traduction anglaise manquante (en)"]
    found = copy("ip", 'title_en: "Information préoccupante (child protection)"\n', "")
    assert has(found, "ip", "[title_en]", "parcours : texte manquant")


def test_an_english_text_whose_french_changed_is_flagged_with_the_new_hash(copy) -> None:
    old = "\"Dans quel département l'enfant réside-t-il habituellement ?\"\n    next: " \
          "transmettre-ip"
    new_french = "Où vit l'enfant ?"
    found = copy("ip", old, f'"{new_french}"\n    next: transmettre-ip')
    recorded = en_block("ip", "residence").split()[2]
    line = line_of("ip", "  - id: residence") + 5  # id, type, text, next, en, source
    assert found == [f"{SUBDIR}/ip.yaml:{line} [en.source]: étape « residence », en : le "
                     f"texte français a changé depuis cette traduction (source {recorded}) : "
                     "mettez l'anglais à jour, puis écrivez source: "
                     + french_hash({"text": new_french})]


def test_english_choices_and_fields_must_match_the_french(copy) -> None:
    copy("ip", '        - "I don\'t know"\n', "")
    copy("ip", "      send: |\n        Directly to the CRIP", "      sent: |\n        Directly")
    found = copy("ip", "goto: mineur/urgence\n", "goto: mineur/urgence\n    en: {text: x}\n")
    assert has(found, "ip", "[en.choices]", "étape « infraction », en : 3 libellé(s) "
               "attendu(s), dans l'ordre des choix (2 trouvé(s))")
    assert has(found, "ip", "[en.send]", "issue « transmettre-ip », en : texte manquant")
    assert has(found, "ip", "[sent]", "champ inconnu « sent »")
    assert has(found, "ip", "[en]", "étape « vers-urgence » : un goto n'a rien à traduire")


def test_english_of_a_field_the_french_does_not_have(copy) -> None:
    found = copy("ip", "    send: |\n      Directement à la CRIP, par écrit, jamais par "
                 "l'intermédiaire de la famille.", "    notes: |\n      Directement")
    assert has(found, "ip", "[en.send]", "« send » n'a pas de texte français à traduire")
    assert has(found, "ip", "[en.source]", "issue « transmettre-ip »", "a changé")


def test_validated_english_is_tied_to_the_english_it_validated(copy, tmp_path: Path) -> None:
    flows, _ = load_flows(ROOT, fake_knowledge())
    english = flows["ip"].english_hash()
    anchor = 'title_en: "Information préoccupante (child protection)"\n'
    validated = f"en_validated: {{by: Dr Test, date: 2026-01-15, english: {english}}}\n"
    assert copy("ip", anchor, anchor + validated) == []
    flow = load_flows(tmp_path, fake_knowledge())[0]["ip"]
    assert flow.en_validated is not None and flow.en_validated.by == "Dr Test"
    assert not flow.unvalidated_in("en")
    found = copy("ip", "Keep a copy. The CRIP", "Keep copies. The CRIP")
    assert has(found, "ip", "[en_validated.english]", "l'anglais a changé depuis sa validation")
    assert load_flows(tmp_path, fake_knowledge())[0]["ip"].en_validated is None


def test_admin_hash_lists_each_source_and_the_hash_to_write(copy, capsys,
                                                           tmp_path: Path) -> None:
    args = _parser().parse_args(["--content-dir", str(ROOT), "flows", "hash"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "ip.yaml:" in out and "victime.yaml" in out and "à traduire" not in out
    assert out.count("en_validated.english: ") == 4
    moved = "Où vit l'enfant ?"
    copy("ip", "\"Dans quel département l'enfant réside-t-il habituellement ?\"\n    next: "
         "transmettre-ip", f"\"{moved}\"\n    next: transmettre-ip")
    args = _parser().parse_args(["--content-dir", str(tmp_path), "flows", "hash", "ip"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert f"residence source: {en_block('ip', 'residence').split()[2]} à traduire de " \
           f"nouveau → {french_hash({'text': moved})}" in out
    args = _parser().parse_args(["flows", "hash", "inconnu"])
    assert args.func(args) == 1
