"""PostgreSQL: a turn's end refuses itself when its update was processed already or when the
user's state changed since the turn read it (optimistic concurrency, `vvs.turnend`)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 12:00:00
"""
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# Raising aborts the whole statement: the claim, the state, the events and the replies its
# CTEs wrote are all undone. The codes are the project's own class (`VV`): the caller tells
# a processed update (VV001: nothing to do) from a state that moved (VV002: run the turn again).
FUNCTION = """
CREATE OR REPLACE FUNCTION vvs_end_turn(claimed bigint, state_kept boolean) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF claimed = 0 THEN
        RAISE EXCEPTION 'update processed already' USING ERRCODE = 'VV001';
    END IF;
    IF NOT state_kept THEN
        RAISE EXCEPTION 'state changed since the turn read it' USING ERRCODE = 'VV002';
    END IF;
    RETURN true;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS vvs_end_turn(bigint, boolean)")
