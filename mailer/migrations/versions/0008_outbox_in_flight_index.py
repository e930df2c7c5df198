"""outbox: a partial index on the rows in flight

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 17:00:00

Lease expiry runs on every worker poll and renewal on every heartbeat, both
across all sends. Without this index they read the whole outbox, every past
send included: 170-190 ms a poll at a million rows on SQLite. The index holds
only the rows in flight, at most a batch per worker.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

IN_FLIGHT = sa.text("status = 'sending'")


def upgrade() -> None:
    op.create_index(
        "ix_send_recipients_in_flight",
        "send_recipients",
        ["lease_until"],
        postgresql_where=IN_FLIGHT,
        sqlite_where=IN_FLIGHT,
    )


def downgrade() -> None:
    op.drop_index("ix_send_recipients_in_flight", table_name="send_recipients")
