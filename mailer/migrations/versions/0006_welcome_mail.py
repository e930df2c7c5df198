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
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("welcomed_at")
    with op.batch_alter_table("lists") as batch:
        batch.drop_column("welcome")
