"""guardrails and engagement: breaker override, link map, click/open details

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 07:40:00
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BATCH = 5000


def _details(payload: str, kind: str) -> dict[str, Any]:
    """What the engagement report needs from a stored open or click payload."""
    try:
        doc = json.loads(payload)
        if isinstance(doc, dict) and isinstance(doc.get("Message"), str):
            doc = json.loads(doc["Message"])
        body = doc.get(kind) if isinstance(doc, dict) else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return {"ua": None, "ip": None, "link": None, "tags": None}
    tags = body.get("linkTags")
    return {
        "ua": str(body.get("userAgent") or "")[:500] or None,
        "ip": str(body.get("ipAddress") or "")[:64] or None,
        "link": str(body.get("link") or "") or None if kind == "click" else None,
        "tags": json.dumps(tags, sort_keys=True)[:500] if isinstance(tags, dict) and tags else None,
    }


def upgrade() -> None:
    # Plain ADD COLUMN (nullable, no default) on both databases: no table is
    # rebuilt, so no row is copied, and SQLite's cascades never fire.
    op.add_column("sends", sa.Column("breaker_overridden_at", sa.DateTime(), nullable=True))
    op.add_column("sends", sa.Column("links", sa.JSON(), nullable=True))
    op.add_column("events", sa.Column("link", sa.Text(), nullable=True))
    op.add_column("events", sa.Column("link_tags", sa.String(length=500), nullable=True))
    op.add_column("events", sa.Column("user_agent", sa.String(length=500), nullable=True))
    op.add_column("events", sa.Column("ip_address", sa.String(length=64), nullable=True))
    # Opens and clicks stored before this revision get their details from the
    # raw payload kept for audit, so old sends report per link too.
    conn = op.get_bind()
    events = sa.table(
        "events",
        sa.column("id", sa.Integer),
        sa.column("event_type", sa.String),
        sa.column("payload", sa.Text),
        sa.column("link", sa.Text),
        sa.column("link_tags", sa.String),
        sa.column("user_agent", sa.String),
        sa.column("ip_address", sa.String),
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(events.c.id, events.c.event_type, events.c.payload)
            .where(events.c.event_type.in_(["open", "click"]), events.c.id > last)
            .order_by(events.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        last = rows[-1][0]
        updates = [{"eid": r[0], **_details(r[2], r[1])} for r in rows]
        conn.execute(
            events.update()
            .where(events.c.id == sa.bindparam("eid"))
            .values(
                link=sa.bindparam("link"),
                link_tags=sa.bindparam("tags"),
                user_agent=sa.bindparam("ua"),
                ip_address=sa.bindparam("ip"),
            ),
            updates,
        )


def downgrade() -> None:
    # SQLite (3.35+) drops a plain column in place. Alembic's batch mode would
    # rebuild `sends` instead, and dropping the old table with foreign keys on
    # cascades into every outbox row.
    for table, column in (
        ("events", "ip_address"),
        ("events", "user_agent"),
        ("events", "link_tags"),
        ("events", "link"),
        ("sends", "links"),
        ("sends", "breaker_overridden_at"),
    ):
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        else:
            op.drop_column(table, column)
