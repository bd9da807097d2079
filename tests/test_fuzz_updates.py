"""Property-based fuzzing of the whole bot: random and malformed updates through the real
Application and the local Bot API stand-in (SQLite). For every example: no exception reaches
the error handler or the logs, every call the bot makes is accepted by the stand-in, which
enforces Telegram's limits (4096 characters of text, 1024 of caption, callback data of 1 to
64 bytes), no keyboard has more than 100 buttons, and each user's stored state still reads.

Profiles (`HYPOTHESIS_PROFILE`): `ci` (the default: derandomised, 300 examples of up to 8
updates, no deadline), `long` (5,000 random examples, for a local run) and `dev` (50).
The bot runs in a thread of its own, with its own event loop, for the whole module, without
PTB's rate limiter (it would only hold replies to a group to 20 a minute); users come from a
small pool, so their state carries over from one example to the next.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from bot.fakeapi import FakeBotAPI, inline_buttons
from bot.services import Services
from tests.botharness import make_settings, running_bot
from vvs.models import UserState
from vvs.state import IDLE, decode

_CHECKS = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
           HealthCheck.data_too_large]
settings.register_profile("ci", derandomize=True, max_examples=300, deadline=None,
                          suppress_health_check=_CHECKS, print_blob=True)
settings.register_profile("long", max_examples=5000, deadline=None,
                          suppress_health_check=_CHECKS, print_blob=True)
settings.register_profile("dev", max_examples=50, deadline=None,
                          suppress_health_check=_CHECKS)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

USERS = (7001, 7002, 7003, 7004)
GROUPS = (-100700, -700)
SENTINEL = "/zz_fin_de_fuzz"
MAX_BUTTONS = 100
COMMANDS = ("/start", "/menu", "/aide", "/urgence", "/annuaire", "/signaler", "/victime",
            "/langue", "/confidentialite", "/mademande", "/dossiers", "/effacer", "/annuler",
            "/recharger", "/inscription", "/start mineur", "/start majeur", "/start xyz",
            "/stats", "/inconnue", "/START", "/start@assistant_vvs_bot", "/start@autre_bot")
PREFIXES = ("m", "k", "a", "f", "e", "s")
# Button data the bot really uses, then anything: parsed, validated, never trusted.
KNOWN_DATA = ("m:flow:mineur", "m:flow:majeur", "m:flow:ip", "m:flow:victime", "m:ask",
              "m:annuaire", "m:urg", "f:c:danger:1", "f:c:danger:0", "f:c:faits:0",
              "f:d:residence-signalement:93", "f:r", "f:x", "f:b:faits", "f:rec",
              "f:doc:signalement", "k:more:crip", "k:rel:crip", "k:not:crip", "k:nr:crip",
              "k:ed", "k:ed:crip", "k:edok", "k:edno",
              "k:theme:mineur", "k:e:secret-professionnel", "a:kind:umj", "a:more:3",
              "a:pin:umj-creteil", "e:new:mineur", "s:dept:93", "s:lang:en", "s:lang:fr")

texts = st.one_of(
    st.text(max_size=300),
    st.text(min_size=3000, max_size=5000),
    st.sampled_from(["c koi la crip ?", "umj creteil", "93", "75011", "Oui", "Non", "Annuler",
                     "il a un couteau", "crip 93", "secret médical", "Ne pas partager",
                     "0601020304", "<b>gras</b>", "&amp;", "\u202e\u0000", "🙂" * 50]),
    st.builds(lambda c, t: f"{c} {t}", st.sampled_from(COMMANDS), st.text(max_size=80)),
)
callback_data = st.one_of(
    st.sampled_from(KNOWN_DATA),
    st.builds(lambda p, rest: f"{p}:{rest}", st.sampled_from(PREFIXES), st.text(max_size=70)),
    st.text(max_size=80),
)
coordinates = st.tuples(st.floats(-90, 90), st.floats(-180, 180))


@dataclass(frozen=True)
class Action:
    """One update a user sends; `apply` injects it into the stand-in."""

    kind: str
    user: int
    value: Any = None
    chat: int | None = None

    def apply(self, api: FakeBotAPI) -> None:
        chat = self.chat
        if self.kind == "text":
            api.send_text(self.user, self.value, chat_id=chat)
        elif self.kind == "command":
            api.send_command(self.user, self.value, chat_id=chat)
        elif self.kind == "press":
            target = api.last_with_buttons(self.user)
            api.press_button(self.user, target.message_id if target else 1, self.value)
        elif self.kind == "press_old":
            api.press_button(self.user, self.value[0], self.value[1], chat_id=chat)
        elif self.kind == "press_real":
            target = api.last_with_buttons(self.user)
            if target is not None:
                buttons = [b for b in target.buttons if b.callback_data]
                if buttons:
                    button = buttons[self.value % len(buttons)]
                    api.press_button(self.user, target.message_id, str(button.callback_data))
        elif self.kind == "sticker":
            api.send_sticker(self.user, chat_id=chat)
        elif self.kind == "voice":
            api.send_voice(self.user, duration=self.value, chat_id=chat)
        elif self.kind == "photo":
            api.send_photo(self.user, caption=self.value, chat_id=chat)
        elif self.kind == "location":
            api.send_location(self.user, *self.value, chat_id=chat)
        elif self.kind == "contact":
            api.send_contact(self.user, self.value, "Jeanne", chat_id=chat)
        elif self.kind == "edited":
            api.inject_raw({"edited_message": {
                "message_id": 1, "date": 1, "edit_date": 2, "text": self.value,
                "chat": {"id": chat or self.user, "type": "private" if not chat else "group",
                         "first_name": "Dr"}, "from": _user(self.user)}})
        elif self.kind == "foreign_contact":
            api.inject_raw({"message": {
                "message_id": 1, "date": 1, "chat": {"id": self.user, "type": "private"},
                "from": _user(self.user), "contact": {"phone_number": self.value,
                                                      "first_name": "X", "user_id": 12345}}})
        elif self.kind == "no_text":
            api.inject_raw({"message": {"message_id": 1, "date": 1, "from": _user(self.user),
                                        "chat": {"id": self.user, "type": "private"}}})
        else:  # pragma: no cover - the strategy only builds the kinds above
            raise AssertionError(self.kind)


def _user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Dr Fuzz", "language_code": "fr"}


def actions(user: int) -> st.SearchStrategy[Action]:
    groups = st.one_of(st.none(), st.sampled_from(GROUPS))
    return st.one_of(
        st.builds(Action, st.just("text"), st.just(user), texts, groups),
        st.builds(Action, st.just("command"), st.just(user), st.sampled_from(COMMANDS), groups),
        st.builds(Action, st.just("press"), st.just(user), callback_data),
        st.builds(Action, st.just("press_real"), st.just(user), st.integers(0, 20)),
        st.builds(Action, st.just("press_real"), st.just(user), st.integers(0, 20)),
        st.builds(Action, st.just("press_old"), st.just(user),
                  st.tuples(st.integers(-5, 10_000), callback_data), groups),
        st.builds(Action, st.just("sticker"), st.just(user), st.none(), groups),
        st.builds(Action, st.just("voice"), st.just(user), st.integers(0, 10_000)),
        st.builds(Action, st.just("photo"), st.just(user), st.none() | st.text(max_size=200)),
        st.builds(Action, st.just("location"), st.just(user), coordinates, groups),
        st.builds(Action, st.just("contact"), st.just(user),
                  st.text(max_size=30) | st.just("+33601020304")),
        st.builds(Action, st.just("foreign_contact"), st.just(user), st.text(max_size=20)),
        st.builds(Action, st.just("edited"), st.just(user), st.text(max_size=200), groups),
        st.builds(Action, st.just("no_text"), st.just(user)),
    )


sessions = st.sampled_from(USERS).flatmap(
    lambda user: st.lists(actions(user), min_size=1, max_size=8))


class _Errors(logging.Handler):
    """Every ERROR record, from any thread (the bot runs in its own)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.name}: {record.getMessage()} {record.exc_info!r}")


