"""« When unsure, ask »: close runners-up are offered beside the answer, a strong best entry
just below the threshold is shown with its runners-up, and out-of-scope questions still
abstain."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge import search as ks
from knowledge.loader import load_knowledge
from knowledge.model import KnowledgeBase
from knowledge.render import render_search

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    base, _findings = load_knowledge(ROOT)
    return base


def datas(reply) -> list[str]:
    return [b.data for row in reply.buttons for b in row]


# The two examples of issue 13: today the first gets no answer although the right sheet is
# the first suggestion, the second a sheet about children.
@pytest.mark.parametrize(("question", "best", "offered"), [
    ("signalemnt sans accor dune femme majeur", "signalement-majeur-consentement",
     "signalement-majeur-consentement"),
    ("jai le droit de parler a lassistante sociale du secret", None, "secret-partage"),
])
def test_issue_examples_put_the_right_sheet_one_tap_away(
        kb: KnowledgeBase, question: str, best: str | None, offered: str) -> None:
    result = kb.search(question, 4)
    assert result.answered and result.alternatives
    if best:
        assert result.results[0][0] == best
    assert offered in result.offered
    reply = render_search(kb, result)
    assert "Vouliez-vous plutôt :" in reply.text
    for other in result.alternatives:
        assert f"k:e:{other}" in datas(reply)
        assert kb.entries[other].title in reply.text


@pytest.mark.parametrize("question", [
    "c koi la crip",
    "victime majeure : son consentement est-il obligatoire pour le signalement ?",
    "secret partagé entre professionnels de santé",
])
def test_a_clear_winner_shows_no_suggestions(kb: KnowledgeBase, question: str) -> None:
    result = kb.search(question, 4)
    assert result.answered and result.alternatives == ()
    reply = render_search(kb, result)
    assert "Vouliez-vous" not in reply.text
    assert not any(d.startswith("k:e:") for d in datas(reply))


@pytest.mark.parametrize("question", [
    # near misses: the closest an out-of-scope question comes to each rule
    "remplaçant en médecine générale, contrat",  # best 0.45, runner-up close
    "patient veut donner un rein a son frere, procedure",  # best 0.42, clear lead
    "certificat medical pour titre de sejour etranger malade",
    "un patient porte plainte contre moi pour erreur médicale",  # off-topic cue
    "quel temps fera-t-il demain à Paris",
])
def test_out_of_scope_questions_still_abstain(kb: KnowledgeBase, question: str) -> None:
    result = kb.search(question, 4)
    assert not result.answered and result.alternatives == ()
    assert "pas de réponse sûre" in render_search(kb, result).text


B, M = ks.THRESHOLD, ks.MARGIN


# scores of the first entries, off-topic cue seen, best raw BM25 → answered, alternatives
@pytest.mark.parametrize(("scores", "off_topic", "evidence", "answered", "alternatives"), [
    ((0.80, 0.60, 0.50), False, 40.0, True, 0),  # clear winner
    ((0.80, 0.75, 0.50), False, 40.0, True, 1),  # one close runner-up
    ((0.80, 0.78, 0.76), False, 40.0, True, 2),  # two
    ((0.80, 0.80 - ks.CLOSE - 0.01, 0.5), False, 40.0, True, 0),  # just outside CLOSE
    ((0.80, 0.78, 0.10), False, 40.0, True, 1),  # never below the suggestion floor
    ((B - 0.01, B - 0.01 - M, 0.2), False, 5.0, True, 2),  # strong, clear lead, little
                                                            # evidence: shown, unsure
    ((ks.STRONG - 0.01, 0.1, 0.05), False, 5.0, False, 0),  # not strong enough
    ((B - 0.01, B - 0.01 - M + 0.02, 0.2), False, 5.0, False, 0),  # no clear lead
    ((B - 0.01, 0.1, 0.05), True, 5.0, False, 0),  # off-topic cue
    ((B - 0.01, 0.2, 0.19), False, 40.0, True, 0),  # below the threshold, clear winner
])
def test_the_rule(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch, scores: tuple,
                  off_topic: bool, evidence: float, answered: bool, alternatives: int) -> None:
    full = np.zeros(len(kb.index.ids))
    full[: len(scores)] = scores
    monkeypatch.setattr(kb.index, "signals", lambda _q: (full, off_topic, evidence))
    result = kb.search("x", 4)
    assert result.answered is answered
    assert result.alternatives == kb.index.ids[1 : 1 + alternatives]
