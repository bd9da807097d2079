"""PostgreSQL: drop `vvs_locked_state` (migration 0007): turns read the state with its
version and write it only at that version (`vvs.turnend`), nothing reads under the lock now

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 15:30:00
"""
import runpy
from pathlib import Path

from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS vvs_locked_state(text)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":  # 0007's function, as it was
        op.execute(runpy.run_path(str(Path(__file__).with_name("0007_lock_state.py")))
                   ["FUNCTION"])
