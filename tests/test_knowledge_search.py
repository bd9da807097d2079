"""Knowledge search: physicians' French (typos, acronyms, SMS, word order) and abstention."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from knowledge.loader import load_knowledge
from knowledge.model import KnowledgeBase
from knowledge.search import analyse, fold, texting

FIXTURE = Path(__file__).parent / "data" / "knowledge"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    base, _findings = load_knowledge(FIXTURE, date(2026, 11, 24))
    return base


def top(kb: KnowledgeBase, question: str) -> str | None:
    result = kb.search(question)
    return result.results[0][0] if result.answered else None


def test_fold_handles_case_accents_and_article_numbers() -> None:
    assert fold("Préoccupante, ÉVALUATION") == "preoccupante evaluation"
    assert fold("art. R.4127-44 du CSP") == "r4127_44 du csp"
    assert fold("l'article 226-14") == "l article 226_14"


@pytest.mark.parametrize(("question", "expected"), [
    ("que couvre le secret médical ?", "secret-medical"),  # sample question
    ("QUE COUVRE LE SECRET MEDICAL", "secret-medical"),  # case and accents
    ("le secret medcial couvre quoi", "secret-medical"),  # typo, word order
    ("c koi le secret médical", "secret-medical"),  # SMS
    ("comment faire une IP", "info-preoccupante"),  # acronym → expansion
    ("transmettre des informations préoccupantes", "info-preoccupante"),  # plural
    ("a qui transmettre une information preocupante", "info-preoccupante"),  # typo
    ("jdois écrire à la CRIP pour un gamin maltraité ?", "info-preoccupante"),  # SMS + synonym
    ("patiente battue par son mari, danger immédiat", "violences-conjugales"),  # synonyms
    ("emprise danger immediat femme", "violences-conjugales"),  # word order
])
def test_in_scope_questions_are_answered(kb: KnowledgeBase, question: str,
                                         expected: str) -> None:
    assert top(kb, question) == expected


@pytest.mark.parametrize("question", [
    "dose maximale de paracétamol",
    "certificat de décès à domicile",
    "secret médical envers l'assureur du patient",
    "déclarer un effet indésirable",
    "arrêt maladie de plus de trois mois",
    "qui a gagné le match hier",
    "",
    "???",
])
def test_out_of_scope_questions_abstain(kb: KnowledgeBase, question: str) -> None:
    result = kb.search(question)
    assert not result.answered


def test_abstention_still_offers_close_entries_as_suggestions(kb: KnowledgeBase) -> None:
    result = kb.search("secret médical envers l'assureur du patient")
    assert not result.answered
    assert result.results and result.results[0][0] == "secret-medical"


def test_scores_are_in_unit_interval_and_sorted(kb: KnowledgeBase) -> None:
    result = kb.search("secret médical et violences conjugales", top=3)
    scores = [s for _i, s in result.results]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert len(kb.search("secret", top=1).results) <= 1


def test_texting_forms_are_spelt_out() -> None:
    sms = {"koi": ("quoi",), "pr": ("pour",)}
    assert texting("koi", sms) == ("quoi",)
    assert texting("6a", sms) == ("6", "ans")
    assert texting("85ans", sms) == ("85", "ans")
    assert texting("jfais", sms) == ("je", "fais")
    assert texting("jpeux", sms) == ("je", "peux")
    assert texting("jardin", sms) == ("jardin",)  # a real word stays
    assert texting("r4127_44", sms) == ("r4127_44",)


def test_acronym_and_long_form_are_alternatives() -> None:
    from knowledge.search import Tables

    tables = Tables.load()
    [unit] = analyse("ITT", tables)
    assert ("itt",) in unit.alternatives
    assert ("incapacit", "total", "travail") in unit.alternatives


def test_off_topic_cues_with_exceptions_and_acronyms(kb: KnowledgeBase) -> None:
    index = kb.index
    assert index.off_topic(analyse("arrêt de travail de trois mois", index.tables))
    assert not index.off_topic(analyse("ITT ou arrêt de travail ?", index.tables))
    assert index.off_topic(analyse("formulaire AT pour un patient", index.tables))
    assert not index.off_topic(analyse("la déclaration remplace-t-elle la plainte",
                                       index.tables))
    assert index.off_topic(analyse("certificat médical de décès", index.tables))  # gap
    assert not index.off_topic(analyse("décès puis certificat", index.tables))  # order


def test_typo_correction_is_conservative(kb: KnowledgeBase) -> None:
    index = kb.index
    assert index.corrections("secret medcial") == {"medcial": "medical"}
    assert "mutuelle" not in index.corrections("mutuelle")  # not "tutelle": first letter
    assert index.corrections("fracture") == {}  # not "facturer", two edits from a cue word
    assert index.corrections("acident du travail") == {"acident": "accident"}


def test_real_french_words_are_not_corrected(kb: KnowledgeBase) -> None:
    pytest.importorskip("spellchecker")
    index = kb.index
    assert index.corrections("danser") == {}  # a French word, not a typo of "danger"
    assert index.corrections("dnager") == {"dnager": "danger"}
    # a French word unknown to the base joins a word of the same family
    assert index.corrections("confidentiel") == {"confidentiel": "confidentialite"}


def test_unknown_french_words_count_by_rarity(kb: KnowledgeBase) -> None:
    pytest.importorskip("spellchecker")
    index = kb.index

    def unknown(question: str) -> float:
        return index.unknown_french(analyse(question, index.tables,
                                            index.corrections(question)))

    assert unknown("secret du patient") == 0  # every word known to the base
    assert unknown("une fois le patient") == 0  # an everyday word barely counts
    assert unknown("fièvre du patient") > 0.3  # a topic word the base does not cover
