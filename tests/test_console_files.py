"""The console's file operations, on the shipped content: validation fields, the hash that
sends an edited entry back to draft, the directory confirmation and grid."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from annuaire.admin import MISSING, coverage_grid, purpose_gaps
from annuaire.loader import load_directory
from bot.console.access import Operator
from bot.console.files import (
    channels_text,
    confirmed_directory_text,
    diff,
    directory_channels,
    parse_knowledge,
    rejected_text,
    validated_text,
)
from knowledge.loader import load_knowledge
from knowledge.model import content_hash
from tests.consolekit import ROOT, content_copy
from vvs import yamlfile

TODAY = dt.date(2026, 1, 5)
VALIDATOR = Operator(501, "validator", "Dr Commission")
ENTRY = "knowledge/entries/crip.md"


def test_validation_survives_its_own_fields_and_not_an_edit(tmp_path: Path) -> None:
    root = content_copy(tmp_path)
    text = (root / ENTRY).read_text(encoding="utf-8")
    digest = content_hash(parse_knowledge(root, ENTRY, text))
    validated = validated_text(text, VALIDATOR, TODAY, digest)
    assert validated.count("\n") == text.count("\n") + 3  # role, date, hash added
    (root / ENTRY).write_text(validated, encoding="utf-8")
    kb, findings = load_knowledge(root, TODAY)
    entry = kb.entries["crip"]
    assert not entry.is_draft and entry.validated_by == "Dr Commission"
    assert (entry.validated_role, entry.validated_on, entry.validated_hash) == (
        "validator", TODAY, digest)
    (root / ENTRY).write_text(validated.replace("summary: |\n", "summary: |\n  Ajout.\n", 1),
                              encoding="utf-8")
    kb, findings = load_knowledge(root, TODAY)
    assert kb.entries["crip"].is_draft
    assert any(f.field == "validated_hash" and f.severity == "warning" for f in findings)
    rejected = rejected_text(validated, VALIDATOR, TODAY, "source à revoir", "ancienne note")
    entry = parse_knowledge(root, ENTRY, rejected)
    assert entry.is_draft and entry.validated_hash is None
    assert entry.review_notes == ("Refusée le 2026-01-05 par Dr Commission (validator) : "
                                  "source à revoir — ancienne note")
    assert [d.kind for d in diff(text, validated, ENTRY)].count("add") == 5


def test_confirming_a_directory_entry_changes_two_lines(tmp_path: Path) -> None:
    root = content_copy(tmp_path)
    path = root / "annuaire" / "data" / "93.yaml"
    text = path.read_text(encoding="utf-8")
    new = confirmed_directory_text(text, "parquet-bobigny", TODAY)
    changed = [(a, b) for a, b in zip(text.splitlines(), new.splitlines(), strict=True)
               if a != b]
    assert [b.strip() for _a, b in changed] == ["verified_on: 2026-01-05", "status: verified"]
    path.write_text(new, encoding="utf-8")
    directory, _findings = load_directory(root)
    assert directory is not None
    entry = directory.get("parquet-bobigny")
    assert entry is not None and entry.status == "verified"
    assert all(c.verified_on == TODAY for c in entry.channels)


def test_the_grid_has_the_gap_reports_missing_purposes() -> None:
    directory, _findings = load_directory(Path(__file__).resolve().parent.parent)
    assert directory is not None
    for dept, row in coverage_grid(directory, TODAY).items():
        missing = {p for p, cell in row.items() if cell.state == MISSING}
        assert missing == set(purpose_gaps(directory, dept))


def test_an_entrys_channels_block_is_rewritten_and_nothing_else(tmp_path: Path) -> None:
    """The entry form's text: each shipped channel rewritten as it was gives the very file;
    one changed channel changes its own lines; an entry without channels gains a block (also
    the last entry of a file); the result loads."""
    for path in sorted((ROOT / "annuaire" / "data").glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        for raw in yamlfile.loads(text)["entries"]:
            assert channels_text(text, raw["id"], directory_channels(text, raw["id"])) == text
    root = content_copy(tmp_path)
    path = root / "annuaire" / "data" / "75.yaml"
    text = path.read_text(encoding="utf-8")
    crip = directory_channels(text, "crip-75")
    new = channels_text(text, "crip-75", [{**crip[0], "value": "crip@paris.fr"}])
    changed = [(a, b) for a, b in zip(text.splitlines(), new.splitlines(), strict=True)
               if a != b]
    assert changed == [("    value: crip75@paris.fr", "    value: crip@paris.fr")]
    lines = text.split("\n")
    first = lines.index("  channels:")
    after = lines.index("  website: null", first)
    assert channels_text(text, "crip-75", []).split("\n") == [
        *lines[:first], "  channels: []", *lines[after:]]

    phone = {"type": "phone", "value": "01 23 45 67 89", "uses": ["aide-victimes"],
             "source": "site", "source_date": "2024", "verified_on": TODAY}
    path = root / "annuaire" / "data" / "93.yaml"
    text = path.read_text(encoding="utf-8")
    new = channels_text(channels_text(text, "idfav-labri", [phone]), "cdom-93", [phone])
    lines = text.split("\n")
    at = lines.index("  address: Hôtel de Région Île-de-France") + 1  # the last entry
    cdom = lines.index("  website: null")  # the first entry's first field after channels
    block = ["  channels:", "  - type: phone", "    value: 01 23 45 67 89", "    uses:",
             "    - aide-victimes", "    source: site", "    source_date: '2024'",
             "    verified_on: 2026-01-05"]
    assert new.split("\n") == [*lines[:cdom], *block, *lines[cdom:at], *block, *lines[at:]]
    assert channels_text(text, "cdom-93", []) == text  # nothing to add: nothing changes
    path.write_text(new, encoding="utf-8")
    directory, findings = load_directory(root)
    assert directory is not None, findings
    entry = directory.get("idfav-labri")
    assert entry is not None and entry.channels[0].verified_on == TODAY


def test_who_may_edit_which_file() -> None:
    """Admins and validators edit every file (the channel form and the raw editor agree); a
    referent only their own département's directory file."""
    from bot.console.files import may_edit

    admin = Operator(1, "admin", "A")
    validator = Operator(2, "validator", "V")
    referent = Operator(3, "referent", "R", department="93")
    entry, own, other = "knowledge/entries/crip.md", "annuaire/data/93.yaml", \
        "annuaire/data/75.yaml"
    assert all(may_edit(admin, p) for p in (entry, own, other))
    assert all(may_edit(validator, p) for p in (entry, own, other))
    assert may_edit(referent, own)
    assert not may_edit(referent, other) and not may_edit(referent, entry)
