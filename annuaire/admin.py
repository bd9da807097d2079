"""Admin commands: `check` (validation and gaps), `import FILE.csv` (all or nothing), `export`.

Wired as `vvs-admin annuaire …` through `register(subparsers)` and as `python -m annuaire …`.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import yaml

from annuaire.loader import FIELDS, NO_ADDRESS_KINDS, SUBDIR, load_directory
from annuaire.model import Directory, Entry
from annuaire.purposes import PURPOSES, is_dated, suitable
from annuaire.search import competent
from vvs import yamlfile
from vvs.content import ContentError, print_findings
from vvs.departements import IDF_DEPARTMENTS

COMMANDS = ("check", "import", "export")
CSV_FIELDS = ("file", *FIELDS)
LIST_FIELDS = ("aliases", "serves", "audience")
LIST_SEPARATOR = "|"
# Kinds every Île-de-France département should have at least one entry for.
EXPECTED_KINDS = ("cdom", "parquet", "crip", "umj", "uaped", "association")


# -- check -------------------------------------------------------------------------------
# Outcome label ("mineur/signalement") → the purposes its addressee needs (from the flows).
OutcomePurposes = Mapping[str, tuple[str, ...]]


def gap_report(directory: Directory, outcomes: OutcomePurposes | None = None,
               today: dt.date | None = None) -> str:
    """What the councils must complete: per IDF département, the purposes with no suitable
    channel (and the outcomes they leave without an addressee), dated channels, missing
    kinds; then the national entries."""
    today = today or dt.date.today()
    lines = []
    by_dept: dict[str, list[Entry]] = defaultdict(list)
    for entry in directory.entries:
        by_dept[entry.department or "national"].append(entry)
    for dept in (*IDF_DEPARTMENTS, "national"):
        entries = by_dept.get(dept, [])
        lines.append(f"== {dept} : {len(entries)} entrée(s)")
        if dept != "national":
            lines += _purpose_gaps(directory, dept, outcomes or {})
            kinds = {e.kind for e in entries}
            missing = [k for k in EXPECTED_KINDS if k not in kinds]
            if missing:
                lines.append(f"  types manquants : {', '.join(missing)}")
        dated = [f"{e.id} {c.type} {c.value} ({c.source_date or 'non datée'})"
                 for e in entries for c in e.channels if is_dated(c, today)]
        if dated:
            lines.append(f"  canaux datés, à revérifier ({len(dated)}) : {'; '.join(dated)}")
        for label, test in (("sans canal", lambda e: not e.channels),
                            ("sans adresse", lambda e: not e.address
                             and e.kind not in NO_ADDRESS_KINDS),
                            ("sans coordonnées GPS", lambda e: not e.has_geo),
                            ("à vérifier", lambda e: e.status != "verified")):
            ids = [e.id for e in entries if test(e)]
            if ids:
                lines.append(f"  {label} ({len(ids)}) : {', '.join(ids)}")
    return "\n".join(lines)


VERIFIED, TO_VERIFY, DATED, MISSING = "verified", "to_verify", "dated", "missing"


@dataclass(frozen=True)
class Cell:
    """One (département, purpose) of the coverage grid: the best state of the fit channels
    (verified > to verify > dated > missing) and the entries that carry them."""

    state: str
    entries: tuple[str, ...] = ()


def coverage_grid(directory: Directory, today: dt.date | None = None
                  ) -> dict[str, dict[str, Cell]]:
    """Département → purpose → cell; the data of `gap_report`'s purpose lines (a missing cell
    is exactly a purpose `purpose_gaps` lists), with the channels' verification."""
    today = today or dt.date.today()
    grid: dict[str, dict[str, Cell]] = {}
    for dept in IDF_DEPARTMENTS:
        place = directory.index.gaz.department(dept)
        row: dict[str, Cell] = {}
        for purpose in PURPOSES.values():
            found = [(e, suitable(e, purpose)) for e in
                     (competent(directory, purpose.kind, place).entries if place else ())]
            found = [(e, chans) for e, chans in found if chans]
            channels = [c for _e, chans in found for c in chans]
            if not channels:
                state = MISSING
            elif any(c.verified for c in channels):
                state = VERIFIED
            elif all(is_dated(c, today) for c in channels):
                state = DATED
            else:
                state = TO_VERIFY
            row[purpose.id] = Cell(state, tuple(e.id for e, _chans in found))
        grid[dept] = row
    return grid


def purpose_gaps(directory: Directory, department: str) -> tuple[str, ...]:
    """The purposes for which no competent entry of the département has a suitable channel."""
    place = directory.index.gaz.department(department)
    if place is None:
        return tuple(PURPOSES)
    return tuple(p.id for p in PURPOSES.values() if not any(
        suitable(e, p) for e in competent(directory, p.kind, place).entries))