@dataclass
class BotThread:
    """The stand-in and the real bot, running in an event loop of their own."""

    loop: asyncio.AbstractEventLoop
    api: FakeBotAPI
    services: Services
    errors: _Errors
    stop: Callable[[], None] = field(repr=False)

    def run(self, coroutine: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotThread]:
    tmp = tmp_path_factory.mktemp("fuzz")
    ready: Future[BotThread] = Future()
    errors = _Errors()
    logging.getLogger().addHandler(errors)

    def main() -> None:
        loop = asyncio.new_event_loop()

        async def serve() -> None:
            stop = asyncio.Event()
            settings = make_settings(f"sqlite:///{tmp / 'fuzz.db'}", tmp,
                                     flood_burst=1_000_000, flood_rate_per_second=1e6)
            try:
                # PTB's limiter only delays: a group chat gets 20 messages a minute
                async with running_bot(settings, rate_limit=False) as (api, services):
                    ready.set_result(BotThread(loop, api, services, errors,
                                               lambda: loop.call_soon_threadsafe(stop.set)))
                    await stop.wait()
            except BaseException as exc:
                if not ready.done():
                    ready.set_exception(exc)
                raise

        try:
            loop.run_until_complete(serve())
        finally:
            loop.close()

    thread = threading.Thread(target=main, name="fuzzed-bot", daemon=True)
    thread.start()
    handle = ready.result(120)
    try:
        yield handle
    finally:
        handle.stop()
        thread.join(60)
        logging.getLogger().removeHandler(errors)


