"""welcome mail: a list's welcome message, and when each subscription got it

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 07:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lists") as batch:
        batch.add_column(
            sa.Column("welcome", sa.String(length=200), nullable=False, server_default="")
        )
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("welcomed_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    # SQLite (3.35+) drops a plain column in place; Alembic's batch mode would
    # rebuild the table, and dropping the old one with foreign keys on fails or
    # cascades into the rows that point at it.
    for table, column in (
        ("subscriptions", "welcomed_at"),
        ("lists", "welcome"),
    ):
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        else:
            op.drop_column(table, column)
