"""`vvs-admin` as an admin runs it: content checks, database upgrade."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def admin(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "admin.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def copy_content(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(ROOT / "knowledge", root / "knowledge",
                    ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    shutil.copytree(ROOT / "annuaire" / "data", root / "annuaire" / "data")
    shutil.copytree(ROOT / "bot" / "flows" / "data", root / "bot" / "flows" / "data")
    return root


def test_shipped_content_is_valid() -> None:
    result = admin("content", "check")
    assert result.returncode == 0, result.stdout[-3000:]
    assert result.stdout.strip().splitlines()[-1].startswith("0 erreur(s)")


def test_broken_content_fails_with_file_line_and_field(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    entry = root / "knowledge" / "entries" / "itt.md"
    entry.write_text(entry.read_text().replace("theme:", "theme: pas-un-theme\nold_theme:", 1))
    flow = root / "bot" / "flows" / "data" / "mineur.yaml"
    flow.write_text(flow.read_text().replace("next: faits", "next: nulle-part", 1))
    result = admin("--content-dir", str(root), "content", "check")
    assert result.returncode == 1
    assert "knowledge/entries/itt.md:" in result.stdout and "theme" in result.stdout
    assert "bot/flows/data/mineur.yaml" in result.stdout and "nulle-part" in result.stdout


def test_db_upgrade_creates_the_tables(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    result = admin("db", "upgrade", env={"DATABASE_URL": f"sqlite:///{db}"})
    assert result.returncode == 0, result.stderr
    tables = {r[0] for r in sqlite3.connect(db).execute(
        "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"user_state", "event", "job", "outbox", "alembic_version"} <= tables


def test_annuaire_check_reports_gaps() -> None:
    result = admin("annuaire", "check")
    assert result.returncode == 0, result.stderr
    assert "à vérifier" in result.stdout
