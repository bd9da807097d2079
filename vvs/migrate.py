"""Apply Alembic migrations (at start-up and via `vvs-admin db upgrade`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from vvs.db import is_postgres

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
MIGRATION_LOCK = 7_235_001  # arbitrary, fixed: the advisory lock key of migrations


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the database to the latest revision."""
    def _upgrade(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")

    async with engine.begin() as connection:
        if is_postgres(connection):
            # replicas starting together: one migrates, the others wait then find it done
            await connection.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                                     {"k": MIGRATION_LOCK})
        await connection.run_sync(_upgrade)