async def _round(bot: BotThread, user: int, session: list[Action]) -> list[Any]:
    """Inject the session, then a sentinel command: the per-user processor answers the
    sentinel after every earlier update of that user. Returns the calls made meanwhile."""
    api = bot.api
    start = len(api.calls)
    for action in session:
        action.apply(api)
    api.send_command(user, SENTINEL)
    await api.wait_for(lambda c: (c.method == "sendMessage" and "Je ne connais pas" in str(
        c.params.get("text", ""))) or "I don't know this command" in str(
        c.params.get("text", "")), chat_id=user, since=start, timeout=30)
    # Replies to group chats are not ordered with the user's private chat: let them land.
    await asyncio.sleep(0.02)
    return api.calls[start:]


async def _stored_states(services: Services) -> list[UserState]:
    async with services.sessions() as session:
        return list((await session.exec(select(UserState))).all())


def _check_limits(call: Any) -> str | None:
    params = call.params
    text = params.get("text")
    if isinstance(text, str) and len(text) > 4096:  # raw: the stand-in checks the parsed text
        return None if call.ok else f"{call.method}: text too long"
    markup = params.get("reply_markup")
    if isinstance(markup, dict):
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        if sum(len(row) for row in rows) > MAX_BUTTONS:
            return f"{call.method}: {sum(len(row) for row in rows)} buttons"
        for button in inline_buttons(markup):
            data = button.callback_data
            if data is not None and not 1 <= len(data.encode()) <= 64:
                return f"{call.method}: callback data {data!r}"
    return None


@given(session=sessions)
def test_random_updates_never_break_the_bot(bot: BotThread, session: list[Action]) -> None:
    """Random and malformed updates: no unhandled exception, replies within Telegram's
    limits and accepted by the stand-in, every stored state still reads."""
    user = session[0].user
    seen = len(bot.errors.records)
    calls = bot.run(_round(bot, user, session))
    new_errors = bot.errors.records[seen:]
    assert not new_errors, new_errors
    problems = [problem for call in calls if (problem := _check_limits(call))]
    assert not problems, problems
    refused = [(c.method, c.status, c.description) for c in calls
               if not c.ok and not _tolerated(c)]
    assert not refused, refused
    assert not any("une erreur s'est produite" in str(c.params.get("text", "")) for c in calls)
    for row in bot.run(_stored_states(bot.services)):
        kind = bot.services.state.types.get(row.mode)
        assert kind is not None or row.mode == IDLE, f"unknown mode {row.mode!r}"
        if kind is not None and (row.mode != IDLE or row.data):
            decode(kind, row.data or {})  # raises when the stored state no longer reads


def _tolerated(call: Any) -> bool:
    """Refusals a forged button legitimately earns: editing a message that is not the bot's
    (the press came from a message id the user made up)."""
    return call.method.startswith("edit") and call.status == 400 and "message" in str(
        call.description)


def test_profile_is_bounded_in_ci() -> None:
    """CI's profile is derandomised and bounded, so the run time does not drift."""
    if os.environ.get("HYPOTHESIS_PROFILE", "ci") == "ci":
        assert settings.default.derandomize and settings.default.max_examples <= 500
