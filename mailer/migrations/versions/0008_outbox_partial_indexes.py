"""outbox: partial indexes on the rows in flight and on unlinked rows

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 17:00:00

Lease expiry runs on every worker poll and renewal on every heartbeat, both
across all sends. Without this index they read the whole outbox, every past
send included: 170-190 ms a poll at a million rows on SQLite. The index holds
only the rows in flight, at most a batch per worker.

A person's history and their erasure look up outbox rows by subscriber, and
by address hash for rows whose subscriber was deleted: the second index holds
only those unlinked rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

IN_FLIGHT = sa.text("status = 'sending'")
UNLINKED = sa.text("subscriber_id IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_send_recipients_in_flight",
        "send_recipients",
        ["lease_until"],
        postgresql_where=IN_FLIGHT,
        sqlite_where=IN_FLIGHT,
    )
    op.create_index(
        "ix_send_recipients_unlinked_hash",
        "send_recipients",
        ["email_hash"],
        postgresql_where=UNLINKED,
        sqlite_where=UNLINKED,
    )


def downgrade() -> None:
    op.drop_index("ix_send_recipients_unlinked_hash", table_name="send_recipients")
    op.drop_index("ix_send_recipients_in_flight", table_name="send_recipients")
