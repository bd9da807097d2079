"""Capacity, checked with the SQL each update costs (statement echo): one transaction for the
turn plus the inbox insert, the state row read once, `updated_at` refreshed at most every few
minutes, the worker woken only when something was queued."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text

from knowledge.loader import KnowledgeSet
from tests.botharness import Chat, make_settings, running_bot
from tests.statekit import state_turn
from vvs.db import listen_statements, transaction
from vvs.models import UserState
from vvs.state import STATE_TOUCH, StateStore
from vvs.turnend import turn_unit

QUESTIONS = ("qu'est-ce que la CRIP ?", "secret médical mineur", "violences conjugales")


@contextmanager
def echo(engine) -> Iterator[list[str]]:
    """Every statement and commit the engine runs meanwhile (SQLAlchemy's and the turns' raw
    ones on PostgreSQL), first words."""
    seen: list[str] = []
    stop = listen_statements(engine, lambda s: seen.append(" ".join(s.split()[:3])),
                             lambda: seen.append("COMMIT"))
    try:
        yield seen
    finally:
        stop()


WORKER = ("SELECT job", "SELECT inbox", "SELECT outbox", "PRAGMA", "SELECT content")


def _without_worker_rounds(seen: list[str]) -> list[str]:
    """Drop the worker's polling transactions (a statement of WORKER and its COMMIT)."""
    kept: list[str] = []
    in_worker = False
    for item in seen:
        if item.startswith(WORKER):
            in_worker = True
        elif item == "COMMIT" and in_worker:
            in_worker = False
        else:
            in_worker = False
            kept.append(item)
    return kept


async def test_a_question_through_the_webhook_is_one_transaction(db, tmp_path: Path) -> None:
    """The webhook's update is never stored when its turn commits: a question is the turn's
    transaction alone (on SQLite 4 statements, + the state row when it changed; on
    PostgreSQL 2 round trips and no BEGIN: the state's read with its version, outside any
    transaction, then the turn's end, its own transaction), and the delivered replies are
    deleted later in batches."""
    from bot.compose import composed
    from bot.fakeapi import FakeBotAPI
    from bot.lifecycle import started
    from tests.botharness import TOKEN, webhook_server

    secret = "s3cret-" + "w" * 24
    settings = make_settings(db.url, tmp_path, bot_mode="webhook", webhook_secret=secret,
                             webhook_url="https://example.org/telegram/webhook")
    async with FakeBotAPI(token=TOKEN) as api, \
            composed(settings, content_sets=[KnowledgeSet()], token=TOKEN,
                     base_url=api.base_url, updater=False) as services, \
            started(services.application, polling=False), \
            webhook_server(services.application, secret) as url:
        api.serve_webhook([url], secret_token=secret)
        api.send_text(4243, QUESTIONS[0])
        await api.wait_for("sendMessage", chat_id=4243, timeout=10)
        await asyncio.sleep(1.2)  # the worker's start-up rounds are over
        with echo(services.engine) as seen:
            for question in QUESTIONS:
                since = len(api.calls)
                api.send_text(4243, question)
                await api.wait_for("sendMessage", chat_id=4243, timeout=5, since=since)
            await services.outbox.settle()
        seen = _without_worker_rounds(seen)
        turns = [s for s in seen if not s.startswith("DELETE FROM outbox")]
        print(f"{db.kind}: {seen}")
        assert not any("inbox" in s for s in seen)
        assert turns.count("COMMIT") <= len(QUESTIONS) + 1  # the turns (+ the batched delete)
        statements = [s for s in turns if s != "COMMIT"]
        if db.kind == "postgres":
            # the state's read, then the turn's end in one statement (claim, state, event,
            # reply: `vvs.turnend`), whatever changed
            assert statements == ["SELECT mode, data,", "WITH claimed AS"] * len(QUESTIONS)
            batches = sum(s.startswith("DELETE FROM outbox") for s in seen)
            assert turns.count("COMMIT") == len(QUESTIONS) + batches  # the ends' own
            return
        # the state row is rewritten when it changed (each answer keeps its own suggestions)
        updates = [s for s in turns if s.startswith("UPDATE user_state")]
        assert len(updates) <= len(QUESTIONS)
        assert len(statements) - len(updates) <= len(QUESTIONS) * 4


