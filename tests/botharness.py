"""Drive the real Application through the local Bot API stand-in (polling mode)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from bot.compose import composed
from bot.fakeapi import FakeBotAPI
from bot.lifecycle import started
from bot.services import Services
from vvs.clock import Clock
from vvs.content import ContentSet
from vvs.settings import Settings

TOKEN = "123456:TEST-TOKEN"


def make_settings(db_url: str, tmp_path: Path, **overrides: object) -> Settings:
    """Settings for a test: explicit values only, nothing read from the environment."""
    values: dict[str, object] = {
        "telegram_bot_token": TOKEN, "database_url": db_url.replace("+vvsinline", "")
        .replace("+asyncpg", ""), "data_dir": tmp_path / "data", "pseudonym_key": "k" * 32,
        "admin_ids": "900", "flood_burst": 1000,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@asynccontextmanager
async def running_bot(settings: Settings, clock: Clock | None = None,
                      content_sets: Sequence[ContentSet] | None = None,
                      api: FakeBotAPI | None = None, rate_limit: bool = True,
                      ) -> AsyncIterator[tuple[FakeBotAPI, Services]]:
    """Start the stand-in and the real bot (polling); stop both cleanly. `rate_limit=False`
    turns PTB's limiter off (it holds a group chat to 20 messages a minute)."""
    own_api = api is None
    api = api or FakeBotAPI(token=TOKEN)
    try:
        if own_api:
            await api.start()
        async with composed(settings, clock=clock, content_sets=content_sets, token=TOKEN,
                            base_url=api.base_url, rate_limit=rate_limit) as services, \
                started(services.application, polling=True):
            yield api, services
    finally:
        if own_api:
            await api.stop()


@asynccontextmanager
async def served(app) -> AsyncIterator[str]:
    """An aiohttp application served on a free loopback port; its base URL."""
    from aiohttp import web

    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def webhook_server(application, secret: str) -> AsyncIterator[str]:
    """Our webhook server (bot.web) for `application` on a free loopback port; its URL."""
    from bot.web import WEBHOOK_PATH, make_web_app

    async with served(make_web_app(application, secret)) as base:
        yield base + WEBHOOK_PATH


class Chat:
    """One user talking to the bot; `exchange` returns every message the bot answered."""

    def __init__(self, api: FakeBotAPI, user_id: int, language: str = "fr",
                 first_name: str | None = None) -> None:
        self.api, self.user_id, self.language = api, user_id, language
        self.first_name = first_name

    async def exchange(self, inject, timeout: float = 10.0) -> list:
        """Run `inject()` (an update of this user), then a sentinel command; per-user
        ordering means everything sent in between answers the injected update."""
        start = len(self.api.sent_messages(self.user_id))
        inject()
        self.api.send_command(self.user_id, "/zz_fin_de_tour", language_code=self.language)
        await self.api.wait_for(
            lambda c: (c.method == "sendMessage" and "Je ne connais pas" in str(
                c.params.get("text", ""))) or "I don't know this command" in str(
                c.params.get("text", "")), chat_id=self.user_id, timeout=timeout)
        sent = self.api.sent_messages(self.user_id)[start:]
        return sent[:-1]  # the sentinel's own answer is one message

    async def say(self, text: str) -> list:
        return await self.exchange(lambda: self.api.send_text(
            self.user_id, text, language_code=self.language, first_name=self.first_name))

    async def command(self, text: str) -> list:
        return await self.exchange(lambda: self.api.send_command(
            self.user_id, text, language_code=self.language, first_name=self.first_name))

    def button_message(self, label: str | None = None):
        """The latest real answer (not a sentinel's) with a button containing `label`."""
        for message in reversed(self.api.sent_messages(self.user_id)):
            if _is_sentinel_answer(message) or message.deleted:
                continue
            if any(label is None or label in b.text for b in message.buttons):
                return message
        raise LookupError(f"no button containing {label!r}")

    async def press(self, label: str) -> list:
        message = self.button_message(label)
        data = message.button_data(label)
        return await self.exchange(lambda: self.api.press_button(
            self.user_id, message.message_id, data))

    async def press_data(self, data: str, message_id: int | None = None) -> list:
        target = message_id or self.button_message().message_id
        return await self.exchange(lambda: self.api.press_button(self.user_id, target, data))


def _is_sentinel_answer(message) -> bool:
    text = message.text or ""
    return "Je ne connais pas cette commande" in text or "I don't know this command" in text


def texts(messages: list) -> str:
    """All plain texts of a list of sent messages, joined."""
    return "\n".join(m.plain for m in messages)


def buttons(messages: list) -> list[str]:
    return [b.text for m in messages for b in m.buttons]
