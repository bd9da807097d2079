"""Issue 14, done when: physicians driven through the real Application and the Bot API
stand-in, then `vvs-admin stats report` on that database: the CSV figures are what was done,
the HTML opens in Chromium, `--publish` hides the small counts, and no Telegram id, name or
message text is in the events, their monthly aggregates, the CSV or the HTML."""

from __future__ import annotations

import asyncio
import csv
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from escalation import referents
from tests.botharness import Chat, make_settings, running_bot, texts
from tests.browser import chart_sizes, chromium, console_errors, needs_chromium
from vvs.clock import FakeClock
from vvs.db import make_engine, make_session_factory, transaction
from vvs.models import Event, EventMonth, EventMonthPeople
from vvs.settings import async_database_url
from vvs.stats import aggregate_old_events

ROOT = Path(__file__).resolve().parent.parent
P1, P2, P3, REF, ADMIN = 987650001, 987650002, 987650003, 987657575, 900
NAMES = {P1: "Jeanne Secretname", P2: "Paul Hiddenname", P3: "Zoé Privatename",
         REF: "Dr Referentname"}
MESSAGE = "Agressée au cabinet hier soir, joignable après dix-huit heures"
TYPED = ("xylophone quantique", "zzqqwwxx", MESSAGE)
ALL_FORBIDDEN = (*(str(i) for i in NAMES), *NAMES.values(), *TYPED)


async def _drive(settings, clock: FakeClock) -> tuple[str, str, tuple[str, ...]]:
    """What the physicians do; returns /stats as the admin and a physician see it, and the
    physicians' pseudonyms."""
    async with running_bot(settings, clock=clock) as (api, services):
        async with transaction(services.sessions) as s:
            await referents.add_referent(services.escalations, s, department="75",
                                         telegram_id=REF, name=NAMES[REF])
        one, two, three = (Chat(api, p, first_name=NAMES[p]) for p in (P1, P2, P3))
        # P1: two questions, a directory search by place, a procedure with a document
        await one.command("/start")
        assert "ITT" in texts(await one.say("c'est quoi l'ITT ?"))
        await one.say(TYPED[0])
        await one.command("/annuaire")
        await one.press_data("a:kind:umj")
        await one.say("Créteil")
        await one.command("/start mineur")
        await one.press("Non")
        await one.press("infraction")
        await one.press("Seine-Saint-Denis")
        await one.press_data("f:doc:signalement")
        await one.press_data("f:x")
        # P2: the victim route in 75, then a referent request, taken and closed
        await two.command("/victime")
        await two.press("Oui")
        await two.press("Agression")
        await two.press("Libéral")
        await two.press("75 Paris")
        await two.press("Être contacté par un référent")
        await two.say("Ne pas partager")
        await two.say(MESSAGE)
        assert "Demande n°1 envoyée" in texts(await two.press("Envoyer"))
        await services.outbox.deliver_due()
        notice = await api.wait_for(lambda c: "Nouvelle demande" in str(c.params.get("text")),
                                    chat_id=REF, since=0)
        ref = Chat(api, REF, first_name=NAMES[REF])
        clock.advance(minutes=20)
        await ref.press_data("e:take:1", notice.message.message_id)
        clock.advance(minutes=40)
        await ref.press_data("e:close:1")
        assert "close" in texts(await ref.press_data("e:out:1:soutien"))
        # P3: a procedure left at its first step, two searches by name (one finds nothing)
        await three.command("/ip")
        await three.command("/annuler")
        await three.command("/annuaire")
        await three.say("crip bobigny")
        await three.command("/annuaire")
        assert "rien trouvé" in texts(await three.say(TYPED[1]))
        clock.advance(minutes=1)  # the last 30 days end now, exclusive
        admin = texts(await Chat(api, ADMIN).command("/stats"))
        refused = texts(await Chat(api, P3).command("/stats"))
        return admin, refused, tuple(services.user_key(p) for p in (P1, P2, P3))


