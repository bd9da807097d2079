"""Knowledge replies: escaping, length limits, buttons and callback parsing."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from types import MappingProxyType

import pytest

from knowledge.loader import load_knowledge
from knowledge.model import KnowledgeBase, Source
from knowledge.render import (
    ESCALATE_DATA,
    Action,
    fit,
    handle_callback,
    parse_callback,
    render_entry,
    render_search,
)
from knowledge.search import SearchResult, build_index
from vvs.errors import StaleAction
from vvs.ui import CALLBACK_MAX_BYTES, MESSAGE_MAX_CHARS

FIXTURE = Path(__file__).parent / "data" / "knowledge"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    base, _findings = load_knowledge(FIXTURE, date(2026, 11, 24))
    return base


def datas(reply) -> list[str]:
    return [b.data for row in reply.buttons for b in row]


def test_answer_card_content_and_buttons(kb: KnowledgeBase) -> None:
    reply = render_entry(kb.entries["info-preoccupante"])
    assert reply.text.startswith("<b>L'information préoccupante (IP) à la CRIP</b>")
    assert "Contenu en cours de validation" in reply.text
    assert '<a href="https://example.org/cp-226-14">Code pénal, art. 226-14</a>' in reply.text
    assert "Guide départemental de l'IP (référence à vérifier)" in reply.text
    assert "Mis à jour le 15 octobre 2026" in reply.text
    assert "<b>CRIP</b>" in reply.text  # **bold** in the summary
    assert datas(reply) == ["k:more:info-preoccupante", "k:rel:info-preoccupante",
                            "k:nr:info-preoccupante", "k:theme:mineur"]


def test_a_card_follows_its_entry_and_the_language(kb: KnowledgeBase) -> None:
    """Cards are built once per entry and language: an edited entry, or another language,
    is another card."""
    from vvs.i18n import use_language

    entry = kb.entries["secret-medical"]
    first = render_entry(entry).text
    edited = dataclasses.replace(entry, summary="Un **autre** résumé.")
    assert "Un <b>autre</b> résumé." in render_entry(edited).text
    assert render_entry(entry).text == first
    with use_language("en"):
        english = render_entry(entry).text
    assert english != first and "Updated" in english and "Mis à jour" in first
    assert render_entry(entry).text == first


def test_validated_entry_has_no_draft_mention(kb: KnowledgeBase) -> None:
    assert "en cours de validation" not in render_entry(kb.entries["secret-medical"]).text


def test_user_text_is_escaped(kb: KnowledgeBase) -> None:
    entry = dataclasses.replace(kb.entries["secret-medical"], title="A <script> & co",
                                sources=(Source("<b>x</b>", 'https://e.org/?a="1"&b'),))
    text = render_entry(entry).text
    assert "A &lt;script&gt; &amp; co" in text and "<script>" not in text
    assert 'href="https://e.org/?a=&quot;1&quot;&amp;b">&lt;b&gt;x&lt;/b&gt;</a>' in text


def test_abstention_reply_offers_suggestions_and_referent(kb: KnowledgeBase) -> None:
    reply = render_search(kb, SearchResult(False, (("secret-medical", 0.3),)))
    assert "pas de réponse sûre" in reply.text
    assert datas(reply) == ["k:e:secret-medical", "k:t", "k:ed", ESCALATE_DATA]


def test_not_helpful_offers_the_editors_with_its_event(kb: KnowledgeBase) -> None:
    reply = handle_callback(kb, "k:nr:secret-medical")
    assert datas(reply)[-3:] == ["k:ed:secret-medical", "k:t", ESCALATE_DATA]
    assert all(d.startswith("k:e:") for d in datas(reply)[:-3])  # other candidates first
    assert [type(e).__name__ for e in reply.events] == ["QuestionNotHelpful"]
    assert reply.events[0].entry_id == "secret-medical"
    with pytest.raises(StaleAction):  # the handler's, with the conversation state
        handle_callback(kb, "k:edok")


def test_answered_search_renders_the_best_card(kb: KnowledgeBase) -> None:
    reply = render_search(kb, kb.search("comment faire une IP"))
    assert "CRIP" in reply.text and "k:more:info-preoccupante" in datas(reply)


def test_every_reply_fits_telegram_limits_even_with_huge_content(kb: KnowledgeBase) -> None:
    long_id = "x" * 40
    big = dataclasses.replace(kb.entries["secret-medical"], id=long_id,
                              summary="**gras** " * 400 + "\n- point\n" * 300,
                              details="ligne **importante**\n" * 1000,
                              related=tuple(kb.entries))
    entries = MappingProxyType({**kb.entries, long_id: big})
    huge = KnowledgeBase(entries, build_index(None, tuple(entries.values())))
    for data in ("k:e:", "k:more:", "k:rel:", "k:not:", "k:nr:"):
        reply = handle_callback(huge, data + long_id)
        assert len(reply.text) <= MESSAGE_MAX_CHARS
        assert reply.text.count("<b>") == reply.text.count("</b>")
        assert all(len(d.encode()) <= CALLBACK_MAX_BYTES for d in datas(reply))


def test_fit_cuts_a_single_huge_line_as_plain_text() -> None:
    text = fit(["<b>" + "&amp;" * 2000 + "</b>"])
    assert len(text) <= MESSAGE_MAX_CHARS and "<b>" not in text and text.endswith("…")


@pytest.mark.parametrize(("data", "action"), [
    ("k:t", Action("themes")),
    ("k:theme:mineur", Action("theme", "mineur")),
    ("k:e:secret-medical", Action("e", "secret-medical")),
    ("k:more:secret-medical", Action("more", "secret-medical")),
    ("k:rel:info-preoccupante", Action("rel", "info-preoccupante")),
    ("k:not:violences-conjugales", Action("not", "violences-conjugales")),
    ("k:nr:secret-medical", Action("nr", "secret-medical")),
    ("k:ed", Action("ed")),
    ("k:ed:secret-medical", Action("ed", "secret-medical")),
    ("k:edok", Action("edok")),
    ("k:edno", Action("edno")),
])
def test_parse_callback(kb: KnowledgeBase, data: str, action: Action) -> None:
    assert parse_callback(data, kb) == action


@pytest.mark.parametrize("data", [
    "", "k", "k:", "k:more", "k:more:", "k:more:inconnu", "k:more:secret-medical:x",
    "k:theme:donnees",  # a theme without entries in this base
    "k:theme:autre", "k:drop:secret-medical", "a:more:secret-medical", "K:T",
    "k:more:../etc", "k:e:" + "x" * 70, "k:e:secret-medical\n", "k:tt",
    "k:nr", "k:nr:inconnu", "k:ed:inconnu", "k:ed:secret-medical:x", "k:edok:1", "k:edno:x",
])
def test_parse_callback_rejects_forged_data(kb: KnowledgeBase, data: str) -> None:
    with pytest.raises(StaleAction):
        parse_callback(data, kb)


def test_callbacks_render_lists_and_not_mine(kb: KnowledgeBase) -> None:
    themes = handle_callback(kb, "k:t")
    assert datas(themes) == ["k:theme:secret", "k:theme:majeur", "k:theme:mineur"]
    theme = handle_callback(kb, "k:theme:majeur")
    assert datas(theme) == ["k:e:violences-conjugales", "k:t"]
    related = handle_callback(kb, "k:rel:info-preoccupante")
    assert datas(related)[:2] == ["k:e:secret-medical", "k:e:violences-conjugales"]
    # « Cette fiche ne répond pas » (and the former « Ce n'est pas ma question » of cards
    # sent before): the other candidates, the editors' offer, the themes, a referent
    for data in ("k:nr:info-preoccupante", "k:not:info-preoccupante"):
        not_mine = handle_callback(kb, data,
                                   suggestions=["info-preoccupante", "violences-conjugales"])
        assert datas(not_mine) == ["k:e:violences-conjugales", "k:ed:info-preoccupante", "k:t",
                                   ESCALATE_DATA]
    more = handle_callback(kb, "k:more:secret-medical")
    assert "général et absolu" in more.text and "k:e:secret-medical" in datas(more)


def test_details_carry_the_draft_banner_like_the_card(kb: KnowledgeBase) -> None:
    """Details are opened straight from a procedure (k:more:<id>), without the card."""
    draft = handle_callback(kb, "k:more:info-preoccupante").text
    assert draft.splitlines()[1] == "<i>Contenu en cours de validation</i>"
    assert "en cours de validation" not in handle_callback(kb, "k:more:secret-medical").text
