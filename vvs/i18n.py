"""Translations: French source strings, gettext catalogs for other languages.

The language of the update being handled lives in a context variable, so domain code
calls `_("…")` without knowing who it talks to. Extraction: `pybabel extract` with the
keywords `_`, `N_` (mark only) and `ngettext`.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
DEFAULT_LANGUAGE = "fr"
LANGUAGES = ("fr", "en")

_current: ContextVar[str] = ContextVar("language", default=DEFAULT_LANGUAGE)


def normalize(code: str | None) -> str:
    """Map a Telegram `language_code` (e.g. 'en-GB') to a supported language."""
    if not code:
        return DEFAULT_LANGUAGE
    base = code.split("-")[0].split("_")[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


@cache
def translations(language: str) -> _gettext.NullTranslations:
    if language == DEFAULT_LANGUAGE:
        return _gettext.NullTranslations()
    return _gettext.translation(DOMAIN, LOCALE_DIR, [language], fallback=True)


def current_language() -> str:
    return _current.get()


@contextmanager
def use_language(language: str) -> Iterator[None]:
    """Run a block in `language` (used per update, and by tests)."""
    token = _current.set(normalize(language))
    try:
        yield
    finally:
        _current.reset(token)


def set_language(language: str) -> None:
    """Set the language for the rest of the current task (one update)."""
    _current.set(normalize(language))


def _(message: str) -> str:
    """Translate `message` into the current language."""
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark for extraction only; translate later with `_` at display time."""
    return message
