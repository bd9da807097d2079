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
    assert "sans téléphone" in text and "parquet-meaux" in text
    assert "types manquants : cdom, crip, umj, uaped" in text  # for 77


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
    next(r for r in rows if r["id"] == "umj-creteil")["phone"] = "01 45 17 50 00"
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
    rows[5]["phone"] = "12"
    rows[5]["phone"] = "01 23"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=admin.CSV_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    report = admin.import_csv(out.getvalue(), root)
    assert not report.ok
    assert any(e.startswith("ligne CSV 4 [kind]") for e in report.errors), report.errors
    assert any(e.startswith("ligne CSV 7 [phone]") for e in report.errors), report.errors
    assert before == {p: p.read_bytes() for p in (root / "annuaire" / "data").glob("*.yaml")}


def test_register_adds_an_annuaire_group(root: Path, capsys) -> None:
    parser = argparse.ArgumentParser(prog="vvs-admin")
    admin.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["annuaire", "--content-dir", str(root), "export"])
    assert args.handler(args) == 0
    assert capsys.readouterr().out.startswith("file,id,name,kind")
