"""The annual review: exact figures from events, publication, retention, privacy, /stats."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from admin.stats import content_labels
from report.annual import Labels, Line, Table, build_report, suppress, write_report
from vvs.clock import FakeClock
from vvs.db import transaction
from vvs.events import (
    VOCABULARY,
    QuestionAbstained,
    QuestionAnswered,
    QuestionNotHelpful,
    QuestionToEditors,
    record,
    record_event,
)
from vvs.i18n import use_language
from vvs.jobs import JobQueue, JobScheduler
from vvs.models import Event, EventMonth, EventMonthPeople, Job
from vvs.privacy import pseudonym
from vvs.stats import (
    RETENTION_JOB,
    aggregate_old_events,
    key_figures,
    render_key_figures,
    retention_job,
)

ROOT = Path(__file__).resolve().parent.parent
KEY = b"k" * 32
# Who the physicians are and what they typed: none of it may reach the statistics.
PHYSICIANS = {"A": (7100000001, "Dr Alice Martin"), "B": (7100000002, "Dr Bruno Petit"),
              "C": (7100000003, "Dr Chloé Durand"), "D": (7100000004, "Dr Driss Benali")}
TEXTS = ("ma patiente Mme Lefebvre refuse le signalement", "crip 93 bobigny svp")


@pytest.fixture(scope="module")
def labels() -> Labels:
    return content_labels(ROOT)


def key_of(who: str) -> str:
    return pseudonym(KEY, PHYSICIANS[who][0])


async def scenario(db: Any, clock: FakeClock) -> None:
    """Four physicians in January 2026 (clock starts 5 Jan 2026 09:00 UTC)."""
    async def act(who: str | None, kind: str, **fields: Any) -> None:
        async with transaction(db.sessions) as s:
            await record_event(s, clock, kind, user_key=key_of(who) if who else None, **fields)
        clock.advance(minutes=1)

    await act("A", "start", department="93")
    await act("A", "flow_start", department="93", category="mineur")
    await act("A", "flow_outcome", department="93", category="mineur",
              detail="signalement-urgent")
    await act("A", "flow_document", department="93", category="mineur", detail="signalement")
    await act("A", "question", department="93", category="answered", detail="itt")
    await act("A", "escalation_created", department="93", category="mineur")
    clock.advance(hours=2)  # A's second session
    await act("A", "annuaire_search", department="93", category="crip", detail="place",
              value=2)
    await act(None, "escalation_reminded", department="93", category="mineur", value=240)
    await act(None, "escalation_taken", department="93", category="mineur", value=250)
    await act(None, "escalation_closed", department="93", category="mineur", detail="conseil",
              value=1000)
    await act("B", "flow_start", department="93", category="majeur")
    await act("B", "flow_quit", department="93", category="majeur", detail="protection")
    await act("B", "question", department="93", category="abstained", detail="crip")
    await act("B", "annuaire_search", department="93", category="umj", detail="text", value=0)
    await act("C", "flow_start", department="75", category="victime")
    await act("C", "flow_outcome", department="75", category="victime", detail="plainte")
    await act("C", "escalation_created", department="75", category="victime")
    await act(None, "escalation_escalated", department="75", category="victime",
              detail="timeout", value=1440)
    await act(None, "escalation_taken", department="75", category="victime", value=1500)
    await act(None, "escalation_closed", department="75", category="victime",
              detail="orientation", value=1600)
    await act("D", "question", category="answered", detail="itt")
    await act("D", "question", category="abstained")
    await act("D", "question", category="clarified", detail="secret-partage")
    await act("D", "annuaire_search", detail="location", value=0)


def read_csv(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return {row["code"]: row for row in csv.DictReader(handle)}


async def report(db: Any, out: Path, labels: Labels, start: date, end: date, *,
                 publish: bool = False, charts: bool = False) -> Path:
    async with transaction(db.sessions) as s:
        built = await build_report(s, start, end, labels=labels, publish=publish,
                                   charts=charts, now=datetime(2026, 2, 1, tzinfo=UTC))
    write_report(built, out)
    return out


JANUARY = (date(2026, 1, 1), date(2026, 1, 31))


async def test_report_figures_are_exactly_what_was_done(db, clock, tmp_path, labels) -> None:
    await scenario(db, clock)
    out = await report(db, tmp_path / "r", labels, *JANUARY)
    month = read_csv(out / "activite_par_mois.csv")
    assert month["2026-01"]["Médecins distincts"] == "4"
    assert month["2026-01"]["Sessions"] == "5"  # A twice, B, C, D
    assert month["2026-01"]["Questions"] == "5"
    assert month["total"]["Médecins distincts"] == "4"
    people = read_csv(out / "medecins_par_departement.csv")["2026-01"]
    assert (people["93"], people["75"], people["inconnu"], people["Tous"]) == ("2", "1", "1", "4")
    flows = read_csv(out / "demarches.csv")
    assert [flows["mineur"][c] for c in ("Commencées", "Abouties", "Abandonnées",
                                         "Documents")] == ["1", "1", "0", "1"]
    assert flows["majeur"]["Abandonnées"] == "1" and flows["majeur"]["Part abouties"] == "0.0000"
    assert flows["total"]["Commencées"] == "3" and flows["total"]["Abouties"] == "2"
    assert read_csv(out / "demarches_abandons.csv")["majeur:protection"]["Abandons"] == "1"
    assert read_csv(out / "demarches_issues.csv")["mineur:signalement-urgent"]["93"] == "1"
    victim = read_csv(out / "parcours_victime.csv")["2026-01"]
    assert (victim["Commencés"], victim["Aboutis"]) == ("1", "1")
    themes = read_csv(out / "questions_par_theme.csv")
    assert themes["certificats"]["Répondues"] == "2"
    assert themes["mineur"]["Sans réponse"] == "1"  # nearest sheet: crip
    assert themes["inconnu"]["Sans réponse"] == "1"
    # an answer with « Vouliez-vous plutôt » is answered too, counted apart
    assert themes["secret"]["Répondues, avec choix proposé"] == "1"
    assert themes["secret"]["Part répondues"] == "1.0000"
    assert themes["total"]["Part répondues"] == "0.6000"
    kinds = read_csv(out / "annuaire_par_type.csv")
    assert kinds["crip"]["Par lieu"] == "1" and kinds["crip"]["Sans résultat"] == "0"
    assert kinds["umj"]["Sans résultat"] == "1" and kinds["tous"]["Par position"] == "1"
    assert kinds["total"]["Total"] == "3" and kinds["total"]["Sans résultat"] == "2"
    depts = read_csv(out / "annuaire_par_departement.csv")
    assert depts["93"]["Recherches"] == "2" and depts["93"]["Part sans résultat"] == "0.5000"
    assert read_csv(out / "documents.csv")["signalement"]["Documents"] == "1"
    esc = read_csv(out / "demandes_referent.csv")
    assert [esc["total"][c] for c in (
        "Créées", "Relancées", "Envoyées à la région", "Prises en charge", "Closes",
        "Délai de prise en charge (médiane)", "Délai de prise en charge (90e centile)",
        "Délai de clôture (médiane)", "Délai de clôture (90e centile)")] == [
        "2", "1", "1", "2", "2", "875.0", "1500.0", "1300.0", "1600.0"]
    assert esc["93"]["Part relancées"] == "1.0000" and esc["75"]["Part envoyées à la région"] \
        == "1.0000"
    outcomes = read_csv(out / "demandes_issues.csv")
    assert outcomes["conseil"]["93"] == "1" and outcomes["orientation"]["75"] == "1"
    content = read_csv(out / "contenu.csv")
    assert int(content["fiches_brouillon"]["Nombre"]) + int(
        content["fiches_validees"]["Nombre"]) == len(list((ROOT / "knowledge/entries").glob(
            "*.md")))
    html = (out / "rapport.html").read_text(encoding="utf-8")
    assert "du 1 janvier 2026 au 31 janvier 2026" in html and "Version interne" in html


async def test_publish_hides_small_counts_and_what_reveals_them(db, clock, tmp_path,
                                                                labels) -> None:
    await scenario(db, clock)
    out = await report(db, tmp_path / "p", labels, *JANUARY, publish=True)
    esc = read_csv(out / "demandes_referent.csv")
    assert esc["93"]["Créées"] == "< 5" and esc["93"]["Délai de prise en charge (médiane)"] \
        == "masqué"
    assert read_csv(out / "activite_par_mois.csv")["2026-01"]["Médecins distincts"] == "< 5"
    for path in out.glob("*.csv"):
        if path.name == "contenu.csv":
            continue  # the content's state is not about physicians
        for row in read_csv(path).values():
            for column, value in list(row.items())[2:]:
                assert value not in {"1", "2", "3", "4"}, (path.name, column, row["code"])
    assert "Version publiable" in (out / "rapport.html").read_text(encoding="utf-8")


def test_one_hidden_cell_cannot_be_recovered_from_a_total() -> None:
    lines = [Line("a", "a", [3, 1]), Line("b", "b", [10, 0]), Line("c", "c", [20, 0])]
    table = Table("t", "t", "k", ["x", "y"], lines, Line("total", "Total", [33, 1]),
                  counts=frozenset({0, 1}))
    suppress(table, 5)
    assert table.hidden[(0, 0)] == "small" and table.hidden[(1, 0)] == "masked"
    assert (2, 0) not in table.hidden and (3, 0) not in table.hidden
    # column y: 1 hidden, the others are 0 and the total 1: the total goes too
    assert table.hidden[(0, 1)] == "small" and table.hidden[(3, 1)] == "small"
    rows = [Line("a", "a", [2, 30, 32]), Line("b", "b", [40, 30, 70])]
    table = Table("u", "u", "k", ["p", "q", "w"], rows, Line("total", "Total", [42, 60, 102]),
                  counts=frozenset({0, 1, 2}), parts=(0, 1), whole=2)
    suppress(table, 5)
    for members in ([(0, 0), (0, 1), (0, 2)], [(0, 0), (1, 0), (2, 0)],
                    [(1, 0), (1, 1), (1, 2)], [(0, 1), (1, 1), (2, 1)]):
        assert sum(m in table.hidden for m in members) != 1, members


async def test_empty_period_gives_an_honest_empty_report(db, tmp_path, labels) -> None:
    out = await report(db, tmp_path / "e", labels, date(2025, 1, 1), date(2025, 12, 31),
                       charts=True)
    html = (out / "rapport.html").read_text(encoding="utf-8")
    assert 'id="empty"' in html and "<svg" not in html
    month = read_csv(out / "activite_par_mois.csv")
    assert len(month) == 13 and month["total"]["Sessions"] == "0"
    assert read_csv(out / "demandes_referent.csv")["total"]["Délai de clôture (médiane)"] == ""


async def test_retention_keeps_the_totals_and_year_on_year(db, tmp_path, labels) -> None:
    start = datetime(2024, 1, 3, 8, tzinfo=UTC)
    clock = FakeClock(start)
    async with transaction(db.sessions) as s:
        for day in range(0, 540, 3):  # a year and a half, every third day
            clock._now = start + timedelta(days=day)
            for n in range(day % 4 + 1):
                who = f"u{(day + n) % 9}"
                dept = ("93", "75", None)[n % 3]
                await record_event(s, clock, "flow_start", user_key=who, department=dept,
                                   category="mineur")
                clock.advance(minutes=40 * (n % 2))
                await record_event(s, clock, "question", user_key=who, department=dept,
                                   category=("answered", "abstained")[day % 2], detail="itt")
                await record_event(s, clock, "annuaire_search", user_key=who,
                                   category="crip", detail="place", department=dept,
                                   value=day % 3)
            await record_event(s, clock, "escalation_taken", department="93",
                               category="mineur", value=day % 700)
    year = (date(2024, 1, 1), date(2024, 12, 31))
    before = await report(db, tmp_path / "before", labels, *year)
    later = (date(2025, 1, 1), date(2025, 6, 30))
    yoy_before = read_csv((await report(db, tmp_path / "yb", labels, *later))
                          / "comparaison_annuelle.csv")
    async with transaction(db.sessions) as s:
        raw = len((await s.exec(select(Event.id))).all())
        folded = await aggregate_old_events(s, FakeClock(datetime(2026, 3, 1, tzinfo=UTC)), 13)
    assert 0 < folded < raw  # January 2025 onwards stays raw
    async with transaction(db.sessions) as s:
        again = await aggregate_old_events(s, FakeClock(datetime(2026, 3, 1, tzinfo=UTC)), 13)
        oldest = (await s.exec(select(Event.at).order_by(Event.at))).first()
    assert again == 0 and oldest[0] >= datetime(2025, 2, 1, tzinfo=UTC)
    after = await report(db, tmp_path / "after", labels, *year)
    for name in ("sessions_par_departement", "demarches", "questions_par_theme",
                 "annuaire_par_type", "annuaire_par_departement", "activite_par_departement"):
        assert read_csv(after / f"{name}.csv") == read_csv(before / f"{name}.csv"), name
    for name in ("activite_par_mois", "medecins_par_departement"):
        old, new = read_csv(before / f"{name}.csv"), read_csv(after / f"{name}.csv")
        assert {k: v for k, v in new.items() if k != "total"} == \
            {k: v for k, v in old.items() if k != "total"}, name
        assert new["total"]["Médecins distincts" if name == "activite_par_mois" else "Tous"] \
            == ""  # distinct over aggregated months is not additive: n/d, said so
    esc_old = read_csv(before / "demandes_referent.csv")["93"]
    esc_new = read_csv(after / "demandes_referent.csv")["93"]
    assert esc_new["Prises en charge"] == esc_old["Prises en charge"]
    median_old = float(esc_old["Délai de prise en charge (médiane)"])
    assert abs(float(esc_new["Délai de prise en charge (médiane)"]) - median_old) < 60
    assert 'id="rounded"' in (after / "rapport.html").read_text(encoding="utf-8")
    yoy_after = read_csv((await report(db, tmp_path / "ya", labels, *later))
                         / "comparaison_annuelle.csv")
    assert yoy_after == yoy_before and yoy_after["question"]["Un an plus tôt"] != "0"


async def test_retention_job_runs_once_and_schedules_tomorrow(db) -> None:
    clock = FakeClock(datetime(2026, 3, 1, 3, 30, tzinfo=UTC))
    async with transaction(db.sessions) as s:
        await record_event(s, FakeClock(datetime(2024, 5, 2, tzinfo=UTC)), "start",
                           user_key="x", department="93")
    scheduler = JobScheduler(clock)
    handler = retention_job(
        clock, 13, lambda s, at, key: scheduler.schedule(s, RETENTION_JOB, at, dedupe_key=key))
    queue = JobQueue(db.sessions, clock, "w1", {RETENTION_JOB: handler})
    other = JobQueue(db.sessions, clock, "w2", {RETENTION_JOB: handler})
    async with transaction(db.sessions) as s:
        await queue.schedule(s, RETENTION_JOB, clock.now(), dedupe_key="stats_retention:first")
    assert await queue.run_due() + await other.run_due() == 1
    async with transaction(db.sessions) as s:
        assert (await s.exec(select(Event.id))).first() is None
        people = (await s.exec(select(EventMonthPeople))).scalars().all()
        assert {(p.department, p.physicians, p.sessions) for p in people} == {
            ("93", 1, 1), ("*", 1, 1)}
        jobs = (await s.exec(select(Job).where(Job.done_at.is_(None)))).scalars().all()
        assert [j.dedupe_key for j in jobs] == ["stats_retention:2026-03-02"]


async def test_no_telegram_id_name_or_text_anywhere(db, clock, tmp_path, labels) -> None:
    await scenario(db, clock)
    with pytest.raises(ValueError):
        async with transaction(db.sessions) as s:
            await record_event(s, clock, "question", detail=TEXTS[0])
    internal = await report(db, tmp_path / "i", labels, *JANUARY, charts=True)
    published = await report(db, tmp_path / "p", labels, *JANUARY, publish=True, charts=True)
    async with transaction(db.sessions) as s:
        events = [r.model_dump(mode="json") for r in (await s.exec(select(Event))).scalars()]
        await aggregate_old_events(s, FakeClock(datetime(2028, 1, 1, tzinfo=UTC)), 13)
    async with transaction(db.sessions) as s:
        aggregates = [r.model_dump(mode="json") for model in (EventMonth, EventMonthPeople)
                      for r in (await s.exec(select(model))).scalars()]
    assert aggregates and events
    outputs = {"event": json.dumps(events, ensure_ascii=False),
               "aggregates": json.dumps(aggregates, ensure_ascii=False)}
    for folder in (internal, published):
        for path in folder.iterdir():
            outputs[str(path)] = path.read_text(encoding="utf-8")
    forbidden = [str(tid) for tid, _name in PHYSICIANS.values()]
    forbidden += [name for _tid, name in PHYSICIANS.values()] + list(TEXTS)
    for where, text in outputs.items():
        for needle in forbidden:
            assert needle not in text, (where, needle)
        if where != "event":  # the pseudonym stays in the raw table only
            for who in PHYSICIANS:
                assert key_of(who) not in text, (where, who)


async def test_key_figures_of_the_last_30_days(db, clock) -> None:
    await scenario(db, clock)
    async with transaction(db.sessions) as s:
        figures = await key_figures(s, clock)
    assert (figures.physicians, figures.sessions, figures.questions, figures.answered) == (
        4, 5, 5, 3)
    assert (figures.flows_started, figures.flows_completed, figures.searches,
            figures.searches_empty, figures.escalations) == (3, 2, 3, 2, 2)
    assert figures.take_median == 875.0
    with use_language("fr"):
        text = render_key_figures(figures)
    assert "4 médecins, 5 sessions" in text and "60\u00a0%" in text and "14,6 h" in text
    with use_language("en"):
        assert "4 physicians, 5 sessions" in render_key_figures(figures)


async def test_not_helpful_and_sent_to_editors_are_beside_the_total(db, clock, tmp_path,
                                                                    labels) -> None:
    """A sheet judged not to answer was counted as answered when it was asked: the two
    follow-ups are columns of their own, never added to the questions."""
    async with transaction(db.sessions) as s:
        await record(s, clock, QuestionAnswered("itt"), user_key=key_of("A"))
        await record(s, clock, QuestionNotHelpful("itt"), user_key=key_of("A"))
        await record(s, clock, QuestionToEditors("answer", "itt"))
        await record(s, clock, QuestionAbstained("crip"), user_key=key_of("B"))
        await record(s, clock, QuestionToEditors("abstention", "crip"))
    out = await report(db, tmp_path / "r", labels, *JANUARY)
    themes = read_csv(out / "questions_par_theme.csv")
    assert [themes["certificats"][c] for c in ("Répondues", "Total", "« Ne répond pas »",
                                               "Transmises aux rédacteurs")] == ["1", "1", "1",
                                                                                 "1"]
    assert themes["mineur"]["Transmises aux rédacteurs"] == "1"
    assert themes["total"]["Total"] == "2" and themes["total"]["Part répondues"] == "0.5000"
    assert read_csv(out / "activite_par_mois.csv")["2026-01"]["Questions"] == "2"
    clock.advance(minutes=1)
    async with transaction(db.sessions) as s:
        assert (await key_figures(s, clock)).questions == 2


def test_vocabulary_covers_every_kind_emitted_today() -> None:
    emitted = {"start", "language", "emergency_shown", "emergency_numbers", "flow_start",
               "flow_outcome", "flow_quit", "flow_document", "question", "knowledge_open",
               "annuaire_search", "escalation_created", "escalation_reminded",
               "escalation_escalated", "escalation_taken", "escalation_released",
               "escalation_reassigned", "escalation_closed", "escalation_cancelled",
               "escalation_blocked", "escalation_relayed", "referent_enrolled",
               "referent_removed", "question_not_helpful", "question_to_editors"}
    assert emitted <= set(VOCABULARY)
    assert all(len(kind) <= 40 for kind in VOCABULARY)


def test_privacy_notice_gives_the_events_retention() -> None:
    from vvs.privacy import statistics_notice

    with use_language("fr"):
        assert "conservées 13 mois" in statistics_notice(13, 5)
    with use_language("en"):
        text = statistics_notice(13, 5)
    assert "kept for 13 months" in text and "below 5" in text
