"""PostgreSQL: a user's state row read under the user's advisory lock, in one round trip

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 04:30:00
"""
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# VOLATILE (the default): in READ COMMITTED each query inside takes a fresh snapshot, so the
# SELECT sees what the lock's previous holder committed. A single statement taking the lock
# and reading the row would read with the snapshot of its start, before the lock.
FUNCTION = """
CREATE OR REPLACE FUNCTION vvs_locked_state(k text) RETURNS SETOF user_state
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext(k));
    RETURN QUERY SELECT * FROM user_state WHERE user_key = k;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS vvs_locked_state(text)")