def _purpose_gaps(directory: Directory, department: str,
                  outcomes: OutcomePurposes) -> list[str]:
    gaps = purpose_gaps(directory, department)
    if not gaps:
        return []
    lines = [f"  sans canal adapté ({len(gaps)}) : " + ", ".join(
        f"{p} ({PURPOSES[p].kind})" for p in gaps)]
    hit = sorted(o for o, needs in outcomes.items() if any(p in gaps for p in needs))
    if hit:
        lines.append(f"  issues de parcours sans destinataire joignable ({len(hit)}) : "
                     + ", ".join(hit))
    return lines


def check(content_dir: Path, out: TextIO = sys.stdout,
          outcomes: OutcomePurposes | None = None) -> int:
    """Validate the directory and print errors, warnings and the gap report; 1 on error."""
    directory, findings = load_directory(content_dir)
    code = print_findings(findings, out)
    if directory is not None:
        print(gap_report(directory, outcomes), file=out)
    return code


# -- export ------------------------------------------------------------------------------
def export_csv(directory: Directory, out: TextIO) -> int:
    """Write every entry as one CSV row (lists joined with '|'); return the row count."""
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for entry in directory.entries:
        data = entry.as_dict()
        row = {"file": Path(entry.file).name}
        for key in FIELDS:
            value = data.get(key)
            if key in LIST_FIELDS:
                value = LIST_SEPARATOR.join(value or ())
            elif key == "channels":  # a list of mappings: one JSON cell
                value = json.dumps(value, ensure_ascii=False) if value else None
            row[key] = "" if value is None else value
        writer.writerow(row)
    return len(directory.entries)


# -- import ------------------------------------------------------------------------------
@dataclass
class ImportReport:
    """Outcome of an import: errors (nothing written) or the ids that changed."""

    errors: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def __str__(self) -> str:
        if self.errors:
            return "\n".join(["Import refusé, aucun fichier modifié :", *self.errors])
        return "\n".join([f"ajoutées ({len(self.added)}) : {', '.join(self.added)}",
                          f"modifiées ({len(self.changed)}) : {', '.join(self.changed)}",
                          f"supprimées ({len(self.removed)}) : {', '.join(self.removed)}",
                          f"fichiers écrits : {', '.join(self.written)}"])


def import_csv(csv_text: str, content_dir: Path) -> ImportReport:
    """Replace the directory with the CSV's entries, only if the whole CSV validates."""
    report = ImportReport()
    files, rows_of = _rows_by_file(csv_text, report)
    if report.errors:
        return report
    data_dir = content_dir / SUBDIR
    texts = {name: _yaml_text(rows, data_dir / name) for name, rows in files.items()}
    for stale in sorted(data_dir.glob("*.yaml")):
        texts.setdefault(stale.name, _yaml_text([], stale))
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / SUBDIR
        staged.mkdir(parents=True)
        for name, text in texts.items():
            (staged / name).write_text(text, encoding="utf-8")
        new, findings = load_directory(Path(tmp))
    report.errors = [_csv_error(f, texts, rows_of) for f in findings if f.severity == "error"]
    if new is None or report.errors:
        return report
    old, _ = load_directory(content_dir)
    _diff(old, new, report)
    data_dir.mkdir(parents=True, exist_ok=True)
    for name, text in sorted(texts.items()):
        path = data_dir / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            report.written.append(name)
    return report


def _rows_by_file(csv_text: str, report: ImportReport
                  ) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[int]]]:
    """Group CSV rows by target file; remember each row's CSV line number."""
    reader = csv.DictReader(io.StringIO(csv_text))
    missing = [f for f in ("file", "id", "name", "kind") if f not in (reader.fieldnames or ())]
    if missing:
        report.errors.append(f"colonnes manquantes : {', '.join(missing)}")
        return {}, {}
    files: dict[str, list[dict[str, Any]]] = defaultdict(list)
    rows_of: dict[str, list[int]] = defaultdict(list)
    for row in reader:
        name = (row.get("file") or "").strip()
        if not name.endswith(".yaml") or "/" in name or "\\" in name:
            report.errors.append(f"ligne CSV {reader.line_num} [file] : nom de fichier "
                                 f"invalide « {name} » (ex. 93.yaml)")
            continue
        files[name].append(_entry_from_row(row))
        rows_of[name].append(reader.line_num)
    return files, rows_of


def _entry_from_row(row: dict[str, str | None]) -> dict[str, Any]:
    """A YAML-ready mapping from one CSV row ('' → null, lists split, numbers parsed)."""
    entry: dict[str, Any] = {}
    for key in FIELDS:
        value = (row.get(key) or "").strip()
        if key in LIST_FIELDS:
            entry[key] = [v.strip() for v in value.split(LIST_SEPARATOR) if v.strip()]
        elif key in ("lat", "lon"):
            entry[key] = _number(value)
        elif key == "verified_on":
            entry[key] = _date(value)
        elif key == "channels":
            entry[key] = _channels(value)
        elif key in ("notes", "caution") and not value:
            continue
        else:
            entry[key] = value or None
    return entry