def _admin(*args: str, db: Path, data: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "DATA_DIR": str(data)}
    done = subprocess.run([sys.executable, "-m", "admin.cli", "stats", "report", "--from",
                           "2026-01-01", "--to", "2026-01-31", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]


def _csv(out: Path, name: str) -> dict[str, list[str]]:
    with (out / f"{name}.csv").open(encoding="utf-8") as handle:
        return {row[0]: row[2:] for row in list(csv.reader(handle))[1:]}


async def _rows(db: Path, model: type) -> list[str]:
    engine = make_engine(async_database_url(f"sqlite:///{db}"))
    try:
        async with make_session_factory(engine)() as session:
            return [repr(r) for r in (await session.exec(select(model))).scalars()]
    finally:
        await engine.dispose()


async def _aggregate(db: Path) -> int:
    engine = make_engine(async_database_url(f"sqlite:///{db}"))
    try:
        async with transaction(make_session_factory(engine)) as session:
            return await aggregate_old_events(
                session, FakeClock(datetime(2027, 6, 1, tzinfo=UTC)), 13)
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def review(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Drive the bot once, then write the internal and the published report."""
    data = tmp_path_factory.mktemp("review")
    db = data / "vvs.db"
    settings = make_settings(f"sqlite:///{db}", data)
    admin, refused, keys = asyncio.run(_drive(settings, FakeClock()))
    for name, extra in (("internal", ()), ("published", ("--publish",))):
        _admin("--out", str(data / name), *extra, db=db, data=data)
    events = asyncio.run(_rows(db, Event))
    return {"data": data, "db": db, "admin": admin, "refused": refused, "keys": keys,
            "events": events}


def test_stats_in_the_bot_for_admins_only(review: dict) -> None:
    assert "réservée aux administrateurs" in review["refused"]
    admin = review["admin"]
    for line in ("3 médecins, 3 sessions", "2 questions, 50", "3 démarches commencées, "
                 "2 menées à leur terme, 1 documents", "3 recherches dans l'annuaire",
                 "1 demandes de référent, prises en charge en 20 min"):
        assert line in admin, (line, admin)


def test_the_csv_figures_are_what_was_done(review: dict) -> None:
    out = review["data"] / "internal"
    procedures = _csv(out, "demarches")  # started, completed, abandoned, share, documents
    assert procedures["mineur"] == ["1", "1", "0", "1.0000", "1"]
    assert procedures["victime"] == ["1", "1", "0", "1.0000", "0"]
    assert procedures["ip"] == ["1", "0", "1", "0.0000", "0"]
    assert procedures["total"] == ["3", "2", "1", "0.6667", "1"]
    assert _csv(out, "demarches_abandons") == {"ip:urgence": ["1"], "total": ["1"]}
    outcomes = _csv(out, "demarches_issues")
    assert outcomes["mineur:signalement"][-1] == "1" and outcomes["victime:contact-cdom"][0] \
        == "1"
    victim = _csv(out, "parcours_victime")
    assert victim["2026-01"] == ["1", "1", "0"]
    assert _csv(out, "documents")["signalement"] == ["1"]
    assert _csv(out, "documents")["total"] == ["1"]
    # answered, abstained, clarified, total, share, « ne répond pas », sent to the editors
    questions = _csv(out, "questions_par_theme")
    assert questions["total"][:4] == ["1", "1", "0", "2"]
    searches = _csv(out, "annuaire_par_type")  # text, place, location, total, none, share
    assert searches["umj"][:5] == ["0", "1", "0", "1", "0"]
    # « crip bobigny » names a kind and a place: a search by place (the one text box)
    assert searches["total"][:5] == ["1", "2", "0", "3", "1"]
    referent = _csv(out, "demandes_referent")
    assert referent["75"][:11] == ["1", "0", "0.0000", "0", "0.0000", "1", "20.0", "20.0", "1",
                                   "60.0", "60.0"]
    assert _csv(out, "demandes_issues")["soutien"][0] == "1"
    month = _csv(out, "activite_par_mois")["2026-01"]
    assert month == ["3", "3", "2", "3", "3", "1", "1"]


def test_publish_hides_the_small_counts(review: dict) -> None:
    out = review["data"] / "published"
    procedures = _csv(out, "demarches")
    assert procedures["mineur"][:2] == ["< 5", "< 5"]
    month = _csv(out, "activite_par_mois")["2026-01"]
    assert all(cell in ("< 5", "masqué") for cell in month), month
    for path in out.glob("*.csv"):
        if path.name == "contenu.csv":
            continue  # the content's state: not about physicians, never hidden
        for row in list(csv.reader(path.read_text(encoding="utf-8").splitlines()))[1:]:
            for cell in row[2:]:
                assert cell not in ("1", "2", "3", "4"), (path.name, row)


def test_no_id_name_or_text_anywhere(review: dict) -> None:
    data, keys = review["data"], review["keys"]
    assert len(review["events"]) > 20
    for row in review["events"]:
        for forbidden in ALL_FORBIDDEN:
            assert forbidden not in row, (forbidden, row)
    assert asyncio.run(_aggregate(review["db"])) == len(review["events"])
    aggregates = asyncio.run(_rows(review["db"], EventMonth)) + asyncio.run(
        _rows(review["db"], EventMonthPeople))
    assert aggregates
    files = [p.read_text(encoding="utf-8") for name in ("internal", "published")
             for p in (data / name).iterdir()]
    for text in aggregates + files:
        for forbidden in (*ALL_FORBIDDEN, *keys):
            assert forbidden not in text, forbidden
    # the totals survive the retention job
    _admin("--out", str(data / "after"), db=review["db"], data=data)
    for name in ("demarches", "annuaire_par_type", "documents", "demandes_issues"):
        assert _csv(data / "after", name) == _csv(data / "internal", name), name


@needs_chromium
def test_the_report_opens_in_chromium(review: dict) -> None:
    with chromium() as driver:
        for name in ("internal", "published"):
            driver.get((review["data"] / name / "rapport.html").as_uri())
            sizes = chart_sizes(driver)
            assert sizes and all(w > 100 and h > 50 for w, h, _n in sizes), sizes
            assert not console_errors(driver)
