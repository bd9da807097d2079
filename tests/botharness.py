"""Drive the real Application through the local Bot API stand-in (polling mode)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from bot.app import build_application, build_services
from bot.config import Settings
from bot.fakeapi import FakeBotAPI
from bot.services import Services
from vvs.clock import Clock
from vvs.content import ContentSet

TOKEN = "123456:TEST-TOKEN"


def test_settings(db_url: str, tmp_path: Path, **overrides: object) -> Settings:
    """Settings for a test: explicit values only, nothing read from the environment."""
    values: dict[str, object] = {
        "telegram_bot_token": TOKEN, "database_url": db_url.replace("+aiosqlite", "")
        .replace("+asyncpg", ""), "data_dir": tmp_path / "data", "pseudonym_key": "k" * 32,
        "admin_ids": "900", "flood_burst": 1000,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@asynccontextmanager
async def running_bot(settings: Settings, clock: Clock | None = None,
                      content_sets: Sequence[ContentSet] | None = None,
                      api: FakeBotAPI | None = None) -> AsyncIterator[tuple[FakeBotAPI, Services]]:
    """Start the stand-in and the real bot (polling); stop both cleanly."""
    services = await build_services(settings, clock=clock, content_sets=content_sets)
    own_api = api is None
    api = api or FakeBotAPI(token=TOKEN)
    try:
        if own_api:
            await api.start()
        application = build_application(services, token=TOKEN, base_url=api.base_url)
        async with application:
            await application.updater.start_polling(poll_interval=0.0, timeout=1)
            await application.start()
            try:
                yield api, services
            finally:
                await application.updater.stop()
                await application.stop()
    finally:
        if own_api:
            await api.stop()
        await services.engine.dispose()
