"""Exactly-once processing through the inbox: an update acknowledged then lost by a killed
process is processed after restart; a turn that fails is retried, then parked with an alert;
a repost does nothing; the raw update leaves no trace in the SQLite files."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError
from telegram import Update

from annuaire.loader import AnnuaireSet
from bot.compose import compose, composed
from bot.fakeapi import FakeBotAPI
from bot.lifecycle import started
from bot.web import SECRET_HEADER
from knowledge.loader import KnowledgeSet
from tests.botharness import TOKEN, Chat, make_settings, running_bot, texts, webhook_server
from vvs.clock import FakeClock
from vvs.db import listen_statements, scrub_wal, transaction
from vvs.inbox import ERASURE as INBOX_ERASURE
from vvs.models import InboxUpdate, ProcessedUpdate

DOCTOR, ADMIN = 4242, 900
SECRET = "s3cret-" + "z" * 24
QUESTION = "c'est quoi une information préoccupante ?"


def _update(update_id: int, text: str = QUESTION, first_name: str = "Jeanne") -> dict:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 0, "chat": {"id": DOCTOR, "type": "private"},
        "from": {"id": DOCTOR, "is_bot": False, "first_name": first_name,
                 "language_code": "fr"}, "text": text}}


async def _post(application, update: dict) -> int:
    """POST one update to our webhook server; the HTTP status Telegram would see."""
    async with webhook_server(application, SECRET) as url, aiohttp.ClientSession() as http, \
            http.post(url, json=update, headers={SECRET_HEADER: SECRET}) as resp:
        return resp.status


async def _count(services, model) -> int:
    async with services.sessions() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()[0]


@contextmanager
def listening(services, before) -> Iterator[None]:
    """`before(statement)` called before every SQL statement meanwhile (SQLAlchemy's, and
    the turns' raw ones on PostgreSQL); it may raise, as a lost database would."""
    stop = listen_statements(services.engine, before, lambda: None)
    try:
        yield
    finally:
        stop()


@contextmanager
def failing(services, table: str, times: int) -> Iterator[list[int]]:
    """Make the next `times` statements touching `table` fail as a lost database would."""
    failures: list[int] = []

    def before(statement) -> None:
        if table in statement and len(failures) < times:
            failures.append(1)
            raise OperationalError(statement, None, Exception("database unavailable"))

    with listening(services, before):
        yield failures


async def test_update_acknowledged_then_process_killed_is_processed_after_restart(
        db, tmp_path: Path) -> None:
    clock = FakeClock()
    settings = make_settings(db.url, tmp_path)
    async with FakeBotAPI(token=TOKEN) as api:
        first = await compose(settings, clock=clock, content_sets=[KnowledgeSet()],
                              token=TOKEN, base_url=api.base_url, updater=False)
        assert await _post(first.application, _update(501)) == 200
        # killed: the application never ran the turn, and its queue is gone with it
        assert await _count(first, InboxUpdate) == 1
        await first.engine.dispose()

        clock.advance(minutes=2)  # the dead process's lease on the row has expired
        async with running_bot(settings, clock=clock, content_sets=[KnowledgeSet()],
                               api=api) as (_api, second):
            await api.wait_for(lambda c: "CRIP" in str(c.params.get("text", "")),
                               chat_id=DOCTOR, since=0, timeout=10)
            assert await _count(second, InboxUpdate) == 0
            assert await _count(second, ProcessedUpdate) == 1
            answers = [m for m in api.sent_messages(DOCTOR) if "CRIP" in m.plain]
            assert len(answers) == 1


@contextmanager
def statements_on(services, words: str) -> Iterator[list[str]]:
    """The SQL statements run meanwhile that contain `words`."""
    seen: list[str] = []

    def before(statement) -> None:
        if words in " ".join(statement.split()):
            seen.append(statement.split(None, 1)[0].upper())

    with listening(services, before):
        yield seen


async def test_webhook_answers_once_the_turn_committed_and_never_writes_the_inbox(
        db, tmp_path: Path) -> None:
    """The 200 goes once the turn's claim is committed: that claim is what is durable, so
    an update whose turn succeeds is never written to the inbox (one transaction less)."""
    settings = make_settings(db.url, tmp_path)
    async with FakeBotAPI(token=TOKEN) as api, composed(
            settings, content_sets=[KnowledgeSet()], token=TOKEN, base_url=api.base_url,
            updater=False) as services, started(services.application, polling=False):
        with statements_on(services, "INSERT INTO inbox") as inbox_statements:
            assert await _post(services.application, _update(701)) == 200
            # when Telegram hears 200, the update is processed and its claim committed
            assert await _count(services, ProcessedUpdate) == 1
            await api.wait_for(lambda c: "CRIP" in str(c.params.get("text", "")),
                               chat_id=DOCTOR, since=0, timeout=10)
        assert inbox_statements == []
        assert await _count(services, InboxUpdate) == 0


async def test_webhook_turn_failing_is_stored_before_the_200_then_answered_once(
        db, tmp_path: Path) -> None:
    settings = make_settings(db.url, tmp_path)
    async with FakeBotAPI(token=TOKEN) as api, composed(
            settings, content_sets=[KnowledgeSet()], token=TOKEN, base_url=api.base_url,
            updater=False) as services, started(services.application, polling=False):
        with failing(services, "user_state", times=1) as failures:
            assert await _post(services.application, _update(702)) == 200
            assert failures == [1]
            async with services.sessions() as session:  # stored, its failure recorded
                row = await session.get(InboxUpdate, 702)
                assert row is not None and row.attempts == 1
                assert row.last_error == "OperationalError"
        await api.wait_for(lambda c: "CRIP" in str(c.params.get("text", "")),
                           chat_id=DOCTOR, since=0, timeout=10)
        await asyncio.sleep(2.5)  # past every backoff: nothing else comes
        assert sum("CRIP" in m.plain for m in api.sent_messages(DOCTOR)) == 1
        assert "une erreur s'est produite" not in texts(api.sent_messages(DOCTOR))
        assert await _count(services, InboxUpdate) == 0


async def test_turn_failing_once_is_retried_and_answered_once(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path),
                           content_sets=[KnowledgeSet()]) as (api, services):
        with failing(services, "user_state", times=1) as failures:
            api.send_text(DOCTOR, QUESTION)
            await api.wait_for(lambda c: "CRIP" in str(c.params.get("text", "")),
                               chat_id=DOCTOR, timeout=10)
        assert failures == [1]
        answers = len(api.sent_messages(DOCTOR))
        await asyncio.sleep(3)  # past every backoff: nothing else comes
        assert len(api.sent_messages(DOCTOR)) == answers
        assert "une erreur s'est produite" not in texts(api.sent_messages(DOCTOR))
        assert sum("CRIP" in m.plain for m in api.sent_messages(DOCTOR)) == 1
        assert await _count(services, InboxUpdate) == 0