async def test_a_question_costs_two_transactions_and_few_statements(db, tmp_path: Path) -> None:
    async with running_bot(make_settings(db.url, tmp_path),
                           content_sets=[KnowledgeSet()]) as (api, services):
        chat = Chat(api, 4242)
        await chat.say("c'est quoi une information préoccupante ?")
        await asyncio.sleep(1.2)  # the worker's start-up rounds are over
        loop = asyncio.get_running_loop()
        start = loop.time()
        with echo(services.engine) as seen:
            for question in QUESTIONS:
                api.send_text(4242, question)
                await api.wait_for("sendMessage", chat_id=4242, timeout=5)
                await asyncio.sleep(0.2)  # the batched completion is recorded
        elapsed = loop.time() - start
        # the worker's own round (once a second, whatever happens) is not the updates' cost
        polls = sum(s.startswith("SELECT job") for s in seen)
        assert polls <= elapsed + 1, "the worker was woken although nothing was queued"
        seen = _without_worker_rounds(seen)
        statements = [s for s in seen if s != "COMMIT"]
        per_update = len(statements) / len(QUESTIONS)
        print(f"{db.kind}: {per_update:.1f} statements and "
              f"{seen.count('COMMIT') / len(QUESTIONS):.1f} commits per question: {seen}")
        # the state read once (SQLite: in the turn's transaction; PostgreSQL: raw, with its
        # version)
        assert sum(s.startswith(("SELECT user_state", "SELECT mode, data")) for s in statements
                   ) == len(QUESTIONS)
        assert per_update <= 8  # on PostgreSQL too: the state's read takes the user's lock
        assert seen.count("COMMIT") <= 3 * len(QUESTIONS)


async def test_updated_at_is_refreshed_at_most_every_few_minutes(db, clock) -> None:
    store = StateStore(clock, STATE_TOUCH * 100)
    async with state_turn(db.sessions, store, "u1") as first:
        first.conv.language = "fr"

    async def touched() -> datetime:
        async with state_turn(db.sessions, store, "u1"):
            pass  # a turn that changes nothing in the state
        async with db.sessions() as session:
            row = await session.get(UserState, "u1")
            assert row is not None and row.language == "fr"
            return row.updated_at

    written = clock.now()
    clock.advance(seconds=STATE_TOUCH.total_seconds() - 1)
    assert await touched() == written  # nothing changed, recently touched: no write
    clock.advance(seconds=2)
    assert await touched() == clock.now()  # a few minutes later: refreshed (expiry and
    # the purge read it)


async def _cut_every_other_connection(engine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"))


async def test_postgres_connections_lost_without_pre_ping_cost_a_retry_not_an_update(
        db, tmp_path: Path) -> None:
    """No pre-ping at each checkout: a server restart (every connection of the pool cut) makes
    at most one turn fail, whether the lost connection shows in SQLAlchemy's statements or
    in a turn's raw ones (`vvs.turnend`): the whole pool is then replaced, and the update is
    processed anyway (retried from the inbox, or re-fetched by polling before its offset is
    confirmed)."""
    if db.kind != "postgres":
        pytest.skip("PostgreSQL's connection pool")
    assert not db.engine.pool._pre_ping
    async with running_bot(make_settings(db.url, tmp_path),
                           content_sets=[KnowledgeSet()]) as (api, services):
        assert not services.engine.pool._pre_ping
        chat = Chat(api, 4242)
        # several connections in the pool, as under load
        await asyncio.gather(*(Chat(api, 5000 + i).say("secret médical") for i in range(4)))
        await chat.say("c'est quoi une information préoccupante ?")
        failures: list[str] = []
        failed = services.inbox.failed

        async def counted(update_id: int, error: BaseException) -> bool:
            failures.append(type(error).__name__)
            return await failed(update_id, error)

        services.inbox.failed = counted  # type: ignore[method-assign]
        await _cut_every_other_connection(db.engine)  # what a restart does to the pool
        for question in ("secret médical", "violences conjugales", "qu'est-ce que la CRIP ?",
                         "certificat de coups et blessures"):
            since = len(api.calls)
            api.send_text(4242, question)
            await api.wait_for("sendMessage", chat_id=4242, timeout=15, since=since)
        assert len(failures) <= 1, failures


async def test_postgres_a_connection_lost_under_a_turns_raw_statement_replaces_the_pool(
        db, clock) -> None:
    """The turn's raw statements (`vvs.turnend`) bypass SQLAlchemy, which would notice a
    lost connection itself: the unit does what it does, so the next turns get live
    connections instead of the other dead ones of the pool."""
    if db.kind != "postgres":
        pytest.skip("PostgreSQL's connection pool")
    store = StateStore(clock, timedelta(hours=24))

    async def turn() -> None:
        async with turn_unit(db.sessions) as unit:
            await unit.load(store, "u1")
            await asyncio.sleep(0.05)  # overlapping turns: several connections in the pool

    await asyncio.gather(*(turn() for _ in range(4)))
    assert db.engine.pool.checkedin() >= 2
    await _cut_every_other_connection(db.engine)  # what a server restart does to the pool
    lost = 0
    for _ in range(4):
        try:
            await turn()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError,
                asyncpg.InternalClientError):
            lost += 1
    assert lost == 1


