"""Quality gate on the shared development set: >= 90% right in scope, >= 90% abstention out."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.evaluation import engine_search, evaluate, read_cases
from knowledge.loader import load_knowledge

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT.parent / "shared" / "eval" / "qa-dev.tsv"
OWN = ROOT / "bench" / "knowledge_eval.tsv"
MIN_IN_SCOPE = 0.90
MIN_ABSTENTION = 0.90


@pytest.fixture(scope="module")
def search():
    kb, _findings = load_knowledge(ROOT)
    return engine_search(kb)


def test_dev_set_quality(search) -> None:
    if not DEV.exists():
        pytest.skip(f"{DEV} absent")
    metrics = evaluate(search, read_cases(DEV))
    assert metrics.in_scope and metrics.out_scope
    report = "\n".join(metrics.failures)
    assert metrics.accuracy >= MIN_IN_SCOPE, report
    assert metrics.abstention >= MIN_ABSTENTION, report


def test_own_set_is_well_formed_and_names_existing_entries() -> None:
    kb, _findings = load_knowledge(ROOT)
    cases = read_cases(OWN)
    expected = {i for c in cases for i in c.expected}
    assert expected <= set(kb.entries), expected - set(kb.entries)
    assert sum(1 for c in cases if not c.expected) >= 40