async def test_turn_failing_for_good_is_parked_admins_get_id_and_error_class_only(
        db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path),
                           content_sets=[KnowledgeSet()]) as (api, services):
        with failing(services, "user_state", times=3):
            update_id = api.send_text(DOCTOR, QUESTION, first_name="Zéphyrine")
            await api.wait_for(lambda c: "une erreur s'est produite" in str(
                c.params.get("text", "")), chat_id=DOCTOR, timeout=15)
        alert = await api.wait_for(lambda c: "mis de côté" in str(c.params.get("text", "")),
                                   chat_id=ADMIN, since=0, timeout=10)
        text = alert.params["text"]
        assert str(update_id) in text and "OperationalError" in text
        assert "Zéphyrine" not in text and "préoccupante" not in text
        async with services.sessions() as session:
            parked = await session.get(InboxUpdate, update_id)
            assert parked is not None and parked.parked_at is not None
            assert parked.attempts == 3 and parked.last_error == "OperationalError"
        async with transaction(services.sessions) as session:  # /effacer's step
            assert await INBOX_ERASURE.erase(session, services.user_key(DOCTOR)) == 1
        assert await _count(services, InboxUpdate) == 0


async def test_parked_update_is_purged_after_the_retention(db, tmp_path: Path) -> None:
    clock = FakeClock()
    settings = make_settings(db.url, tmp_path)
    async with FakeBotAPI(token=TOKEN) as api:
        services = await compose(settings, clock=clock, content_sets=[AnnuaireSet()],
                                 token=TOKEN, base_url=api.base_url, updater=False)
        try:
            await services.inbox.store(77, _update(77), "k")
            for _ in range(3):
                await services.inbox.failed(77, OperationalError("x", {}, Exception()))
            clock.advance(hours=settings.processed_update_retention_hours - 1)
            assert await services.inbox.purge_parked(clock_hours(settings)) == 0
            clock.advance(hours=2)
            assert await services.inbox.purge_parked(clock_hours(settings)) == 1
        finally:
            await services.engine.dispose()


def clock_hours(settings):
    from datetime import timedelta

    return timedelta(hours=settings.processed_update_retention_hours)


async def test_repost_of_a_processed_update_does_nothing(db, tmp_path: Path) -> None:
    settings = make_settings(db.url, tmp_path, bot_mode="polling")
    async with running_bot(settings, content_sets=[KnowledgeSet()]) as (api, services):
        assert await _post(services.application, _update(9001)) == 200
        await api.wait_for(lambda c: "CRIP" in str(c.params.get("text", "")),
                           chat_id=DOCTOR, since=0, timeout=10)
        answers = len(api.sent_messages(DOCTOR))
        assert await _post(services.application, _update(9001)) == 200
        await asyncio.sleep(1)
        assert len(api.sent_messages(DOCTOR)) == answers
        assert await _count(services, InboxUpdate) == 0


