"""Directory loader: validation errors with file, line and field; warnings; registry."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from annuaire.loader import AnnuaireSet, in_france, load_directory, valid_phone
from vvs.content import load_all

FIXTURE = Path(__file__).parent / "data" / "annuaire"

GOOD = """\
- id: sample
  name: Exemple
  kind: parquet
  department: "93"
  serves: ["93", "93066"]
  channels:
  - type: phone
    value: 01 23 45 67 89
    uses: [signalement-mineur]
    source: test
  - type: email
    value: a@example.org
    uses: [information]
    source: test
  address: 1 rue X
  lat: 48.9
  lon: 2.4
  source: test
  status: to_verify
"""


def _root(tmp_path: Path, body: str, extra: dict[str, str] | None = None) -> Path:
    data = tmp_path / "annuaire" / "data"
    data.mkdir(parents=True)
    (data / "a.yaml").write_text("entries:\n" + body, encoding="utf-8")
    for name, text in (extra or {}).items():
        (data / name).write_text("entries:\n" + text, encoding="utf-8")
    return tmp_path


def _errors(root: Path) -> list:
    directory, findings = load_directory(root)
    errors = [f for f in findings if f.severity == "error"]
    assert directory is None and errors
    return errors


def test_fixture_loads_with_warnings_only() -> None:
    directory, findings = load_directory(FIXTURE)
    assert directory is not None
    assert len(directory) == 13
    assert {f.severity for f in findings} == {"warning"}
    warned = {(f.file, f.line) for f in findings if "coordonnées à confirmer" in f.message}
    assert ("annuaire/data/idf.yaml", 3) in warned  # parquet-meaux has no phone


def test_good_entry_parses_every_field(tmp_path: Path) -> None:
    directory, findings = load_directory(_root(tmp_path, GOOD))
    assert directory is not None and not findings
    entry = directory.get("sample")
    assert entry.serves == ("93", "93066") and entry.phone == "01 23 45 67 89"
    phone, email = entry.channels
    assert phone.uses == ("signalement-mineur",) and email.uses == ("information",)
    assert entry.channels_for(frozenset({"signalement-mineur"})) == (phone,)
    assert entry.lat == 48.9 and entry.file == "annuaire/data/a.yaml" and entry.line == 2


@pytest.mark.parametrize(("old", "new", "field", "line"), [
    ("kind: parquet", "kind: tribunal", "kind", 4),
    ('department: "93"', "department: 93", "department", 5),
    ('department: "93"', 'department: "99"', "department", 5),
    ('serves: ["93", "93066"]', 'serves: ["93", "99999"]', "serves", 6),
    ('serves: ["93", "93066"]', 'serves: ["9"]', "serves", 6),
    ("lat: 48.9", "lat: 38.9", "lat", 17),
    ("value: 01 23 45 67 89", "value: 01 23 45 67", "channels[1].value", 9),
    ("value: 01 23 45 67 89", "value: 1234567", "channels[1].value", 9),
    ("value: a@example.org", "value: a@example", "channels[2].value", 13),
    ("uses: [signalement-mineur]", "uses: []", "channels[1].uses", 10),
    ("uses: [information]", "uses: [standard]", "channels[2].uses", 14),
    ("    uses: [information]\n", "", "channels[2].uses", 12),
    ("status: to_verify", "status: verified", "status", 20),
    ("id: sample", "id: Sample_1", "id", 2),
    ("  source: test\n  status", "  source: null\n  status", "source", 19),
    ("address: 1 rue X", "address: 1 rue X (localisation seulement)", "address", 16),
])
def test_invalid_values_name_file_line_and_field(tmp_path: Path, old: str, new: str,
                                                 field: str, line: int) -> None:
    (error,) = _errors(_root(tmp_path, GOOD.replace(old, new)))
    assert (error.file, error.line, error.field) == ("annuaire/data/a.yaml", line, field)


def test_bad_url_and_verified_with_date(tmp_path: Path) -> None:
    body = GOOD + "  website: www.example.org\n"
    (error,) = _errors(_root(tmp_path, body))
    assert error.field == "website"
    ok = GOOD.replace("status: to_verify", "status: verified\n  verified_on: 2025-02-01")
    directory, _ = load_directory(_root(tmp_path / "b", ok))
    assert directory is not None and directory.get("sample").verified_on.isoformat() \
        == "2025-02-01"


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    (error,) = _errors(_root(tmp_path, GOOD, {"b.yaml": GOOD}))
    assert error.file == "annuaire/data/b.yaml" and error.field == "id"
    assert "annuaire/data/a.yaml:2" in error.message


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    (error,) = _errors(_root(tmp_path, GOOD + "  notes: [unclosed\n"))
    assert error.line is not None and error.line >= 14


def test_missing_contacts_are_warnings(tmp_path: Path) -> None:
    body = textwrap.dedent("""\
    - id: bare
      name: Sans coordonnées
      kind: crip
      department: "92"
      source: test
      status: to_verify
    """)
    directory, findings = load_directory(_root(tmp_path, body))
    assert directory is not None
    (warning,) = findings
    assert warning.severity == "warning" and warning.line == 2
    assert "phone, email, address" in warning.message


@pytest.mark.parametrize(("phone", "ok"), [
    ("17", True), ("3919", True), ("116 006", True), ("0800 288 038", True),
    ("01.42.76.26.17", True), ("+33 1 80 52 33 76", True), ("1", False), ("1234567", False),
    ("01 23 45", False), ("+33 01 80 52 33 76", False), ("01 23 45 67 8a", False),
])
def test_phone_formats(phone: str, ok: bool) -> None:
    assert valid_phone(phone) is ok


def test_france_range() -> None:
    assert in_france(48.85, 2.35) and in_france(-20.88, 55.45)  # Paris, La Réunion
    assert not in_france(51.5074, -0.1278)  # London


def test_annuaire_set_in_the_content_registry(tmp_path: Path) -> None:
    snapshot, findings = load_all(FIXTURE, [AnnuaireSet()])
    assert snapshot is not None and len(snapshot["annuaire"]) == 13
    broken = tmp_path / "root"
    shutil.copytree(FIXTURE, broken)
    path = broken / "annuaire" / "data" / "national.yaml"
    path.write_text(path.read_text().replace("ligne-nationale", "hotline", 1))
    snapshot, findings = load_all(broken, [AnnuaireSet()])
    assert snapshot is None
    assert any(f.field == "kind" and f.line == 4 for f in findings)


def test_former_phone_and_email_fields_are_refused_with_what_to_write(tmp_path: Path) -> None:
    """A flat `phone:` says nothing of what the number is for: the file must say it."""
    body = GOOD.replace("  channels:\n", "  phone: 01 23 45 67 89\n  channels:\n")
    (error,) = _errors(_root(tmp_path, body))
    assert error.field == "phone" and "channels" in error.message


def test_channel_dates_and_instructions(tmp_path: Path) -> None:
    dated = GOOD.replace("    uses: [information]\n",
                         "    uses: [information]\n    source_date: \"2015\"\n"
                         "    instructions: Objet « x »\n")
    directory, _ = load_directory(_root(tmp_path, dated))
    email = directory.get("sample").channels[1]
    assert email.source_year == 2015 and email.instructions == "Objet « x »"
    bad = GOOD.replace("    uses: [information]\n",
                       "    uses: [information]\n    source_date: \"sept. 2015\"\n")
    (error,) = _errors(_root(tmp_path / "b", bad))
    assert error.field == "channels[2].source_date" and error.line == 15


def test_every_bundled_channel_has_a_use_and_no_internal_note_is_shown() -> None:
    """The shipped directory: each channel says what it is for; nothing a physician reads
    carries an internal note."""
    root = Path(__file__).resolve().parent.parent
    directory, findings = load_directory(root)
    assert directory is not None, [str(f) for f in findings if f.severity == "error"]
    for entry in directory.entries:
        for channel in entry.channels:
            assert channel.uses and channel.source, (entry.id, channel.value)
        shown = " ".join(filter(None, (entry.name, entry.address, entry.hours, entry.caution,
                                       *(c.instructions or "" for c in entry.channels),
                                       *(c.hours or "" for c in entry.channels))))
        for marker in ("localisation seulement", "dépliant", "à confirmer", "[U]", "[S",
                       "idf-directory", "legal-review"):
            assert marker not in shown, (entry.id, marker)