def _channels(value: str) -> Any:
    """The JSON list of channels, or the text itself so that validation reports it."""
    if not value:
        return []
    try:
        return json.loads(value)
    except ValueError:
        return value


def _number(value: str) -> float | str | None:
    """A float, or the text itself so that validation reports it."""
    if not value:
        return None
    try:
        return float(value.replace(",", "."))
    except ValueError:
        return value


def _date(value: str) -> dt.date | str | None:
    """An ISO date, or the text itself so that validation reports it."""
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return value


def _yaml_text(rows: list[dict[str, Any]], existing: Path) -> str:
    """The YAML file for `rows`, keeping the header comments of the existing file."""
    header = ""
    if existing.exists():
        lines = existing.read_text(encoding="utf-8").splitlines(keepends=True)
        header = "".join(line for line in lines[: _header_length(lines)])
    body = yaml.safe_dump({"entries": rows}, allow_unicode=True, sort_keys=False, width=100)
    return header + body


def _header_length(lines: list[str]) -> int:
    """Number of leading comment or blank lines."""
    for index, line in enumerate(lines):
        if line.strip() and not line.lstrip().startswith("#"):
            return index
    return len(lines)


def _csv_error(finding: ContentError, texts: dict[str, str],
               rows_of: dict[str, list[int]]) -> str:
    """A validation finding on the staged YAML, pointed back at its CSV line."""
    name = Path(finding.file).name
    rows = rows_of.get(name, [])
    where = f"{name}"
    if finding.line and rows:
        data = yamlfile.loads(texts[name])
        starts = getattr(data.get("entries"), "item_lines", [])
        position = max((i for i, s in enumerate(starts) if s <= finding.line), default=None)
        if position is not None and position < len(rows):
            where = f"ligne CSV {rows[position]}"
    what = f" [{finding.field}]" if finding.field else ""
    return f"{where}{what} : {finding.message}"


def _diff(old: Directory | None, new: Directory, report: ImportReport) -> None:
    """Fill added/changed/removed ids, comparing entries field by field."""
    before = {e.id: _comparable(e) for e in (old.entries if old else ())}
    after = {e.id: _comparable(e) for e in new.entries}
    report.added = sorted(after.keys() - before.keys())
    report.removed = sorted(before.keys() - after.keys())
    report.changed = sorted(i for i in after.keys() & before.keys() if after[i] != before[i])


def _comparable(entry: Entry) -> tuple[Any, ...]:
    """The entry's data, without where it was read from."""
    return (Path(entry.file).name, tuple(sorted(entry.as_dict().items(), key=str)))


# -- command line ------------------------------------------------------------------------
def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                 parents: list[argparse.ArgumentParser] | None = None) -> None:
    """Add check, import and export to a subparsers object."""
    parents = parents or []
    sub.add_parser("check", parents=parents, help="valider l'annuaire et lister les manques")
    imp = sub.add_parser("import", parents=parents, help="remplacer l'annuaire par un CSV")
    imp.add_argument("file", type=Path)
    exp = sub.add_parser("export", parents=parents, help="exporter l'annuaire en CSV")
    exp.add_argument("-o", "--output", type=Path, help="fichier CSV (défaut : sortie standard)")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
             outcomes: Callable[[Path], OutcomePurposes] | None = None) -> None:
    """Add the `annuaire` command group to `vvs-admin`; `outcomes` reads the flows' outcome
    purposes so that `check` lists the outcomes each gap leaves without an addressee."""
    group = subparsers.add_parser("annuaire", help="annuaire : check, import, export")
    group.add_argument("--content-dir", type=Path, default=None)
    inner = group.add_subparsers(dest="annuaire_command", required=True)
    add_commands(inner)
    group.set_defaults(handler=lambda args: run(
        argparse.Namespace(**{**vars(args), "command": args.annuaire_command}),
        args.content_dir or Path(__file__).resolve().parent.parent, outcomes))


def run(args: argparse.Namespace, content_dir: Path,
        outcomes: Callable[[Path], OutcomePurposes] | None = None) -> int:
    """Run one admin command; return the exit status."""
    if args.command == "check":
        return check(content_dir, outcomes=outcomes(content_dir) if outcomes else None)
    if args.command == "export":
        directory, findings = load_directory(content_dir)
        if directory is None:
            for finding in findings:
                print(finding, file=sys.stderr)
            return 1
        if args.output:
            with args.output.open("w", encoding="utf-8", newline="") as out:
                export_csv(directory, out)
        else:
            export_csv(directory, sys.stdout)
        return 0
    report = import_csv(args.file.read_text(encoding="utf-8-sig"), content_dir)
    print(report)
    return 0 if report.ok else 1
