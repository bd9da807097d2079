"""Knowledge search benchmark: our engine vs plain BM25 (bm25s) vs plain rapidfuzz.

Run: `.venv/bin/python bench/bench_knowledge.py [-v]` from the repository root. Prints,
for the shared development set and for bench/knowledge_eval.tsv: in-scope accuracy
(answered and top-1 expected), the right entry "on screen or one tap away" (the answer and
the alternatives offered beside it, or the suggestions of an abstention, as many as the bot
shows), out-of-scope abstention, median and p99 latency, load time; then the same sets with
a typo (two letters swapped) in every word of six letters or more. `engine-0` is the engine
without "when unsure, ask" (no alternatives, no answer below the threshold), measured in the
same run. Baselines get the abstention threshold that is best for them on the development
set, and are shown like the engine without alternatives: the card alone, or suggestions.

`--holdout2 tune|test|both` adds bench/knowledge_holdout2.tsv split by physical line number
of the file: odd lines are the TUNE half (free to look at while tuning), even lines the
TEST half (measure only, a few times). `--engine` skips the baselines.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge import search as ks  # noqa: E402
from knowledge.evaluation import Case, SearchFn, engine_search, evaluate, read_cases  # noqa: E402
from knowledge.loader import load_knowledge  # noqa: E402
from knowledge.model import Entry  # noqa: E402
from knowledge.search import fold  # noqa: E402

DEV = ROOT.parent / "shared" / "eval" / "qa-dev.tsv"
OWN = ROOT / "bench" / "knowledge_eval.tsv"
HOLDOUT = ROOT / "bench" / "knowledge_holdout.tsv"
HOLDOUT2 = ROOT / "bench" / "knowledge_holdout2.tsv"
HOLDOUT3 = ROOT / "bench" / "knowledge_holdout3.tsv"  # never tuned on: report only
ENGLISH = ROOT / "bench" / "knowledge_english.tsv"  # English questions, French sheets
Scorer = Callable[[str], list[tuple[str, float]]]
SHOWN = 4  # suggestions the bot shows on abstention (bot/handlers/knowledge.py TOP)


def read_half(path: Path, parity: int) -> list[Case]:
    """The cases on the file's lines whose 1-based number has this parity (1 odd, 0 even)."""
    cases = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if n % 2 != parity or not line.strip() or line.startswith("#"):
            continue
        expected, question = line.split("\t", 1)
        ids = frozenset() if expected.strip() == "-" else frozenset(expected.strip().split("|"))
        cases.append(Case(ids, question.strip()))
    return cases


def bm25_baseline(entries: list[Entry]) -> Scorer:
    """bm25s over title + questions + keywords + summary, folded, no stemming."""
    import bm25s

    corpus = [fold(" ".join([e.title, *e.questions, *e.keywords, e.summary])) for e in entries]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(corpus, stopwords="fr", show_progress=False),
                    show_progress=False)

    def score(q: str) -> list[tuple[str, float]]:
        tokens = bm25s.tokenize([fold(q)], stopwords="fr", show_progress=False)
        words = [w for w, i in tokens.vocab.items() if i in set(tokens.ids[0])]
        if not words:  # only stop words (« hello ? »): nothing to score
            return []
        scores = retriever.get_scores(words)
        order = np.argsort(-scores)[:SHOWN]
        return [(entries[i].id, float(scores[i])) for i in order]

    return score


def fuzz_baseline(entries: list[Entry]) -> Scorer:
    """rapidfuzz WRatio of the question against each entry's title and questions."""
    from rapidfuzz import fuzz, process

    choices, owner = [], []
    for n, e in enumerate(entries):
        for text in (e.title, *e.questions):
            choices.append(fold(text))
            owner.append(n)

    def score(q: str) -> list[tuple[str, float]]:
        sims = process.cdist([fold(q)], choices, scorer=fuzz.WRatio)[0]
        best: dict[int, float] = {}
        for o, s in zip(owner, sims, strict=True):
            best[o] = max(best.get(o, 0.0), float(s))
        ranked = sorted(best.items(), key=lambda x: -x[1])[:SHOWN]
        return [(entries[i].id, s) for i, s in ranked]

    return score


def with_threshold(scorer: Scorer, threshold: float) -> SearchFn:
    def run(q: str) -> tuple[bool, list[str], list[str]]:
        ranked = scorer(q)
        answered = bool(ranked) and ranked[0][1] >= threshold
        ids = [i for i, _s in ranked]
        return answered, ids, ids[:1] if answered else ids
    return run


def engine_without_alternatives(kb: object) -> SearchFn:
    """The engine as it was before "when unsure, ask": no alternatives, no unsure answer."""
    search = engine_search(kb, SHOWN)

    def run(q: str) -> tuple[bool, list[str], list[str]]:
        close, strong = ks.CLOSE, ks.STRONG
        ks.CLOSE, ks.STRONG = 0.0, float("inf")
        try:
            return search(q)
        finally:
            ks.CLOSE, ks.STRONG = close, strong
    return run


def best_threshold(scorer: Scorer, cases: list[Case]) -> float:
    """Threshold maximising (accuracy + abstention) / 2 on `cases`."""
    cached = {c.question: scorer(c.question) for c in cases}
    candidates = sorted({r[0][1] for r in cached.values() if r} | {0.0})
    best, best_value = 0.0, -1.0
    for t in candidates:
        m = evaluate(lambda q, t=t: (cached[q][0][1] >= t, [i for i, _ in cached[q]], []),
                     cases)
        value = (m.accuracy + m.abstention) / 2
        if value > best_value:
            best, best_value = t, value
    return best


def with_typos(cases: list[Case], seed: int = 7) -> list[Case]:
    """The same questions with one typo (two letters swapped) in each word of 6+ letters."""
    rng = random.Random(seed)
    out = []
    for case in cases:
        words = case.question.split()
        for n, word in enumerate(words):
            if len(word) >= 6 and word.isalpha():
                i = rng.randrange(1, len(word) - 2)
                words[n] = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        out.append(Case(case.expected, " ".join(words)))
    return out


def report(name: str, label: str, search, cases: list[Case], verbose: bool) -> None:
    m = evaluate(search, cases)
    print(f"  {name:<10} {label:<8} in-scope {m.in_scope_right:>3}/{m.in_scope:<3} "
          f"{m.accuracy:6.1%}   one tap {m.in_scope_offered:>3} {m.reach:6.1%}   "
          f"out-of-scope abstained {m.out_scope_abstained:>2}/"
          f"{m.out_scope:<2} {m.abstention:6.1%}   median {m.latency(0.5):6.2f} ms   "
          f"p99 {m.latency(0.99):6.2f} ms")
    if verbose:
        for failure in m.failures:
            print("      ", failure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="list the failures")
    parser.add_argument("--holdout2", choices=["tune", "test", "both"],
                        help="add holdout2's odd-line (tune) and/or even-line (test) half")
    parser.add_argument("--engine", action="store_true", help="skip the baselines")
    parser.add_argument("--holdout3", action="store_true",
                        help="add the independent holdout3 set (report only, never tune on it)")
    args = parser.parse_args()
    start = time.perf_counter()
    kb, _findings = load_knowledge(ROOT)
    load_ms = (time.perf_counter() - start) * 1000
    entries = list(kb.entries.values())
    print(f"{len(entries)} entries; engine load (parse + validate + index) {load_ms:.0f} ms")
    sets = [("dev", read_cases(DEV))] if DEV.exists() else []
    sets.append(("own", read_cases(OWN)))
    sets += [(label + "+typo", with_typos(cases)) for label, cases in list(sets)]
    sets.append(("holdout", read_cases(HOLDOUT)))
    if args.holdout2 in ("tune", "both"):
        sets.append(("h2-tune", read_half(HOLDOUT2, 1)))
    if args.holdout2 in ("test", "both"):
        sets.append(("h2-test", read_half(HOLDOUT2, 0)))
    if args.holdout3:
        sets.append(("holdout3", read_cases(HOLDOUT3)))
    sets.append(("english", read_cases(ENGLISH)))
    systems = [("engine", engine_search(kb, SHOWN)), ("engine-0", engine_without_alternatives(kb))]
    if not args.engine:
        dev_cases = sets[0][1]
        t0 = time.perf_counter()
        bm25 = bm25_baseline(entries)
        t1 = time.perf_counter()
        fz = fuzz_baseline(entries)
        t2 = time.perf_counter()
        print(f"baseline load: bm25s {1000 * (t1 - t0):.0f} ms, "
              f"rapidfuzz {1000 * (t2 - t1):.0f} ms")
        systems += [("bm25s", with_threshold(bm25, best_threshold(bm25, dev_cases))),
                    ("rapidfuzz", with_threshold(fz, best_threshold(fz, dev_cases)))]
    for name, search in systems:
        for label, cases in sets:
            report(name, label, search, cases, args.verbose and name == "engine")


if __name__ == "__main__":
    main()
