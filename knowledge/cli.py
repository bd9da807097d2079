"""`python -m knowledge`: ask the base from the command line, or validate the entries."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from knowledge.model import KnowledgeBase
from vvs.content import print_findings

DEFAULT_ROOT = Path(__file__).resolve().parent.parent


def _questions(args: argparse.Namespace) -> Iterable[str]:
    if args.question:
        yield " ".join(args.question)
        return
    for line in sys.stdin:
        if line.strip():
            yield line.strip()


def cmd_ask(args: argparse.Namespace) -> int:
    """One JSON object per question: answered, and results best first with scores in [0,1]."""
    from knowledge.loader import load_knowledge

    kb, findings = load_knowledge(Path(args.content_dir))
    errors = [f for f in findings if f.severity == "error"]
    for finding in errors:
        print(finding, file=sys.stderr)
    for question in _questions(args):
        result = kb.search(question, args.top)
        line = {"query": question, "answered": result.answered,
                "results": [{"id": i, "score": s} for i, s in result.results]}
        if args.json:
            print(json.dumps(line, ensure_ascii=False), flush=True)
        else:
            _print_text(kb, line)
    return 0


def _print_text(kb: KnowledgeBase, line: dict[str, Any]) -> None:
    status = "réponse" if line["answered"] else "pas de réponse sûre ; suggestions"
    print(f"{line['query']}\n  → {status}")
    for item in line["results"]:
        entry = kb.entries[item["id"]]
        print(f"    {item['score']:.2f}  {item['id']} — {entry.title}")


def cmd_check(args: argparse.Namespace) -> int:
    """Validate the entries and links.yaml; exit 1 when any error."""
    from knowledge.loader import check

    return print_findings(check(Path(args.content_dir)))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m knowledge", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    ask = sub.add_parser("ask", help="interroger la base (une question par ligne sur stdin "
                         "si aucune question n'est donnée)")
    ask.add_argument("--json", action="store_true", help="une ligne JSON par question")
    ask.add_argument("--top", type=int, default=3, help="nombre de résultats (défaut : 3)")
    ask.add_argument("question", nargs="*", help="la question")
    ask.set_defaults(func=cmd_ask)
    chk = sub.add_parser("check", help="valider les fiches et knowledge/links.yaml")
    chk.set_defaults(func=cmd_check)
    for p in (ask, chk):
        p.add_argument("--content-dir", default=str(DEFAULT_ROOT),
                       help="dossier du contenu (défaut : la racine du dépôt)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m knowledge`."""
    args = build_parser().parse_args(argv)
    if getattr(args, "top", 1) < 1:
        build_parser().error("--top doit être au moins 1")
    return int(args.func(args))
