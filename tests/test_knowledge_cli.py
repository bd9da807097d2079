"""`python -m knowledge`: JSON lines for `ask`, exit codes for `check`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).parent / "data" / "knowledge"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "knowledge", *args], cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=60)


def test_ask_json_one_question_from_arguments() -> None:
    proc = run("ask", "--json", "--top", "2", "--content-dir", str(FIXTURE),
               "comment", "faire", "une", "IP")
    assert proc.returncode == 0, proc.stderr
    [line] = proc.stdout.splitlines()
    data = json.loads(line)
    assert data["query"] == "comment faire une IP"
    assert data["answered"] is True
    assert data["results"][0]["id"] == "info-preoccupante"
    assert 1 <= len(data["results"]) <= 2
    assert all(set(r) == {"id", "score"} and 0 <= r["score"] <= 1 for r in data["results"])


def test_ask_json_reads_one_question_per_line_from_stdin() -> None:
    proc = run("ask", "--json", "--content-dir", str(FIXTURE),
               stdin="que couvre le secret médical\n\ndose de paracétamol\n")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [x["query"] for x in lines] == ["que couvre le secret médical",
                                           "dose de paracétamol"]
    assert [x["answered"] for x in lines] == [True, False]
    scores = [r["score"] for r in lines[0]["results"]]
    assert scores == sorted(scores, reverse=True)


def test_ask_default_content_dir_is_the_repository() -> None:
    proc = run("ask", "--json", "--top", "1", "que", "faire")
    assert proc.returncode == 0, proc.stderr
    assert set(json.loads(proc.stdout)) == {"query", "answered", "results"}


def test_check_exit_codes(tmp_path: Path) -> None:
    ok = run("check", "--content-dir", str(FIXTURE))
    assert ok.returncode == 0 and "0 erreur(s)" in ok.stdout
    shutil.copytree(FIXTURE, tmp_path / "c")
    entry = tmp_path / "c" / "knowledge" / "entries" / "secret-medical.md"
    entry.write_text(entry.read_text(encoding="utf-8").replace("theme: secret", "theme: x"),
                     encoding="utf-8")
    bad = run("check", "--content-dir", str(tmp_path / "c"))
    assert bad.returncode == 1
    assert "knowledge/entries/secret-medical.md:4 [theme]" in bad.stdout
