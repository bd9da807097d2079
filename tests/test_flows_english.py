"""Flows in English: every shown text is translated and keeps the French's numbers, articles,
bold and bullets; an English physician sees it with the not-validated line, end to end, and
no French flow text on the way; the drafts stay French."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator
from types import MappingProxyType

import pytest

from bot.flows.engine import FlowEngine, FlowState, fmt
from bot.flows.model import DEPARTMENTS, Flows, Outcome, Step, Validation
from tests.botharness import Chat, buttons, make_settings, running_bot, texts
from tests.flowkit import engine, walk
from tests.test_flows_bot_e2e import needs_pdftotext, pdf_text
from tests.test_flows_engine import SCENARIOS
from vvs.i18n import use_language
from vvs.ui import MESSAGE_MAX_CHARS

NOTICE = "English translation not yet validated; the French text prevails."
# Article numbers (226-14, L.226-2-1, R.4127-44, 2025-623), items (1°), and numbers of two
# digits or more (phones, ages, hours; not the minutes of "18:00").
LEGAL_TOKEN = re.compile(r"\d+(?:[-.]\d+)+|\d+°|(?<![\d:])\d{2,}(?: \d{2,3})*")


@pytest.fixture(scope="module")
def eng() -> FlowEngine:
    return engine()


def translated(eng: FlowEngine) -> Iterator[tuple[str, str, str]]:
    """(where, French, English) for every shown field of every step and outcome."""
    for flow in eng.flows.flows.values():
        nodes: list[Step | Outcome] = [*flow.steps.values(), *flow.outcomes.values()]
        for node in nodes:
            if isinstance(node, Step) and node.type == "goto":
                continue
            english = node.shown_in("en")
            assert node.en is not None, f"{flow.id}:{node.id} has no English"
            for field, french in node.french().items():
                french_texts = (french,) if isinstance(french, str) else french
                shown = getattr(english, field)
                english_texts = (shown,) if isinstance(shown, str) else tuple(
                    c.label for c in shown)
                for i, (fr, en) in enumerate(zip(french_texts, english_texts, strict=True)):
                    yield f"{flow.id}:{node.id}.{field}[{i}]", fr, en


def test_every_translation_keeps_numbers_articles_bold_bullets_and_paragraphs(eng) -> None:
    checked = 0
    for where, fr, en in translated(eng):
        if not fr:
            assert not en, where
            continue
        assert en != fr, f"{where} is not translated"
        assert set(LEGAL_TOKEN.findall(en)) == set(LEGAL_TOKEN.findall(fr)), where
        assert en.count("**") == fr.count("**"), f"{where}: bold"
        assert len(re.findall(r"(?m)^- ", en)) == len(re.findall(r"(?m)^- ", fr)), where
        assert en.count("\n\n") == fr.count("\n\n"), f"{where}: paragraphs"
        checked += 1
    assert checked >= 100


def test_the_duty_to_alert_keeps_its_conscience_clause_in_english(eng) -> None:
    """R.4127-44 al. 2, as tests/test_legal_wording.py checks it in French."""
    duty = re.compile(r"alerting the authorities (is|remains) a duty|ethical duty|must alert")
    clause = re.compile(r"except in particular circumstances that you assess in conscience")
    lines = [(where, line) for where, _fr, en in translated(eng)
             for line in en.replace("**", "").splitlines() if duty.search(line)]
    assert len(lines) >= 6
    assert [w for w, line in lines if not clause.search(line)] == []


@pytest.mark.parametrize(("name", "flow", "answers", "outcome", "_texts"), SCENARIOS,
                         ids=[s[0] for s in SCENARIOS])
def test_scenario_in_english(eng, name, flow, answers, outcome, _texts) -> None:
    """Same path, same outcome; every screen opens with the notice; no French flow text."""
    with use_language("en"):
        done = walk(eng, flow, answers)
    assert done.outcome == outcome
    assert all(text.startswith(f"<i>⚠️ {NOTICE}</i>\n\n<b>") for text in done.texts)
    left = [fr for fr in french_paragraphs(eng) if fr in done.all_text]
    assert left == [], f"French left in {name}"
    english = eng.flows[done.state.flow].outcomes[done.state.step].shown_in("en")
    assert fmt(english.now) in done.all_text and "Legal basis" in done.all_text


def french_paragraphs(eng: FlowEngine) -> set[str]:
    """Every French paragraph and choice label of the flows, as the engine renders it."""
    return {fmt(paragraph) for _where, fr, _en in translated(eng)
            for paragraph in fr.split("\n\n") if len(paragraph) > 3}


def test_french_user_sees_french_without_the_notice(eng) -> None:
    done = walk(eng, "mineur", ["Non", "Oui, des faits", "93"])
    assert "Faites un <b>signalement au procureur" in done.all_text
    assert "English" not in done.all_text and "Victime mineure" in done.texts[0]


def test_a_validated_translation_drops_the_notice(eng) -> None:
    flows = dict(eng.flows.flows)
    flows["mineur"] = dataclasses.replace(
        flows["mineur"], en_validated=Validation("Dr Test", dt.date(2026, 1, 15), "x"))
    validated = FlowEngine(Flows(MappingProxyType(flows)), eng.directory, eng.knowledge)
    with use_language("en"):
        done = walk(validated, "ip", ["Non", "Oui", "93"])
    assert NOTICE in done.texts[0]  # ip is not validated
    assert NOTICE not in done.texts[-1]  # its jump into mineur is
    assert done.texts[-1].startswith("<b>Facts suggesting an offence")


def test_every_english_screen_fits_a_message(eng) -> None:
    with use_language("en"):
        for flow in eng.flows.flows.values():
            for node_id in [*flow.steps, *flow.outcomes]:
                if getattr(flow.node(node_id), "type", None) == "goto":
                    continue
                for department in (*DEPARTMENTS, "x", None):
                    state = FlowState(origin=flow.id, flow=flow.id, step=node_id,
                                      path=(f"{flow.id}:{flow.start}",),
                                      answered_dept=department, home="93")
                    assert len(eng.render(state).text) <= MESSAGE_MAX_CHARS


@needs_pdftotext
def test_the_draft_stays_french_for_an_english_user(eng, tmp_path) -> None:
    with use_language("en"):
        done = walk(eng, "mineur", ["Non", "Oui, des faits", "93"])
        _state, reply = eng.handle(done.state, "f:doc:signalement", today=dt.date(2026, 1, 15))
    assert reply.documents[0].caption.startswith("Indicative template for a report")  # English
    text = pdf_text(reply.documents[0].content, tmp_path)
    outcome = eng.flows["mineur"].outcomes["signalement"]
    assert "Signalement" in text and "226-14" in text and "prosecutor" not in text
    assert outcome.shown_in("en").mention == outcome.mention  # printed in French


DOCTOR = 811


async def test_an_english_physician_walks_a_procedure_in_english(db, tmp_path) -> None:
    """Through the bot: every screen English with the notice, buttons English, no French
    sentence of the flow files, the addressee from the directory."""
    eng = engine()
    french = french_paragraphs(eng)
    async with running_bot(make_settings(db.url, tmp_path)) as (api, _s):
        chat = Chat(api, DOCTOR, language="en")
        seen = [await chat.command("/start majeur")]
        for label in ("Yes, immediate danger", "Continue", "They can protect themselves",
                      "No, or they do not want", "Yes, within the couple", "Both:",
                      "Seine-Saint-Denis"):
            seen.append(await chat.press(label))
        for sent in seen:
            assert texts(sent).startswith(f"⚠️ {NOTICE}\n\nAdult victim") or \
                texts(sent).startswith(f"⚠️ {NOTICE}\n\nViolence within the couple")
        outcome = texts(seen[-1])
        assert "public prosecutor (procureur de la République) only" in outcome
        assert "Addressee" in outcome and "Legal basis" in outcome
        shown = "\n".join(texts(sent) for sent in seen)
        plain = {re.sub(r"</?b>", "", p) for p in french}
        assert [p for p in plain if p in shown] == []
        labels = {b for sent in seen for b in buttons(sent)}
        french_labels = {c.label for f in eng.flows.flows.values() for s in f.steps.values()
                         for c in s.choices}
        assert labels & french_labels == set()
