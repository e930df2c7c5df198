"""mail queue for subscriber-triggered mail; per-user session generation

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 07:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "mail_queue",
        sa.Column("id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("to_email", sa.String(length=320), nullable=False),
        sa.Column("to_name", sa.String(length=200), nullable=False),
        sa.Column("from_name", sa.String(length=200), nullable=False),
        sa.Column("from_email", sa.String(length=320), nullable=False),
        sa.Column("reply_to", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("subscriber_id", BigId, nullable=True),
        sa.Column("list_id", BigId, nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("message_id", sa.String(length=250), nullable=True),
        sa.Column("provider_message_id", sa.String(length=250), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["list_id"], ["lists.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscribers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("mail_queue", schema=None) as batch_op:
        batch_op.create_index("ix_mail_queue_status_id", ["status", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_mail_queue_subscriber_id"), ["subscriber_id"], unique=False
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_generation", sa.Integer(), server_default="1", nullable=False)
        )


def downgrade() -> None:
    # SQLite (3.35+) drops a plain column in place; Alembic's batch mode would
    # rebuild the table, and dropping the old one with foreign keys on fails or
    # cascades into the rows that point at it.
    for table, column in (("users", "session_generation"),):
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        else:
            op.drop_column(table, column)
    with op.batch_alter_table("mail_queue", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mail_queue_subscriber_id"))
        batch_op.drop_index("ix_mail_queue_status_id")
    op.drop_table("mail_queue")
