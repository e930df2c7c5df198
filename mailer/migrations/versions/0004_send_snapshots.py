"""send snapshots: each send keeps its published web version

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-28 07:50:00

Existing sends get a snapshot here. When ``mailer db upgrade`` passes the
settings and the issue's files still compose to the subject that was sent,
the snapshot is the web version built from them (issue page and story
pages); otherwise (files gone, broken or changed since) it is the issue page
made from the email HTML stored with the send, which is what readers got.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sends", schema=None) as batch_op:
        batch_op.add_column(sa.Column("frozen_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("manifest", sa.JSON(), nullable=True))
    op.create_table(
        "send_pages",
        sa.Column("send_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["send_id"], ["sends.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("send_id", "path"),
    )
    _backfill(op.get_bind(), context.config.attributes.get("settings"))


def _backfill(conn: Any, settings: Any) -> None:
    # Late import: the snapshot code only runs when there are sends to fill.
    sends = sa.table(
        "sends",
        sa.column("id", sa.Integer),
        sa.column("issue_slug", sa.String),
        sa.column("subject", sa.String),
        sa.column("html", sa.Text),
        sa.column("created_at", sa.DateTime),
        sa.column("frozen_at", sa.DateTime),
        sa.column("manifest", sa.JSON),
        sa.column("list_id", sa.Integer),
    )
    pages = sa.table(
        "send_pages",
        sa.column("send_id", sa.Integer),
        sa.column("path", sa.String),
        sa.column("media_type", sa.String),
        sa.column("body", sa.Text),
    )
    rows = conn.execute(
        sa.select(sends.c.id, sends.c.issue_slug, sends.c.subject, sends.c.html, sends.c.created_at)
    ).all()
    if not rows:
        return
    from mailer.compose.snapshot import snapshot_for_existing_send

    for send_id, slug, subject, html, created_at in rows:
        snap = snapshot_for_existing_send(settings, slug, subject, html or "")
        conn.execute(
            sa.update(sends)
            .where(sends.c.id == send_id)
            .values(frozen_at=created_at, manifest=snap.manifest)
        )
        conn.execute(
            sa.insert(pages),
            [
                {"send_id": send_id, "path": path, "media_type": media, "body": body}
                for path, (media, body) in snap.files().items()
            ],
        )


def downgrade() -> None:
    op.drop_table("send_pages")
    # SQLite (3.35+) drops a plain column in place; Alembic's batch mode would
    # rebuild the table, and dropping the old one with foreign keys on fails or
    # cascades into the rows that point at it.
    for table, column in (
        ("sends", "manifest"),
        ("sends", "frozen_at"),
    ):
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        else:
            op.drop_column(table, column)
