"""Re-fit the knowledge search's abstention decision on the tuning sets, jointly.

Run: `.venv/bin/python bench/tune_knowledge_abstention.py` from the repository root.
The sets are dev, own, holdout and holdout2's TUNE half (odd lines; the TEST half is never
read here). For each question it caches, once, the ranking and the two best scores before
the question-wide factors (rare unknown French words, off-topic cue); then it grid-searches
THRESHOLD, MARGIN, MARGIN_FLOOR, MARGIN_EVIDENCE and UNKNOWN_FRENCH_FACTOR. The objective
is the minimum of the in-scope rate and the out-of-scope abstention rate, each the mean of
the per-set rates (every set counts the same, whatever its size). Prints the best value,
the size of the flat optimum (every setting within `--tolerance` of the best) and the
middle of that plateau, per parameter.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_knowledge import DEV, HOLDOUT, HOLDOUT2, OWN, read_half  # noqa: E402
from knowledge import search as ks  # noqa: E402
from knowledge.evaluation import Case, read_cases  # noqa: E402
from knowledge.loader import load_knowledge  # noqa: E402

GRID = {
    "THRESHOLD": np.round(np.arange(0.30, 0.581, 0.01), 3),
    "MARGIN": np.round(np.arange(0.06, 0.241, 0.01), 3),
    "MARGIN_FLOOR": np.round(np.arange(0.22, 0.481, 0.02), 3),
    "MARGIN_EVIDENCE": np.arange(0.0, 80.1, 4.0),
    "UNKNOWN_FRENCH_FACTOR": np.round(np.arange(0.70, 1.001, 0.05), 3),
}


@dataclass(frozen=True)
class Cached:
    """What the decision needs about one question."""

    right: bool  # the best entry is an expected one (False for out-of-scope questions)
    in_scope: bool
    best: float  # best and second score before the question-wide factors
    second: float
    unknown: float  # summed rarity of unknown French words (exponent of the factor)
    off_topic: bool
    evidence: float


def cache(index: ks.SearchIndex, cases: list[Case]) -> list[Cached]:
    out = []
    saved = ks.UNKNOWN_FRENCH_FACTOR, ks.OUT_OF_SCOPE_FACTOR
    ks.UNKNOWN_FRENCH_FACTOR = ks.OUT_OF_SCOPE_FACTOR = 1.0
    try:
        for case in cases:
            score, off_topic, evidence = index.signals(case.question)
            order = np.argsort(-score, kind="stable")[:2]
            units = ks.analyse(case.question, index.tables, index.corrections(case.question))
            out.append(Cached(index.ids[order[0]] in case.expected, bool(case.expected),
                              float(score[order[0]]), float(score[order[1]]),
                              index.unknown_french(units), off_topic, evidence))
    finally:
        ks.UNKNOWN_FRENCH_FACTOR, ks.OUT_OF_SCOPE_FACTOR = saved
    return out


def rates(cached: list[Cached], t, m, mf, me, f: float) -> tuple[np.ndarray, np.ndarray]:
    """(in-scope rate, out-of-scope abstention rate) of one set, over a grid of t, m, mf, me
    (arrays broadcast against each other) for one factor f."""
    k = np.array([f ** c.unknown * (ks.OUT_OF_SCOPE_FACTOR if c.off_topic else 1.0)
                  for c in cached])
    best = np.minimum(1.0, np.array([c.best for c in cached]) * k)
    lead = best - np.minimum(1.0, np.array([c.second for c in cached]) * k)
    free = ~np.array([c.off_topic for c in cached])
    evidence = np.array([c.evidence for c in cached])
    right = np.array([c.right for c in cached])
    in_scope = np.array([c.in_scope for c in cached])
    ax = (..., None)
    answered = ((best >= np.asarray(t)[ax])
                | (free & (best >= np.asarray(mf)[ax]) & (lead >= np.asarray(m)[ax])
                   & (evidence >= np.asarray(me)[ax])))
    r_in = (answered & right & in_scope).sum(axis=-1) / max(in_scope.sum(), 1)
    r_out = (~answered & ~in_scope).sum(axis=-1) / max((~in_scope).sum(), 1)
    return r_in, r_out


def smooth(values: np.ndarray, radius: int) -> np.ndarray:
    """Mean over the box of +-radius grid steps in every dimension (edges repeated): a
    setting is only as good as its neighbours, so the optimum found is a flat one."""
    out = values
    for axis in range(values.ndim):
        padded = np.concatenate([np.repeat(out.take([0], axis), radius, axis), out,
                                 np.repeat(out.take([-1], axis), radius, axis)], axis)
        n = out.shape[axis]
        out = sum(padded.take(range(k, k + n), axis) for k in range(2 * radius + 1))
        out = out / (2 * radius + 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tolerance", type=float, default=0.0,
                        help="plateau: settings within this of the best objective")
    parser.add_argument("--smooth", type=int, default=1,
                        help="average the objective over +-N grid steps (0: raw)")
    parser.add_argument("--holdout2-both", action="store_true",
                        help="tune on both halves of holdout2 (TEST half too)")
    args = parser.parse_args()
    kb, _findings = load_knowledge(ROOT)
    sets = {"dev": read_cases(DEV), "own": read_cases(OWN), "holdout": read_cases(HOLDOUT),
            "h2-tune": read_half(HOLDOUT2, 1)}
    if args.holdout2_both:
        sets["h2-test"] = read_half(HOLDOUT2, 0)
    cached = {name: cache(kb.index, cases) for name, cases in sets.items()}
    names = list(GRID)
    t, m, mf, me = np.meshgrid(*(GRID[n] for n in names[:4]), indexing="ij")
    objective, total, settings = [], [], []
    for f in GRID["UNKNOWN_FRENCH_FACTOR"]:
        per_set = [rates(c, t, m, mf, me, f) for c in cached.values()]
        r_in = np.mean([p[0] for p in per_set], axis=0)
        r_out = np.mean([p[1] for p in per_set], axis=0)
        objective.append(np.minimum(r_in, r_out).ravel())
        total.append((r_in + r_out).ravel())
        settings.append(np.stack([t.ravel(), m.ravel(), mf.ravel(), me.ravel(),
                                  np.full(t.size, f)], axis=1))
    objective, total = np.concatenate(objective), np.concatenate(total)
    settings = np.concatenate(settings)
    if args.smooth:
        shape = (len(GRID["UNKNOWN_FRENCH_FACTOR"]), *t.shape)
        objective = smooth(objective.reshape(shape), args.smooth).ravel()
        total = smooth(total.reshape(shape), args.smooth).ravel()
    for i, name in enumerate(names):  # profile: best objective for each value
        grid = GRID[name]
        profile = [float(objective[settings[:, i] == v].max()) for v in grid]
        print(f"  profile {name:22} " + " ".join(f"{v:g}:{p:.3f}" for v, p in
                                                 zip(grid, profile, strict=True)))
    top = float(objective.max())
    plateau = objective >= top - args.tolerance - 1e-12
    top_sum = float(total[plateau].max())
    flat = settings[plateau & (total >= top_sum - 1e-12)]
    print(f"best min(in, out) {top:.4f}; {int(plateau.sum())} settings within tolerance, "
          f"{len(flat)} of them with the best in+out {top_sum:.4f}")
    current = (ks.THRESHOLD, ks.MARGIN, ks.MARGIN_FLOOR, ks.MARGIN_EVIDENCE,
               ks.UNKNOWN_FRENCH_FACTOR)
    for label, values in (("current", current),
                          ("middle", tuple(float(np.median(flat[:, i]))
                                           for i in range(len(names))))):
        per_set = [rates(c, *values) for c in cached.values()]
        print(f"{label:8} " + " ".join(f"{n}={v:g}" for n, v in zip(names, values,
                                                                    strict=True)))
        for name, (r_in, r_out) in zip(cached, per_set, strict=True):
            print(f"    {name:8} in {r_in:6.1%}  out {r_out:6.1%}")
    for i, name in enumerate(names):
        seen = sorted({float(v) for v in flat[:, i]})
        print(f"  {name:22} plateau {seen[0]:g} .. {seen[-1]:g} ({len(seen)} values)")
    # One parameter at a time around the committed setting: where it is flat.
    print("one at a time around the current setting (macro in/out, %):")
    for i, name in enumerate(names):
        cells = []
        for v in GRID[name]:
            values = list(current)
            values[i] = v
            per_set = [rates(c, *values) for c in cached.values()]
            r_in = float(np.mean([p[0] for p in per_set]))
            r_out = float(np.mean([p[1] for p in per_set]))
            cells.append(f"{v:g}:{100 * r_in:.1f}/{100 * r_out:.1f}")
        print(f"  {name:22} " + " ".join(cells))


if __name__ == "__main__":
    main()
