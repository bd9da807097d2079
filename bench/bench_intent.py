"""Intent benchmark: what a free text typed at the menu is read as, on bench/intent_eval.tsv.

Run: `.venv/bin/python bench/bench_intent.py [-v] [--set PATH]` from the repository root
(`--set` reads another labelled set, e.g. bench/intent_holdout.tsv). Prints, for our
reader (`intent.reader.read`) and, in the same run, for today's behaviour (every text goes to
the knowledge base: its answer, else nothing) and a keyword-only reader (a kind or a place
named → directory, a flow's title typed verbatim → procedure, else the knowledge base):
and plain BM25 over the sheets (every text a question; `.[bench]` installed),
top-1 accuracy (the first reading offered is right), "offered" (a right reading is among
those offered), per group of the set, and the per-call time of our reader.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from annuaire.loader import load_directory  # noqa: E402
from annuaire.model import Directory  # noqa: E402
from annuaire.search import detect_kinds  # noqa: E402
from annuaire.text import normalize  # noqa: E402
from bot.flows.loader import load_flows  # noqa: E402
from intent.model import DirectoryReading, Intent, ProcedureReading, QuestionReading  # noqa: E402
from intent.reader import read  # noqa: E402
from knowledge.loader import load_knowledge  # noqa: E402
from knowledge.model import KnowledgeBase  # noqa: E402
from knowledge.search import fold  # noqa: E402

EVAL = ROOT / "bench" / "intent_eval.tsv"
Reader = Callable[[str], Intent]


def read_labels(path: Path = EVAL) -> list[tuple[tuple[str, ...], str]]:
    """(acceptable readings, text) per line (comments start with '#')."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            labels, text = line.split("\t", 1)
            out.append((tuple(labels.split()), text.strip()))
    return out


def matches(reading: object, label: str, directory: Directory) -> bool:
    """One reading against one label (`directory[:kind][@dept]`, `procedure:x`, `question:x`)."""
    name, _, rest = label.partition(":")
    if name.startswith("directory"):
        if not isinstance(reading, DirectoryReading):
            return False
        spec = rest if name == "directory" else name[len("directory"):]
        kind, _, dept = spec.partition("@")
        if kind and reading.kind != kind:
            return False
        if dept:
            depts = {reading.place.department} if reading.place else set()
            depts |= {e.department for e in directory.entries if e.id == reading.entry}
            return dept in depts
        return True
    if name == "procedure":
        return isinstance(reading, ProcedureReading) and reading.flow == rest
    if name == "question":
        return isinstance(reading, QuestionReading) and reading.entry == rest
    return False


def group(labels: tuple[str, ...]) -> str:
    return labels[0].split(":")[0].split("@")[0]


def evaluate(reader: Reader, cases, directory: Directory, verbose: bool, name: str) -> None:
    top1: dict[str, list[bool]] = defaultdict(list)
    offered: dict[str, list[bool]] = defaultdict(list)
    times = []
    for labels, text in cases:
        start = time.perf_counter()
        intent = reader(text)
        times.append((time.perf_counter() - start) * 1000)
        if labels == ("none",):
            first = every = not intent.readings
        else:
            first = bool(intent.readings) and any(matches(intent.readings[0], lab, directory)
                                                  for lab in labels)
            every = any(matches(r, lab, directory) for r in intent.readings for lab in labels)
        top1[group(labels)].append(first)
        offered[group(labels)].append(every)
        if verbose and not first:
            got = ", ".join(_show(r) for r in intent.readings) or "∅"
            print(f"      {'  ' if every else '✗ '}{' '.join(labels):<45} {text!r} → {got}")
    cells = []
    for key in ("directory", "procedure", "question", "none"):
        cells.append(f"{key} {sum(top1[key]):>2}/{sum(offered[key]):>2}/{len(top1[key]):<2}")
    all1 = sum(sum(v) for v in top1.values())
    allo = sum(sum(v) for v in offered.values())
    n = len(cases)
    times.sort()
    print(f"  {name:<10} top-1 {all1:>3}/{n} {all1 / n:6.1%}   offered {allo:>3}/{n} "
          f"{allo / n:6.1%}   [{'  '.join(cells)}]   median {statistics.median(times):5.2f} ms"
          f"   p99 {times[min(n - 1, int(0.99 * n))]:5.2f} ms")


