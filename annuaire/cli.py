"""`python -m annuaire`: search, near, place (and the admin commands check, import, export)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from annuaire import admin
from annuaire.gazetteer import Gazetteer, Place, default_gazetteer
from annuaire.loader import load_directory
from annuaire.model import KINDS, Directory
from annuaire.search import near, search

DEFAULT_CONTENT_DIR = Path(__file__).resolve().parent.parent


def run_search(directory: Directory, query: str, kind: str | None = None,
               department: str | None = None, top: int = 5) -> dict[str, Any]:
    """The JSON object printed by `search` for one query."""
    hits = search(directory, query, kind=kind, department=department, top=top)
    return {"query": query, "results": [h.as_dict() for h in hits]}


def resolve_place(gaz: Gazetteer, postcode: str | None = None, place: str | None = None,
                  lat: float | None = None, lon: float | None = None) -> Place | None:
    """The place named by the options of `near` (coordinates keep the exact point)."""
    if lat is not None and lon is not None:
        commune = gaz.nearest(lat, lon)
        if commune is None:
            return Place("", None, lat, lon)
        return Place(commune.name, commune.department, lat, lon, commune.insee,
                     commune.postcodes, commune.postcode, commune.population, commune.parent)
    if postcode:
        found = gaz.postcode(postcode.strip())
        return found[0] if found else None
    if place:
        matches = gaz.lookup(place, limit=1)
        return matches[0].place if matches else None
    return None


def run_near(directory: Directory, gaz: Gazetteer, postcode: str | None = None,
             place: str | None = None, lat: float | None = None, lon: float | None = None,
             kind: str | None = None, top: int = 5) -> dict[str, Any]:
    """The JSON object printed by `near`."""
    query = {k: v for k, v in (("postcode", postcode), ("place", place), ("lat", lat),
                               ("lon", lon), ("kind", kind)) if v is not None}
    where = resolve_place(gaz, postcode, place, lat, lon)
    if where is None or where.lat is None or where.lon is None:
        return {"query": query, "place": None, "results": [], "error": "lieu introuvable"}
    hits = near(directory, where.lat, where.lon, kind=kind, top=top, place=where)
    return {"query": query, "place": where.as_dict(), "results": [h.as_dict() for h in hits]}


def run_place(gaz: Gazetteer, query: str, top: int = 5) -> dict[str, Any]:
    """The JSON object printed by `place` for one query."""
    return {"query": query, "results": [m.as_dict() for m in gaz.lookup(query, limit=top)]}


def _queries(words: Sequence[str]) -> Iterator[str]:
    """The query given on the command line, else one query per non-empty stdin line."""
    if words:
        yield " ".join(words)
        return
    for line in sys.stdin:
        if line.strip():
            yield line.strip()


def _emit(result: dict[str, Any], as_json: bool) -> None:
    """Print one result: a JSON line, or a short human-readable listing."""
    if as_json:
        print(json.dumps(result, ensure_ascii=False), flush=True)
        return
    print(f"# {result['query']}")
    if result.get("place"):
        place = result["place"]
        print(f"  lieu : {place['commune']} ({place['department']})")
    for item in result["results"]:
        extra = item.get("score", item.get("distance_km"))
        label = item.get("name") or item.get("commune")
        where = item.get("department")
        print(f"  - {label} [{item.get('kind', where)}] {'' if extra is None else extra}")


def _load(content_dir: Path) -> Directory:
    """The directory, or exit with the list of errors."""
    directory, findings = load_directory(content_dir)
    if directory is None:
        for finding in findings:
            if finding.severity == "error":
                print(finding, file=sys.stderr)
        raise SystemExit(2)
    return directory


def build_parser() -> argparse.ArgumentParser:
    """Argument parser of `python -m annuaire`."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--content-dir", type=Path, default=argparse.SUPPRESS,
                        help="répertoire qui contient annuaire/data (défaut : le dépôt)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="une ligne JSON par requête")
    common.add_argument("--top", type=int, default=argparse.SUPPRESS,
                        help="nombre de résultats (défaut : 5)")
    parser = argparse.ArgumentParser(prog="python -m annuaire", parents=[common])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("search", parents=[common], help="recherche plein texte")
    s.add_argument("--kind", choices=list(KINDS))
    s.add_argument("--department")
    s.add_argument("query", nargs="*")
    n = sub.add_parser("near", parents=[common], help="les plus proches d'un lieu")
    where = n.add_mutually_exclusive_group(required=True)
    where.add_argument("--postcode")
    where.add_argument("--place")
    where.add_argument("--lat", type=float)
    n.add_argument("--lon", type=float)
    n.add_argument("--kind", choices=list(KINDS))
    p = sub.add_parser("place", parents=[common], help="résoudre une commune")
    p.add_argument("query", nargs="*")
    admin.add_commands(sub, parents=[common])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m annuaire`."""
    args = build_parser().parse_args(argv)
    content_dir = getattr(args, "content_dir", DEFAULT_CONTENT_DIR)
    args.json, args.top = getattr(args, "json", False), getattr(args, "top", 5)
    if args.command in admin.COMMANDS:
        return admin.run(args, content_dir)
    gaz = default_gazetteer()
    if args.command == "place":
        for query in _queries(args.query):
            _emit(run_place(gaz, query, args.top), args.json)
        return 0
    directory = _load(content_dir)
    if args.command == "search":
        for query in _queries(args.query):
            _emit(run_search(directory, query, args.kind, args.department, args.top), args.json)
        return 0
    if (args.lat is None) != (args.lon is None):
        print("--lat et --lon vont ensemble", file=sys.stderr)
        return 2
    result = run_near(directory, gaz, args.postcode, args.place, args.lat, args.lon,
                      args.kind, args.top)
    _emit(result, args.json)
    return 0 if result["place"] else 1