async def test_raw_update_leaves_no_trace_in_the_sqlite_files(db, tmp_path: Path) -> None:
    if db.kind != "sqlite":
        pytest.skip("a file-level check of SQLite")
    name, words = "Quentaliborne", "zorglubicide préoccupante"
    settings = make_settings(db.url, tmp_path)
    async with running_bot(settings, content_sets=[KnowledgeSet()]) as (api, services):
        chat = Chat(api, DOCTOR, first_name=name)
        for text in (f"{words} ?", "/menu", f"{words} encore"):
            await chat.say(text)
        await asyncio.sleep(0.3)  # the fast path's completions are recorded
        await services.outbox.flush()
        assert await _count(services, InboxUpdate) == 0
        assert await scrub_wal(services.engine)  # what the worker does every few seconds
        _assert_absent(db, name, "zorglubicide")  # while running…
    _assert_absent(db, name, "zorglubicide")  # …and stopped


def _assert_absent(db, *needles: str) -> None:
    files = [p for p in Path(db.url.split(":///", 1)[1]).parent.iterdir()
             if p.name.startswith("test.db")]
    assert files
    for path in files:
        data = path.read_bytes()
        for needle in needles:
            assert needle.encode() not in data, f"{needle} in {path.name}"


async def test_privacy_notice_says_how_long_a_failed_message_is_kept(db, tmp_path: Path) -> None:
    settings = make_settings(db.url, tmp_path, processed_update_retention_hours=36)
    async with running_bot(settings, content_sets=[]) as (api, _services):
        for language, said in (("fr", "36 heures"), ("en", "36 hours")):
            sent = await Chat(api, DOCTOR, language=language).command("/confidentialite")
            assert said in texts(sent) and "/effacer" in texts(sent)


async def test_polling_stores_the_update_before_confirming_its_offset(
        db, tmp_path: Path, monkeypatch) -> None:
    import time

    async with running_bot(make_settings(db.url, tmp_path),
                           content_sets=[KnowledgeSet()]) as (api, services):
        stored: list[float] = []
        confirmed: dict[int, float] = {}

        def on_sql(conn, cursor, statement, parameters, context, executemany) -> None:
            if statement.startswith("INSERT INTO inbox"):
                stored.append(time.monotonic())

        confirm = api._confirm  # the stand-in drops what an offset confirms

        def on_confirm(offset: int) -> None:
            confirmed.setdefault(offset - 1, time.monotonic())
            confirm(offset)

        monkeypatch.setattr(api, "_confirm", on_confirm)
        event.listen(services.engine.sync_engine, "before_cursor_execute", on_sql)
        try:
            update_id = api.send_text(DOCTOR, QUESTION)
            await api.wait_for(lambda c: "CRIP" in str(c.params.get("text", "")),
                               chat_id=DOCTOR, timeout=10)
            for _ in range(100):
                if update_id in confirmed:
                    break
                await asyncio.sleep(0.05)
        finally:
            event.remove(services.engine.sync_engine, "before_cursor_execute", on_sql)
        assert stored and update_id in confirmed
        assert stored[0] < confirmed[update_id]


async def test_two_replicas_process_a_stored_update_once(db, tmp_path: Path) -> None:
    if db.kind != "postgres":
        pytest.skip("replicas share PostgreSQL")
    clock = FakeClock()
    settings = make_settings(db.url, tmp_path)
    async with FakeBotAPI(token=TOKEN) as api:
        replicas = [await compose(settings, clock=clock, content_sets=[KnowledgeSet()],
                                  token=TOKEN, base_url=api.base_url, updater=False)
                    for _ in range(2)]
        try:
            assert await _post(replicas[0].application, _update(601)) == 200
            clock.advance(minutes=2)  # as if the first replica died
            for replica in replicas:
                await replica.application.initialize()
            rows = [await replica.inbox.due() for replica in replicas]
            assert sorted(len(r) for r in rows) == [0, 1]  # one replica leases it
            update = Update.de_json(_update(601), replicas[0].application.bot)
            await asyncio.gather(*(replica.application.process_update(update)
                                   for replica in replicas))  # and even if both ran it
            await asyncio.sleep(0.3)
            assert sum("CRIP" in m.plain for m in api.sent_messages(DOCTOR)) == 1
            assert await _count(replicas[0], InboxUpdate) == 0
        finally:
            for replica in replicas:
                await replica.application.shutdown()
                await replica.engine.dispose()
