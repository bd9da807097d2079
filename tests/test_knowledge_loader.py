"""Knowledge loader: validation findings name the file, the line and the field."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from knowledge.loader import KnowledgeSet, check, load_knowledge
from vvs.content import ContentRegistry, load_all

FIXTURE = Path(__file__).parent / "data" / "knowledge"
TODAY = date(2026, 11, 24)
ENTRY = "knowledge/entries/secret-medical.md"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A writable copy of the fixture content."""
    shutil.copytree(FIXTURE, tmp_path / "content")
    return tmp_path / "content"


def edit(root: Path, name: str, old: str, new: str) -> None:
    path = root / "knowledge" / "entries" / f"{name}.md"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def errors(root: Path) -> list:
    return [f for f in check(root, TODAY) if f.severity == "error"]


def test_fixture_loads_without_errors_and_resolves_links(root: Path) -> None:
    kb, findings = load_knowledge(root, TODAY)
    assert [f for f in findings if f.severity == "error"] == []
    assert sorted(kb.entries) == ["info-preoccupante", "secret-medical", "violences-conjugales"]
    entry = kb.entries["secret-medical"]
    assert entry.sources[0].url == "https://example.org/cp-226-13"
    assert not entry.is_draft and entry.validated_by == "Dr Exemple"
    assert kb.entries["info-preoccupante"].sources[1].needs_review
    assert kb.themes["mineur"] == ("info-preoccupante",)


def test_warnings_for_unlinked_refs_and_review_notes(root: Path) -> None:
    warnings = [f for f in check(root, TODAY) if f.severity == "warning"]
    messages = " ".join(f.message for f in warnings)
    assert "Guide départemental de l'IP" in messages
    assert "Contacts CRIP à confirmer" in messages
    unlinked = next(f for f in warnings if f.field == "sources.ref")
    assert (unlinked.file, unlinked.line) == ("knowledge/entries/info-preoccupante.md", 13)


def test_yaml_syntax_error_reports_the_file_line(root: Path) -> None:
    edit(root, "secret-medical", 'theme: secret', 'theme: [secret')
    [err] = errors(root)
    assert err.file == ENTRY
    assert err.line is not None and 4 <= err.line <= 6
    assert "YAML" in err.message


def test_unknown_related_id(root: Path) -> None:
    edit(root, "secret-medical", "related: [info-preoccupante]", "related: [nexiste-pas]")
    [err] = errors(root)
    assert (err.file, err.line, err.field) == (ENTRY, 14, "related")
    assert "nexiste-pas" in err.message


def test_duplicate_id_and_id_not_matching_file_name(root: Path) -> None:
    edit(root, "violences-conjugales", "id: violences-conjugales", "id: secret-medical")
    found = errors(root)
    assert any(f.field == "id" and "double" in f.message for f in found)
    assert any(f.field == "id" and "nom du fichier" in f.message for f in found)


def test_missing_sources(root: Path) -> None:
    edit(root, "secret-medical", 'sources:\n  - ref: "Code pénal, art. 226-13"\n', "")
    found = errors(root)
    assert any(f.field == "sources" and "manquant" in f.message for f in found)


def test_empty_sources(root: Path) -> None:
    edit(root, "secret-medical", 'sources:\n  - ref: "Code pénal, art. 226-13"\n',
         "sources: []\n")
    [err] = errors(root)
    assert (err.field, err.line) == ("sources", 12)


@pytest.mark.parametrize(("old", "new", "field"), [
    ("theme: secret", "theme: autre", "theme"),
    ("status: validated", "status: relu", "status"),
    ('validated_by: "Dr Exemple"', "validated_by: null", "validated_by"),
    ("reviewed_on: 2026-11-01", "reviewed_on: hier", "reviewed_on"),
    ('title: "Le secret médical"', "title: 12", "title"),
    ("keywords: [secret professionnel", "keywords: [{a: b}, secret professionnel", "keywords"),
    ("id: secret-medical", "id: secret-medical\ncolor: blue", "color"),
    ('  - ref: "Code pénal, art. 226-13"', '  - ref: "Code pénal, art. 226-13"\n'
     "    url: https://www.legifrance.gouv.fr/codes/article_lc/X", "sources.url"),
])
def test_field_errors(root: Path, old: str, new: str, field: str) -> None:
    edit(root, "secret-medical", old, new)
    found = errors(root)
    assert [f.field for f in found] == [field], found
    assert found[0].file == ENTRY and found[0].line is not None


def test_summary_and_body_length_limits(root: Path) -> None:
    edit(root, "secret-medical", "  - Il s'impose même envers la famille.",
         "  - " + "x" * 700)
    edit(root, "secret-medical", "Le secret médical est général", "y" * 2600)
    fields = sorted(f.field for f in errors(root))
    assert fields == ["details", "summary"]


def test_old_review_date_is_a_warning(root: Path) -> None:
    edit(root, "secret-medical", "reviewed_on: 2026-11-01", "reviewed_on: 2024-01-01")
    assert errors(root) == []
    stale = [f for f in check(root, TODAY) if f.field == "reviewed_on"]
    assert stale and stale[0].severity == "warning" and "à revoir" in stale[0].message


def test_missing_front_matter(root: Path) -> None:
    path = root / ENTRY
    path.write_text("Juste du texte\n", encoding="utf-8")
    [err] = errors(root)
    assert (err.file, err.line) == (ENTRY, 1)


def test_links_file_errors_are_reported(root: Path) -> None:
    (root / "knowledge" / "links.yaml").write_text('"Code pénal, art. 226-13": pas-un-lien\n',
                                                   encoding="utf-8")
    found = errors(root)
    assert [(f.file, f.line) for f in found] == [("knowledge/links.yaml", 1)]


def test_registry_refuses_invalid_content_and_keeps_serving(root: Path) -> None:
    registry = ContentRegistry(root, [KnowledgeSet(TODAY)])
    first = registry.load_initial()
    edit(root, "secret-medical", "related: [info-preoccupante]", "related: [inconnu]")
    result = registry.reload()
    assert not result.ok and registry.current is first
    snapshot, _findings = load_all(FIXTURE, [KnowledgeSet(TODAY)])
    assert snapshot is not None and "secret-medical" in snapshot["knowledge"].entries


def test_snapshot_is_immutable(root: Path) -> None:
    kb, _findings = load_knowledge(root, TODAY)
    with pytest.raises(TypeError):
        kb.entries["x"] = kb.entries["secret-medical"]  # type: ignore[index]
    with pytest.raises(AttributeError):
        kb.entries["secret-medical"].title = "autre"  # type: ignore[misc]
