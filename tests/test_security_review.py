"""Security and privacy review: forged paths, odd updates, what is kept and where it goes.
Each test drives the real Application through the local Bot API stand-in, or the database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from escalation.models import BlockedUser, Escalation
from tests.botharness import Chat, make_settings, running_bot, texts
from tests.test_escalation_e2e import create, enrol, notices, settled

pytestmark = pytest.mark.asyncio
PHYS, REF_A, REF_B, GROUP = 5101, 7101, 7102, -100999


async def test_block_by_a_referent_not_in_charge_blocks_nobody(db, tmp_path: Path) -> None:
    """B presses 'Bloquer' (forged) on a request A has in charge: refused, and the physician
    is not blocked behind the refusal."""
    async with running_bot(make_settings(db.url, tmp_path), content_sets=[]) as (api, services):
        await enrol(services, REF_A, "Dr Alpha")
        await enrol(services, REF_B, "Dr Bravo")
        esc_id = await create(services)
        await settled(services)
        await Chat(api, REF_A).press_data(f"e:take:{esc_id}", notices(api, REF_A)[0].message_id)
        sent = await Chat(api, REF_B).press_data(f"e:blockyes:{esc_id}",
                                                 notices(api, REF_B)[0].message_id)
        assert "bloqué" not in texts(sent)
        async with services.sessions() as s:
            assert (await s.exec(select(BlockedUser))).scalars().all() == []
            assert (await s.get(Escalation, esc_id)).status == "taken"
