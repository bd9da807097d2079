"""Admin commands: check report, CSV export, all-or-nothing import."""

from __future__ import annotations

import argparse
import csv
import io
import shutil
from pathlib import Path

import pytest

from annuaire import admin
from annuaire.loader import load_directory

FIXTURE = Path(__file__).parent / "data" / "annuaire"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURE, tmp_path / "root")
    return tmp_path / "root"


def _export(root: Path) -> str:
    directory, _ = load_directory(root)
    out = io.StringIO()
    admin.export_csv(directory, out)
    return out.getvalue()


def test_check_reports_gaps(root: Path) -> None:
    out = io.StringIO()
    assert admin.check(root, out) == 0
    text = out.getvalue()
    assert "0 erreur(s)" in text
    assert "sans canal (" in text and "parquet-meaux" in text
    assert "types manquants : cdom, crip, umj, uaped" in text  # for 77
    block_93 = text.split("== 93")[1].split("== 94")[0]
    # The fixture's Bobigny number serves minors and adults: not the couple outcome.
    assert "violences-conjugales (parquet)" in block_93
    assert "signalement-mineur (parquet)" not in block_93


def test_check_lists_outcomes_left_without_addressee_and_dated_channels(root: Path) -> None:
    from bot.flows.loader import outcome_purposes

    repo = Path(__file__).resolve().parent.parent
    out = io.StringIO()
    admin.check(root, out, outcomes=outcome_purposes(repo))
    block_93 = out.getvalue().split("== 93")[1].split("== 94")[0]
    gaps = block_93.split("issues de parcours sans destinataire joignable")[1].splitlines()[0]
    assert "majeur/signalement-couple" in gaps and "mineur/signalement," in gaps + ","
    assert "majeur/signalement-accord" not in gaps  # Bobigny's number serves adults
    assert "canaux datés" not in block_93  # Bobigny's fiche is verified, and so its channels
    national = out.getvalue().split("== national")[1]
    assert "canaux datés, à revérifier (2) : ligne-3919 phone 3919 (non datée)" in national


def test_bundled_directory_check_lists_every_gap_the_councils_must_fill() -> None:
    """`vvs-admin annuaire check` on the shipped data: 94 has no channel to send a
    signalement (only a 2020 information line), and it says so."""
    from bot.flows.loader import outcome_purposes

    repo = Path(__file__).resolve().parent.parent
    out = io.StringIO()
    assert admin.check(repo, out, outcomes=outcome_purposes(repo)) == 0
    text = out.getvalue()
    block_94 = text.split("== 94")[1].split("== 95")[0]
    assert "signalement-majeur (parquet)" in block_94
    assert "parquet-creteil phone 01 49 81 16 00 (2020-05-10)" in block_94
    block_92 = text.split("== 92")[1].split("== 93")[0]
    assert "violences-conjugales" not in block_92  # the Nanterre couple mailbox
    assert "majeur/signalement-couple" not in block_92


def test_export_import_round_trip_changes_nothing(root: Path) -> None:
    before = {p.name: p.read_text() for p in (root / "annuaire" / "data").glob("*.yaml")}
    report = admin.import_csv(_export(root), root)
    assert report.ok and report.added == report.changed == report.removed == []
    directory, _ = load_directory(root)
    assert len(directory) == 13
    assert _export(root) == _export(root)
    assert set(before) == {p.name for p in (root / "annuaire" / "data").glob("*.yaml")}


def test_import_reports_added_changed_removed(root: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(_export(root))))
    rows = [r for r in rows if r["id"] != "ligne-119"]
    next(r for r in rows if r["id"] == "umj-creteil")["channels"] = (
        '[{"type": "phone", "value": "01 45 17 50 00", "uses": ["examen-medico-legal"], '
        '"source": "test"}]')
    new = dict(rows[0], id="parquet-test", name="Parquet de test")
    rows.append(new)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=admin.CSV_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    report = admin.import_csv(out.getvalue(), root)
    assert report.ok, report.errors
    assert (report.added, report.changed, report.removed) == (
        ["parquet-test"], ["umj-creteil"], ["ligne-119"])
    directory, _ = load_directory(root)
    assert directory.get("umj-creteil").phone == "01 45 17 50 00"
    assert directory.get("ligne-119") is None
    assert (root / "annuaire/data/idf.yaml").read_text().startswith("# Test fixture")


def test_invalid_import_writes_nothing(root: Path) -> None:
    before = {p: p.read_bytes() for p in (root / "annuaire" / "data").glob("*.yaml")}
    rows = list(csv.DictReader(io.StringIO(_export(root))))
    rows[2]["kind"] = "tribunal"
    rows[5]["channels"] = ('[{"type": "phone", "value": "01 23", "uses": ["information"], '
                           '"source": "test"}]')
    rows[6]["channels"] = '[{"type": "phone", "value": "01 23 45 67 89", "source": "test"}'
    rows[7]["channels"] = '[{"type": "phone", "value": "01 23 45 67 89", "source": "test"}]'
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=admin.CSV_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    report = admin.import_csv(out.getvalue(), root)
    assert not report.ok
    assert any(e.startswith("ligne CSV 4 [kind]") for e in report.errors), report.errors
    assert any(e.startswith("ligne CSV 7 [channels[1].value]") for e in report.errors), \
        report.errors
    assert any(e.startswith("ligne CSV 8 [channels]") for e in report.errors), report.errors
    assert any(e.startswith("ligne CSV 9 [channels[1].uses]") and "sans usage" in e
               for e in report.errors), report.errors
    assert before == {p: p.read_bytes() for p in (root / "annuaire" / "data").glob("*.yaml")}


def test_register_adds_an_annuaire_group(root: Path, capsys) -> None:
    parser = argparse.ArgumentParser(prog="vvs-admin")
    admin.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["annuaire", "--content-dir", str(root), "export"])
    assert args.handler(args) == 0
    assert capsys.readouterr().out.startswith("file,id,name,short,kind")
