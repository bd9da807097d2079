"""Every user-facing string is extracted and translated; none is left as a bare literal."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from vvs.i18n import LOCALE_DIR, _, use_language

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["vvs", "bot", "knowledge", "annuaire", "escalation", "admin"]
# Callables whose first argument is shown to the user and must therefore be translated.
USER_FACING = {"Reply", "Button", "send_message"}
ALLOWED_LITERALS = {"🇫🇷 Français", "🇬🇧 English"}


def _extract(tmp_path: Path) -> set[str]:
    pot = tmp_path / "messages.pot"
    dirs = [d for d in SOURCES if (ROOT / d).exists()]
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F",
         str(ROOT / "babel.cfg"), "-k", "_", "-k", "N_", "-k", "ngettext:1,2", "-o", str(pot),
         *dirs], cwd=ROOT, check=True)
    with pot.open("rb") as handle:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}


def test_every_extracted_string_has_an_english_translation(tmp_path: Path) -> None:
    extracted = _extract(tmp_path)
    assert len(extracted) > 50
    with (LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    translated = {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in catalog
                  if m.id and m.string and not m.fuzzy}
    missing = sorted(s for s in extracted if s not in translated)
    assert not missing, f"{len(missing)} string(s) without English translation, e.g. {missing[:5]}"


def test_compiled_catalog_is_up_to_date() -> None:
    po = LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po"
    mo = po.with_suffix(".mo")
    assert mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime - 1, \
        "run: pybabel compile -d vvs/locale"


def _bare_literals(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        first = node.args[0] if name != "send_message" else (node.args[1:2] or [None])[0]
        if name in USER_FACING and isinstance(first, ast.Constant) \
                and isinstance(first.value, str) and any(c.isalpha() for c in first.value) \
                and first.value not in ALLOWED_LITERALS:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {first.value[:40]!r}")
    return found


def test_no_user_facing_literal_escapes_translation() -> None:
    files = [p for d in SOURCES if (ROOT / d).exists() for p in (ROOT / d).rglob("*.py")]
    offenders = [hit for path in files for hit in _bare_literals(path)]
    assert not offenders, "wrap these in _():\n" + "\n".join(offenders)


@pytest.mark.parametrize("language, expected", [("fr", "Annuler"), ("en", "Cancel")])
def test_language_switch(language: str, expected: str) -> None:
    with use_language(language):
        assert _("Annuler") == expected
