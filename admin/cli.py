"""`vvs-admin`: database, content validation, directory, flows and referents."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from escalation.admin import Action
from vvs.content import load_all, print_findings
from vvs.db import transaction
from vvs.errors import ConfigError
from vvs.settings import get_settings

# Feature modules that add their own sub-commands with `register(subparsers)`.
FEATURE_COMMANDS = ("annuaire.admin", "bot.flows.loader", "escalation.admin", "admin.stats",
                    "bot.console.admin")


def _content_root(args: argparse.Namespace) -> Path:
    return Path(args.content_dir) if args.content_dir else get_settings().content_dir


def cmd_content_check(args: argparse.Namespace) -> int:
    """Validate every content set, as the bot does before serving it."""
    from bot.compose import default_content_sets

    sets = default_content_sets()
    if args.only:
        names = [s.name for s in sets]
        sets = sets[: names.index(args.only) + 1]  # earlier sets are needed for cross-checks
    _snapshot, findings = load_all(_content_root(args), sets)
    if args.only:
        findings = [f for f in findings if f.file.startswith(sets[-1].subdir)]
    return print_findings(findings)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Apply the migrations to DATABASE_URL."""
    from vvs.db import make_engine
    from vvs.migrate import upgrade

    async def run() -> None:
        engine = make_engine(get_settings().resolved_database_url())
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
    print("base de données à jour")
    return 0


def run_escalation_action(action: Action, args: argparse.Namespace) -> int:
    """Compose the service (no content: a referent is enrolled even while an edit is
    refused) and run `action` in one transaction."""
    from bot.compose import composed

    settings = get_settings()

    async def go() -> int:
        async with composed(settings, content_sets=()) as services, \
                transaction(services.sessions) as session:
            return await action(services.escalations, session, args)

    return asyncio.run(go())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vvs-admin", description=__doc__)
    parser.add_argument("--content-dir", help="dossier du contenu (défaut : CONTENT_DIR)")
    sub = parser.add_subparsers(dest="group", required=True)
    db = sub.add_parser("db", help="base de données").add_subparsers(dest="cmd", required=True)
    db.add_parser("upgrade", help="appliquer les migrations").set_defaults(func=cmd_db_upgrade)
    content = sub.add_parser("content", help="tout le contenu").add_subparsers(
        dest="cmd", required=True)
    content.add_parser("check", help="valider tout le contenu").set_defaults(
        func=cmd_content_check, only=None)
    knowledge = sub.add_parser("knowledge", help="base de connaissances").add_subparsers(
        dest="cmd", required=True)
    knowledge.add_parser("check", help="valider les fiches").set_defaults(
        func=cmd_content_check, only="knowledge")
    for module_name in FEATURE_COMMANDS:
        register = _feature_register(module_name)
        if register is not None:
            register(sub, **_feature_wiring(module_name))
    return parser


def _feature_wiring(module_name: str) -> dict[str, Callable]:
    """What a feature's commands need from another feature, passed in here so that the
    domain packages do not import each other."""
    if module_name == "annuaire.admin":
        from bot.flows.loader import outcome_purposes

        return {"outcomes": outcome_purposes}
    return {}


def _feature_register(module_name: str) -> Callable | None:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return None
        raise
    return getattr(module, "register", None)


def _dispatch(args: argparse.Namespace) -> int:
    action = getattr(args, "escalation_action", None)
    if action is not None:
        return run_escalation_action(action, args)
    command = getattr(args, "func", None) or args.handler  # feature groups use `handler`
    return int(command(args))


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of `vvs-admin`."""
    args = build_parser().parse_args(argv)
    try:
        code = _dispatch(args)
    except ConfigError as exc:
        print(f"Configuration invalide — {exc}", file=sys.stderr)
        code = 2
    raise SystemExit(code)


if __name__ == "__main__":
    main()