def _show(r: object) -> str:
    if isinstance(r, DirectoryReading):
        place = r.place.department if r.place else "-"
        return f"directory:{r.kind}@{place}{'/' + r.entry if r.entry else ''} {r.score:.2f}"
    if isinstance(r, ProcedureReading):
        return f"procedure:{r.flow} {r.score:.2f}"
    assert isinstance(r, QuestionReading)
    return f"question:{r.entry} {r.score:.2f}"


def knowledge_only(kb: KnowledgeBase) -> Reader:
    """Today: every text is a question for the knowledge base."""
    def run(text: str) -> Intent:
        result = kb.search(text, 3)
        if not result.answered:
            return Intent()
        return Intent((QuestionReading(result.results[0][1], result.results[0][0]),))
    return run


def keywords(kb: KnowledgeBase, directory: Directory, flows) -> Reader:
    """A kind or a place named → directory; a flow's title verbatim → procedure; else KB."""
    fallback = knowledge_only(kb)

    def run(text: str) -> Intent:
        folded = normalize(text)
        kinds = detect_kinds(folded)
        places = directory.index.gaz.find_in_tokens(folded.split())
        if kinds or places:
            kind = next(iter(kinds)) if len(kinds) == 1 else None
            return Intent((DirectoryReading(1.0, kind, places[0][0] if places else None),))
        for flow in flows.flows.values():
            if fold(flow.title) in fold(text):
                return Intent((ProcedureReading(1.0, flow.id),))
        return fallback(text)
    return run


def plain_bm25(kb: KnowledgeBase) -> Reader | None:
    """Plain BM25 (bm25s, `pip install -e .[bench]`) over the sheets, every text a question,
    with the knowledge benchmark's threshold tuned on the dev set; None when not installed."""
    try:
        import bm25s  # noqa: F401
    except ImportError:
        return None
    from bench_knowledge import DEV, OWN, best_threshold, bm25_baseline

    from knowledge.evaluation import read_cases

    scorer = bm25_baseline(list(kb.entries.values()))
    threshold = best_threshold(scorer, read_cases(DEV if DEV.exists() else OWN))

    def run(text: str) -> Intent:
        ranked = scorer(text)
        if not ranked or ranked[0][1] < threshold:
            return Intent()
        return Intent((QuestionReading(ranked[0][1], ranked[0][0]),))
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="list the misses")
    parser.add_argument("--set", type=Path, default=EVAL, metavar="PATH",
                        help="labelled set to read (default: bench/intent_eval.tsv)")
    args = parser.parse_args()
    kb, _ = load_knowledge(ROOT)
    directory, _ = load_directory(ROOT)
    flows, _ = load_flows(ROOT, kb)
    assert directory is not None and flows is not None
    cases = read_labels(args.set)
    source = "" if args.set == EVAL else f"{args.set}: "
    print(f"{source}{len(cases)} texts; cells: group top-1/offered/count")
    readers = [("intent", lambda t: read(t, kb, directory, flows.flows)),
               ("kb-only", knowledge_only(kb)), ("keywords", keywords(kb, directory, flows))]
    bm25 = plain_bm25(kb)
    if bm25 is None:
        print("  (plain BM25 skipped: pip install -e .[bench])")
    else:
        readers.append(("bm25", bm25))
    for name, reader in readers:
        evaluate(reader, cases, directory, args.verbose and name == "intent", name)


if __name__ == "__main__":
    main()
