"""English-speaking physicians: the sheets stay French, with an English title and a notice,
and English questions on the main topics find their sheet."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.loader import load_knowledge
from knowledge.model import KnowledgeBase
from knowledge.render import render_entry
from tests.botharness import Chat, make_settings, running_bot, texts
from vvs.i18n import use_language

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    base, findings = load_knowledge(ROOT)
    assert not [f for f in findings if f.field == "title_en"]  # every sheet has one
    return base


# One question per main topic of the issue: CRIP, secrecy, signalement, certificate, ITT,
# physician assaulted.
MAIN_TOPICS = [
    ("what is the CRIP", {"crip"}),
    ("what does medical secrecy cover", {"secret-professionnel"}),
    ("how do I report child abuse to the prosecutor", {"signalement-mineur"}),
    ("how to write a medical certificate for assault injuries", {"certificat-constatation"}),
    ("what is ITT", {"itt"}),
    ("physician attacked in my practice, how do I file a complaint",
     {"medecin-victime-plainte"}),
    ("I was assaulted by a patient, what should I do",
     {"medecin-victime-premiers-gestes", "medecin-victime-plainte"}),
]


@pytest.mark.parametrize(("question", "expected"), MAIN_TOPICS)
def test_english_questions_find_their_sheet(kb, question, expected) -> None:
    result = kb.index.search(question)
    assert expected & set(result.offered), (question, result)  # on screen or one tap away


def test_out_of_scope_english_is_not_answered(kb) -> None:
    assert not kb.index.search("what is the best treatment for migraine").answered


def test_card_in_english_has_the_english_title_and_says_the_sheet_is_french(kb) -> None:
    entry = kb.entries["crip"]
    with use_language("en"):
        text = render_entry(entry).text
    assert text.startswith("<b>The CRIP: the département's unit for child-protection")
    assert "This sheet is in French; only its title is translated." in text
    with use_language("fr"):
        french = render_entry(entry).text
    assert french.startswith("<b>La CRIP") and "only its title" not in french


@pytest.mark.asyncio
async def test_what_is_the_crip_in_english_through_the_bot(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path)) as (api, _s):
        sent = await Chat(api, 733, language="en").say("what is the CRIP")
    text = texts(sent)
    assert "The CRIP: the département's unit for child-protection referrals" in text
    assert "only its title is translated" in text
