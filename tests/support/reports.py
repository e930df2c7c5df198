"""The reports tests' kit: sends whose outcome is known row by row, to check reports against."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from mailer.db import Database
from mailer.db.models import Recipient, Send
from mailer.status import RecipientStatus, SendStatus
from tests.support.rows import mailing_list

T0 = datetime(2026, 11, 2, 9, 0, 0)


def make_list(db: Database, slug: str = "weekly") -> int:
    with db.session() as s:
        lst = mailing_list(slug)
        s.add(lst)
        s.flush()
        return lst.id


def make_send(
    db: Database, list_id: int, rows: list[dict[str, Any]], issue: str = "issue-42"
) -> int:
    """A send whose outbox rows carry exactly the given fields."""
    with db.session() as s:
        send = Send(
            issue_slug=issue,
            list_id=list_id,
            subject=f"{issue}: the news",
            status=SendStatus.DONE,
            status_reason="",
            created_at=T0,
            started_at=T0,
            total=len(rows),
        )
        s.add(send)
        s.flush()
        s.add_all(
            Recipient(
                send_id=send.id,
                email=f"r{i}@example.org",
                status=row.get("status", RecipientStatus.SENT),
                attempts=1,
                error=row.get("error", ""),
                sent_at=T0,
                delivered_at=row.get("delivered_at"),
                bounced_at=row.get("bounced_at"),
                bounce_type=row.get("bounce_type"),
                complained_at=row.get("complained_at"),
                unsubscribed_at=row.get("unsubscribed_at"),
                opens=row.get("opens", 0),
                clicks=row.get("clicks", 0),
            )
            for i, row in enumerate(rows)
        )
        return send.id


def mixed_rows() -> list[dict[str, Any]]:
    """100 recipients: 90 sent (80 delivered, 6 hard + 2 soft bounces, 1 complaint
    among the delivered, 2 unsubscribes), 4 failed, 3 skipped, 2 uncertain, 1 queued;
    30 delivered opened (45 opens), 10 clicked (12 clicks)."""
    d = T0 + timedelta(minutes=5)
    rows: list[dict[str, Any]] = []
    for i in range(80):
        row: dict[str, Any] = {"delivered_at": d + timedelta(hours=i % 3)}
        if i < 30:
            row["opens"] = 2 if i < 15 else 1
        if i < 10:
            row["clicks"] = 2 if i < 2 else 1
        if i == 40:
            row["complained_at"] = d + timedelta(hours=5)
        if i in (50, 51):
            row["unsubscribed_at"] = d + timedelta(hours=6)
        rows.append(row)
    # A bounce after a delivery report: counted as bounced, not delivered.
    rows += [{"bounced_at": d, "bounce_type": "hard", "delivered_at": d}]
    rows += [{"bounced_at": d, "bounce_type": "hard"} for _ in range(5)]
    rows += [{"bounced_at": d, "bounce_type": "soft"} for _ in range(2)]
    rows += [{} for _ in range(2)]  # sent, no feedback yet
    rows += [
        {"status": RecipientStatus.FAILED, "error": "rejected by SES: Bad content"}
        for _ in range(4)
    ]
    rows += [{"status": RecipientStatus.SKIPPED} for _ in range(3)]
    rows += [{"status": RecipientStatus.UNCERTAIN} for _ in range(2)]
    rows += [{"status": RecipientStatus.QUEUED}]
    assert len(rows) == 100
    return rows
