"""Typed events: one mapping to the `event` table's columns, recorded by the turn.

The session below pins the rows a physician's turns leave, so the table stays compatible
with what the statistics read (they were the same before events were typed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from tests.botharness import Chat, make_settings, running_bot, texts
from vvs import events as ev
from vvs.models import Event

ROWS = [
    (ev.Started(language="fr"), ("start", "93", "fr", None, None)),
    (ev.Started(deep_link=True, language="en"), ("start", "93", "en", "deeplink", None)),
    (ev.EmergencyNumbersShown(), ("emergency_numbers", "93", None, "command", None)),
    (ev.EmergencyDetected("flow"), ("emergency_shown", "93", None, "flow", None)),
    (ev.LanguageChosen("en"), ("language", "93", None, "en", None)),
    (ev.QuestionAnswered("itt"), ("question", "93", "answered", "itt", None)),
    (ev.QuestionAnswered("itt", unsure=True), ("question", "93", "clarified", "itt", None)),
    (ev.QuestionAbstained("itt"), ("question", "93", "abstained", "itt", None)),
    (ev.QuestionAbstained(), ("question", "93", "abstained", None, None)),
    (ev.QuestionNotHelpful("itt"), ("question_not_helpful", "93", None, "itt", None)),
    (ev.QuestionToEditors("answer", "itt"), ("question_to_editors", "93", "answer", "itt",
                                             None)),
    (ev.QuestionToEditors("abstention", None), ("question_to_editors", "93", "abstention",
                                                None, None)),
    (ev.EntryOpened("itt"), ("knowledge_open", "93", None, "itt", None)),
    (ev.DirectorySearch("umj", "94", "location", 3), ("annuaire_search", "94", "umj",
                                                      "location", 3.0)),
    (ev.DirectorySearch("umj", "94", "place", 0), ("annuaire_search", "94", "umj", "place",
                                                   0.0)),
    (ev.DirectorySearch(None, None, "text", 2), ("annuaire_search", "93", None, "text", 2.0)),
    (ev.FlowStarted("ip"), ("flow_start", "93", "ip", None, None)),
    (ev.FlowOutcome("mineur", "signalement", "ip", "94"),
     ("flow_outcome", "94", "mineur", "signalement", None)),
    (ev.FlowOutcome("mineur", "signalement", "ip", None),
     ("flow_outcome", "93", "mineur", "signalement", None)),
    (ev.FlowStep("mineur", "danger", "94"), ("flow_step", "94", "mineur", "danger", None)),
    (ev.FlowQuit("mineur", "faits", None), ("flow_quit", "93", "mineur", "faits", None)),
    (ev.DocumentGenerated("majeur", "signalement-couple", "signalement", "92"),
     ("flow_document", "92", "majeur", "signalement", None)),
    (ev.EscalationCreated("94", "vss", True),
     ("escalation_created", "94", "vss", "direct_regional", None)),
    (ev.EscalationEscalated("94", "vss", "timeout", 1440.0),
     ("escalation_escalated", "94", "vss", "timeout", 1440.0)),
    (ev.EscalationReminded("94", "vss", 240.0),
     ("escalation_reminded", "94", "vss", None, 240.0)),
    (ev.EscalationTaken("94", "vss", 3.5), ("escalation_taken", "94", "vss", None, 3.5)),
    (ev.EscalationReleased("94", "vss", 7.0), ("escalation_released", "94", "vss", None, 7.0)),
    (ev.EscalationReassigned("94", "vss"), ("escalation_reassigned", "94", "vss", None, None)),
    (ev.EscalationClosed("94", "vss", "conseil", 60.0),
     ("escalation_closed", "94", "vss", "conseil", 60.0)),
    (ev.EscalationBlocked("94", "vss"), ("escalation_blocked", "94", "vss", None, None)),
    (ev.EscalationCancelled("94", "vss", "erased", 2.0),
     ("escalation_cancelled", "94", "vss", "erased", 2.0)),
    (ev.EscalationRelayed("94", "vss", "to_referent"),
     ("escalation_relayed", "94", "vss", "to_referent", None)),
    (ev.ReferentEnrolled("94", group=True), ("referent_enrolled", "94", None, "group", None)),
    (ev.ReferentRemoved("94"), ("referent_removed", "94", None, None, None)),
]


@pytest.mark.parametrize(("event", "row"), ROWS, ids=[type(e).__name__ for e, _r in ROWS])
def test_each_event_maps_to_its_row(event: ev.Event, row: tuple) -> None:
    got = ev.event_row(event, user_department="93")
    assert (got.kind, got.department, got.category, got.detail, got.value) == row


def test_every_event_type_is_in_the_table() -> None:
    assert {type(e) for e, _r in ROWS} == set(ev.Event.__args__)


async def test_a_session_leaves_the_same_rows(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path)) as (api, services):
        chat = Chat(api, 811)
        await chat.command("/start")
        await chat.command("/urgence")
        await chat.say("c'est quoi l'ITT ?")
        await chat.press_data("k:more:itt")
        await chat.press_data("k:rel:itt")
        await chat.say("xylophone quantique")
        await chat.command("/annuaire")
        await chat.press_data("a:kind:umj")
        await chat.say("Créteil")
        await chat.press_data("s:dept:94")
        await chat.command("/start mineur")
        await chat.press("Non")
        await chat.say("il a un couteau il menace de la tuer")
        await chat.press("infraction")
        await chat.press("Seine-Saint-Denis")
        await chat.press_data("f:doc:signalement")
        await chat.press_data("f:x")
        await chat.command("/ip")
        await chat.press_data("f:b:nowhere")  # stale: shown again, no event
        await chat.command("/langue")
        await chat.press("English")
        await chat.command("/annuler")  # leaves /ip at its first step: a quit, with the step
        async with services.sessions() as session:
            rows = [(e.kind, e.department, e.category, e.detail, e.value) for e in (
                await session.exec(select(Event).order_by(Event.id))).scalars()]
            keys = {e.user_key for e in (await session.exec(select(Event))).scalars()}
    assert keys == {services.user_key(811)}
    assert rows == EXPECTED


EXPECTED: list[tuple] = [  # (kind, department, category, detail, value)
    ('start', None, 'fr', None, None),  # the language used
    ('emergency_numbers', None, None, 'command', None),
    ('question', None, 'answered', 'itt', None),
    ('knowledge_open', None, None, 'itt', None),
    ('question', None, 'abstained', None, None),  # nothing near: no nearest sheet
    ('annuaire_search', '94', 'umj', 'place', 7.0),  # a typed commune, 7 results
    ('start', '94', 'fr', 'deeplink', None),
    ('flow_start', '94', 'mineur', None, None),
    ('flow_step', '94', 'mineur', 'danger', None),
    ('flow_step', '94', 'mineur', 'faits', None),
    ('emergency_shown', '94', None, 'flow', None),  # text in a flow: no question (issue 13)
    ('flow_step', '94', 'mineur', 'residence-signalement', None),
    ('flow_outcome', '93', 'mineur', 'signalement', None),  # the procedure's département
    ('flow_document', '93', 'mineur', 'signalement', None),  # the document type
    # 'Terminer' on an outcome is no quit
    ('flow_start', '94', 'ip', None, None),
    ('flow_step', '94', 'ip', 'urgence', None),
    ('language', '94', None, 'en', None),
    ('flow_quit', '94', 'ip', 'urgence', None),  # /annuler at the first step
]


async def test_an_unsure_answer_is_recorded_as_clarified(db, tmp_path: Path) -> None:
    """Issue 14 lists « clarified » among a question's outcomes: the answer shown with
    « Vouliez-vous plutôt » alternatives (issue 13's « when unsure, ask »)."""
    async with running_bot(make_settings(db.url, tmp_path)) as (api, services):
        chat = Chat(api, 812)
        await chat.command("/start")
        assert "Vouliez-vous plutôt" not in texts(await chat.say("c'est quoi l'ITT ?"))
        sent = await chat.say("jai le droit de parler a lassistante sociale du secret")
        assert "Vouliez-vous plutôt" in texts(sent)
        async with services.sessions() as session:
            rows = [(e.category, e.detail) for e in (await session.exec(
                select(Event).where(Event.kind == "question").order_by(Event.id))).scalars()]
    assert [category for category, _entry in rows] == ["answered", "clarified"]
    assert all(entry for _category, entry in rows)


async def test_a_session_start_records_the_language_used(db, tmp_path: Path) -> None:
    """Issue 14: « language used » — not only a /langue choice: the language each session
    starts in (the Telegram client's), for /start and a deep link alike."""
    async with running_bot(make_settings(db.url, tmp_path)) as (api, services):
        await Chat(api, 813, language="en").command("/start")
        await Chat(api, 814).command("/start mineur")
        async with services.sessions() as session:
            rows = [(e.category, e.detail) for e in (await session.exec(
                select(Event).where(Event.kind == "start").order_by(Event.id))).scalars()]
    assert rows == [("en", None), ("fr", "deeplink")]
