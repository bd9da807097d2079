"""Benchmark the directory search at national scale (not run in CI).

    .venv/bin/python bench/bench_annuaire.py [--entries 50000] [--queries 200]

Generates a synthetic directory from the gazetteer (one entry per commune, cycling kinds),
then times, in one run: our `search` vs a naive `rapidfuzz.process.extract` over every
entry's text, and our `near` vs a linear Python distance scan; plus load time and memory.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rapidfuzz import fuzz, process

from annuaire.gazetteer import default_gazetteer
from annuaire.model import Directory, Entry
from annuaire.search import near, search
from annuaire.text import normalize

KINDS = ("cdom", "parquet", "crip", "umj", "uaped", "association", "police", "other")
LABELS = {"cdom": "Conseil départemental de l'Ordre des médecins", "parquet":
          "Tribunal judiciaire – parquet", "crip": "Cellule de recueil des informations "
          "préoccupantes", "umj": "Unité médico-judiciaire de l'hôpital", "uaped":
          "UAPED du centre hospitalier", "association": "Association d'aide aux victimes",
          "police": "Commissariat de police", "other": "Maison des femmes"}


def synthetic(count: int) -> list[Entry]:
    """`count` entries spread over the communes of France."""
    places = [p for p in default_gazetteer().places if p.lat is not None]
    rng = random.Random(7)
    entries = []
    for i in range(count):
        place, kind = places[i % len(places)], KINDS[i % len(KINDS)]
        entries.append(Entry(
            id=f"e{i}", name=f"{LABELS[kind]} de {place.name}", kind=kind, source="bench",
            department=place.department, serves=(place.insee,), commune=place.name,
            postcode=place.postcode, lat=place.lat + rng.uniform(-0.01, 0.01),
            lon=place.lon + rng.uniform(-0.01, 0.01), aliases=(f"{kind} {place.department}",)))
    return entries


def timed(func: Callable[[], object], runs: list[float]) -> None:
    start = time.perf_counter()
    func()
    runs.append((time.perf_counter() - start) * 1000)


def summary(runs: list[float]) -> tuple[float, float]:
    ordered = sorted(runs)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    start = time.perf_counter()
    default_gazetteer()
    gaz_s = time.perf_counter() - start
    entries = synthetic(args.entries)
    tracemalloc.start()
    start = time.perf_counter()
    directory = Directory.of(entries)
    build_s = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    rng = random.Random(1)
    sample = rng.sample(entries, args.queries)
    queries = [_noisy(f"{e.kind} {e.commune}", rng) for e in sample]
    texts = [normalize(" ".join([e.name, *e.aliases, e.commune or ""])) for e in entries]
    points = [(e.lat, e.lon) for e in sample]
    ours_s, naive_s, ours_n, naive_n = [], [], [], []
    for query, (lat, lon) in zip(queries, points, strict=True):
        timed(lambda q=query: search(directory, q), ours_s)
        timed(lambda q=query: process.extract(normalize(q), texts, scorer=fuzz.WRatio,
                                              limit=5), naive_s)
        timed(lambda a=lat, b=lon: near(directory, a, b, kind="umj"), ours_n)
        timed(lambda a=lat, b=lon: _linear_near(entries, a, b, "umj"), naive_n)
    hits = sum(search(directory, q)[0].entry.id == e.id for q, e in zip(
        queries[:50], sample[:50], strict=True))

    print(f"entries: {len(entries)}   gazetteer load: {gaz_s * 1000:.0f} ms   "
          f"index build: {build_s * 1000:.0f} ms   index peak memory: {peak / 2**20:.1f} MiB")
    print(f"{'operation':<42}{'median ms':>11}{'p99 ms':>10}")
    for label, runs in (("search (ours: vocabulary cdist + postings)", ours_s),
                        ("search (naive process.extract WRatio)", naive_s),
                        ("near umj (ours: numpy haversine)", ours_n),
                        ("near umj (linear Python scan)", naive_n)):
        med, p99 = summary(runs)
        print(f"{label:<42}{med:>11.2f}{p99:>10.2f}")
    print(f"search top-1 = the target entry for {hits}/50 noisy 'kind commune' queries")


def _noisy(text: str, rng: random.Random) -> str:
    """Drop one letter of a word of 6+ letters, like a typo."""
    words = text.split()
    long = [i for i, w in enumerate(words) if len(w) >= 6]
    if long:
        i = rng.choice(long)
        j = rng.randrange(len(words[i]))
        words[i] = words[i][:j] + words[i][j + 1:]
    return " ".join(words)


def _linear_near(entries: list[Entry], lat: float, lon: float, kind: str) -> list[Entry]:
    """Reference: a plain Python loop computing every haversine distance."""
    scored = []
    for e in entries:
        if e.kind != kind or e.lat is None or e.lon is None:
            continue
        p1, p2 = math.radians(lat), math.radians(e.lat)
        a = (math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2)
             * math.sin(math.radians(e.lon - lon) / 2) ** 2)
        scored.append((2 * 6371.0 * math.asin(math.sqrt(a)), e))
    scored.sort(key=lambda t: t[0])
    return [e for _, e in scored[:5]]


if __name__ == "__main__":
    main()