@pytest.mark.parametrize(("base_url", "allowed"), [
    ("http://127.0.0.1:8081/bot", True), ("http://localhost:8081/bot", True),
    ("http://[::1]:8081/bot", True), ("https://api.telegram.org/bot", False),
    ("http://10.0.0.5:8081/bot", False)])
def test_bot_rate_limit_off_only_against_a_local_stand_in(base_url: str, allowed: bool) -> None:
    from vvs.errors import ConfigError
    from vvs.settings import get_settings

    assert get_settings(_env_file=None, telegram_api_base_url=base_url).bot_rate_limit
    if allowed:
        assert not get_settings(_env_file=None, telegram_api_base_url=base_url,
                                bot_rate_limit="off").bot_rate_limit
    else:
        with pytest.raises(ConfigError, match="BOT_RATE_LIMIT"):
            get_settings(_env_file=None, telegram_api_base_url=base_url, bot_rate_limit="off")


async def test_bot_rate_limit_off_builds_a_bot_without_limiter(db, tmp_path: Path) -> None:
    from bot.compose import composed

    for value, limited in (("on", True), ("off", False)):
        settings = make_settings(db.url, tmp_path, bot_rate_limit=value,
                                 telegram_api_base_url="http://127.0.0.1:9/bot")
        async with composed(settings, content_sets=[], updater=False) as services:
            assert (services.bot.rate_limiter is not None) is limited


async def test_sqlite_writers_take_turns_in_arrival_order(db) -> None:
    """One writing transaction at a time per process, served first come first served (not by
    SQLite's busy handler); re-entrant in a task; nothing to do on PostgreSQL."""
    from vvs.models import ContentPublication

    order: list[int] = []
    inside, most = [0], [0]

    async def write(n: int) -> None:
        async with transaction(db.sessions) as session:
            order.append(n)
            inside[0] += 1
            most[0] = max(most[0], inside[0])
            session.add(ContentPublication(at=_now(), accepted=True, origin=f"w{n}"))
            await asyncio.sleep(0.01)  # hold it across an await: the others must queue
            async with transaction(db.sessions) as inner:  # same task: no deadlock
                inner.add(ContentPublication(at=_now(), accepted=True, origin=f"i{n}"))
            inside[0] -= 1

    await asyncio.gather(*(write(n) for n in range(8)))
    assert sorted(order) == list(range(8))
    if db.kind == "sqlite":
        assert most[0] == 1 and order == list(range(8))  # one at a time, in arrival order
    else:
        assert most[0] > 1  # PostgreSQL's row locks are enough: no queue


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


async def test_many_simultaneous_physicians_are_all_answered(db, tmp_path: Path) -> None:
    """More physicians at once, through the webhook, than the database pool has connections:
    every one is answered. (On SQLite, turns holding a connection while they queued for the
    writer lock starved the lock's holder — an inbox insert — of a connection: from 20
    simultaneous physicians on, nobody was answered.)"""
    from bot.compose import composed
    from bot.fakeapi import FakeBotAPI
    from bot.lifecycle import started
    from tests.botharness import TOKEN, webhook_server

    secret = "s3cret-" + "c" * 24
    settings = make_settings(db.url, tmp_path, bot_mode="webhook", webhook_secret=secret,
                             webhook_url="https://example.org/telegram/webhook")
    async with FakeBotAPI(token=TOKEN) as api, \
            composed(settings, content_sets=[KnowledgeSet()], token=TOKEN,
                     base_url=api.base_url, updater=False, rate_limit=False) as services, \
            started(services.application, polling=False), \
            webhook_server(services.application, secret) as url:
        api.serve_webhook([url], secret_token=secret, max_connections=40)
        users = range(5000, 5040)
        for round_ in range(2):
            since = len(api.calls)
            for user in users:
                api.send_text(user, QUESTIONS[(user + round_) % len(QUESTIONS)])
            await asyncio.gather(*(
                api.wait_for("sendMessage", chat_id=user, timeout=25, since=since)
                for user in users))
