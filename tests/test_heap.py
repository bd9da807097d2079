"""The long-lived heap out of the collector's reach (`bot.heap`): frozen once the bot has
started, given back at shutdown, and a content reload frees the previous snapshot."""

from __future__ import annotations

import gc
import shutil
import weakref
from pathlib import Path

from bot.content_service import publish
from tests.botharness import make_settings, running_bot
from tests.test_bot_e2e import sets

ROOT = Path(__file__).resolve().parent.parent


async def test_started_bot_freezes_its_heap_and_a_reload_frees_the_old_content(
        db, tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(ROOT / "annuaire" / "data", content / "annuaire" / "data")
    gc.unfreeze()
    settings = make_settings(db.url, tmp_path, content_dir=content)
    async with running_bot(settings, content_sets=sets()) as (_api, services):
        assert gc.get_freeze_count() > 10_000  # the directory and its gazetteer, at least
        assert not _collectable(services.content)
        old = weakref.ref(services.content)
        extra = content / "annuaire" / "data" / "75.yaml"
        extra.write_text(extra.read_text() + "\n# edited\n")
        result = await publish(services, actor_key=None, origin="test")
        assert result.ok and result.changed
        assert old() is None  # the previous snapshot, frozen at start-up, was freed
        assert not _collectable(services.content)  # and the new one is frozen
    assert gc.get_freeze_count() == 0


def _collectable(obj: object) -> bool:
    """Whether a full collection would walk `obj` (frozen objects are in no generation)."""
    return gc.is_tracked(obj) and any(o is obj for o in gc.get_objects())
