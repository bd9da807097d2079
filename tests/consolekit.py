"""Helpers of the console tests: a writable copy of the content, links read from the bot."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"(https?://[^\s\"<]+/console)/login\?t=([A-Za-z0-9_.\-]+)")


def content_copy(tmp_path: Path) -> Path:
    """The shipped content, copied where the console may write it."""
    content = tmp_path / "content"
    for sub in ("knowledge", "annuaire/data", "bot/flows/data"):
        shutil.copytree(ROOT / sub, content / sub,
                        ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return content


def link_in(messages: list) -> tuple[str, str]:
    """(console base URL, token) of the link the bot sent."""
    for message in messages:
        found = LINK.search(message.text or "")
        if found:
            return found.group(1), found.group(2)
    raise AssertionError(f"no console link in {[m.text for m in messages]}")
