"""Abuse: a physician may create, and cancel, at most REQUEST_LIMIT_PER_DAY requests in 24 h
(five create/cancel cycles once sent twenty notifications to a département's referents)."""

from __future__ import annotations

from pathlib import Path

import pytest

from escalation.errors import TooManyActions
from tests.botharness import Chat, buttons, make_settings, running_bot, texts
from tests.test_escalation_service import PHYS, Recorder, create, make_service
from vvs.db import transaction

pytestmark = pytest.mark.asyncio


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


async def _cancel(db, svc, esc_id: int) -> None:
    async with transaction(db.sessions) as s:
        await svc.cancel(s, esc_id, PHYS)


async def test_create_and_cancel_are_limited_per_day(db, clock, rec) -> None:
    svc = make_service(db, clock, rec, actions_per_day=3)
    for _ in range(3):
        await _cancel(db, svc, await create(db, svc))
    with pytest.raises(TooManyActions):
        await create(db, svc)
    assert await create(db, svc, user_key="another-physician")  # per physician
    clock.advance(hours=24, seconds=1)
    esc_id = await create(db, svc)  # a day later: allowed again
    await _cancel(db, svc, esc_id)


async def test_cancellations_are_limited_too(db, clock, rec) -> None:
    svc = make_service(db, clock, rec, actions_per_day=2, max_open=5)
    ids = [await create(db, svc) for _ in range(2)]
    clock.advance(hours=24, seconds=1)
    ids += [await create(db, svc) for _ in range(2)]
    for esc_id in ids[:2]:
        await _cancel(db, svc, esc_id)
    with pytest.raises(TooManyActions):
        await _cancel(db, svc, ids[2])


@pytest.mark.parametrize(("language", "said"), [("fr", "24 h"), ("en", "24 hours")])
async def test_the_limit_is_answered_politely(db, tmp_path: Path, language: str,
                                              said: str) -> None:
    settings = make_settings(db.url, tmp_path, request_limit_per_day=1, regional_chat_id=-1007)
    async with running_bot(settings, content_sets=[]) as (api, _services):
        doc = Chat(api, 5301, language=language, first_name="Jeanne")
        for attempt in range(2):
            await doc.command("/menu")
            await doc.press_data("e:new:victime")
            await doc.press("93")
            await doc.say("Ne pas partager" if language == "fr" else "Don't share")
            sent = await doc.say("Joignable après 18 h")
            assert buttons(sent)
            sent = await doc.press_data("e:send")
            if attempt == 0:
                assert "1" in texts(sent) and said not in texts(sent)
                await doc.press_data("e:cancel:1")
        assert said in texts(sent) and "n°2" not in texts(sent) and "no. 2" not in texts(sent)
