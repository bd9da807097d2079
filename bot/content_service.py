"""Publishing content: reload, record the version in service, and let replicas converge.

A reload parses and indexes every file (about a second): it runs in a worker thread, so the
other users are served meanwhile; the registry swaps the new snapshot in one assignment.
"""

from __future__ import annotations

import asyncio
import logging

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.heap import freeze_heap
from bot.services import Services
from vvs.content import ReloadResult
from vvs.db import released, transaction
from vvs.models import ContentPublication, ContentVersion

log = logging.getLogger(__name__)


async def publish(services: Services, *, actor_key: str | None, origin: str,
                  session: AsyncSession | None = None) -> ReloadResult:
    """Reload from CONTENT_DIR; on success record the version for the other replicas (in
    `session`, the turn's, when a command publishes: one transaction per turn)."""
    async with released(services.sessions, session):  # the others' turns go on meanwhile
        result = await asyncio.to_thread(services.registry.reload)
    _settle(result)
    if session is not None:
        await _record(session, services, result, actor_key, origin)
        return result
    async with transaction(services.sessions) as own:
        await _record(own, services, result, actor_key, origin)
    return result


def _settle(result: ReloadResult) -> None:
    """A new content snapshot in service: the previous one's cycles freed, the new one
    frozen (`bot.heap`)."""
    if result.ok and result.changed:
        freeze_heap()


async def _record(session: AsyncSession, services: Services, result: ReloadResult,
                  actor_key: str | None, origin: str) -> None:
    session.add(ContentPublication(
        at=services.clock.now(), version=result.version if result.ok else None,
        accepted=result.ok, error_count=len(result.errors), actor_key=actor_key,
        origin=origin))
    if result.ok and result.version:
        await _record_version(session, services, result.version)


async def record_startup_version(services: Services) -> None:
    """At start-up the loaded version becomes the one in service if none is recorded."""
    async with transaction(services.sessions) as session:
        row = await session.get(ContentVersion, 1)
        if row is None:
            await _record_version(session, services, services.content.version)


async def _record_version(session, services: Services, version: str) -> None:
    row = await session.get(ContentVersion, 1)
    if row is None:
        row = ContentVersion(id=1, version=version, published_at=services.clock.now())
    row.version, row.published_at = version, services.clock.now()
    session.add(row)


async def follow_published(services: Services) -> bool:
    """Another replica published a version: reload ours. True when we changed."""
    async with services.sessions() as session:
        row = await session.get(ContentVersion, 1)
    if row is None or row.version == services.content.version:
        return False
    result = await asyncio.to_thread(services.registry.reload)
    _settle(result)
    if not result.ok:
        log.error("published content %s does not validate here: %d error(s)",
                  row.version, len(result.errors))
        return False
    if result.version != row.version:
        log.warning("content on disk (%s) differs from the published version (%s)",
                    result.version, row.version)
    return result.changed
