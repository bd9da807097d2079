"""Import every module that defines tables, so metadata and migrations see them all."""

from __future__ import annotations

import importlib

MODEL_MODULES = ("vvs.models", "escalation.models", "bot.console.models", "knowledge.queue")


def import_all_models() -> None:
    for name in MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise
