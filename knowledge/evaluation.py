"""Evaluation of a search function on a TSV set (`expected ids | ... <TAB> question`)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.model import KnowledgeBase

# question → (answered, ids best first, ids on screen or one tap away: the answer and the
# alternatives offered beside it, or the suggestions of an abstention)
SearchFn = Callable[[str], tuple[bool, list[str], list[str]]]


@dataclass(frozen=True)
class Case:
    """One line of an evaluation file; `expected` is empty for out-of-scope questions."""

    expected: frozenset[str]
    question: str


@dataclass
class Metrics:
    """In-scope accuracy (answered and top-1 expected), the right entry offered (on screen or
    one tap away), out-of-scope abstention, latency."""

    in_scope: int = 0
    in_scope_right: int = 0
    in_scope_offered: int = 0
    out_scope: int = 0
    out_scope_abstained: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.in_scope_right / self.in_scope if self.in_scope else 1.0

    @property
    def reach(self) -> float:
        """Share of in-scope questions whose right entry is on screen or one tap away."""
        return self.in_scope_offered / self.in_scope if self.in_scope else 1.0

    @property
    def abstention(self) -> float:
        return self.out_scope_abstained / self.out_scope if self.out_scope else 1.0

    def latency(self, q: float) -> float:
        """Latency quantile in milliseconds (0.5 = median)."""
        if not self.latencies_ms:
            return 0.0
        if q == 0.5:
            return statistics.median(self.latencies_ms)
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def read_cases(path: Path) -> list[Case]:
    """Parse an evaluation TSV (comments start with '#')."""
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        expected, question = line.split("\t", 1)
        ids = frozenset() if expected.strip() == "-" else frozenset(expected.strip().split("|"))
        cases.append(Case(ids, question.strip()))
    return cases


def evaluate(search: SearchFn, cases: list[Case]) -> Metrics:
    """Run every case through `search` and count."""
    metrics = Metrics()
    for case in cases:
        start = time.perf_counter()
        answered, ids, offered = search(case.question)
        metrics.latencies_ms.append((time.perf_counter() - start) * 1000)
        if case.expected:
            metrics.in_scope += 1
            ok = answered and bool(ids) and ids[0] in case.expected
            metrics.in_scope_right += ok
            metrics.in_scope_offered += bool(case.expected.intersection(offered))
            if not ok:
                got = ids[0] if ids else "∅"
                metrics.failures.append(f"IN  {'|'.join(sorted(case.expected))} ← "
                                        f"{case.question!r}: {got} answered={answered}")
        else:
            metrics.out_scope += 1
            metrics.out_scope_abstained += not answered
            if answered:
                metrics.failures.append(f"OUT {case.question!r}: {ids[0]}")
    return metrics


def engine_search(kb: KnowledgeBase, top: int = 3) -> SearchFn:
    """Adapter from `KnowledgeBase.search` to `SearchFn` (`top`: suggestions on abstention)."""

    def run(question: str) -> tuple[bool, list[str], list[str]]:
        result = kb.search(question, top)
        return result.answered, [i for i, _s in result.results], list(result.offered)

    return run
