"""Helpers for the events tests: a list, subscribers and a sent send to match feedback to."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from mailer.clock import utcnow
from mailer.db import Database
from mailer.db.models import Recipient, Send, Subscriber, Subscription
from mailer.lists.addresses import email_hash
from mailer.status import RecipientStatus, SendStatus, SubscriptionStatus
from tests.support.rows import mailing_list

PAYLOADS = Path(__file__).parent / "payloads"
# AWS's published examples, kept as published (see aws/README.md).
AWS_EXAMPLES = PAYLOADS / "aws"

# SES MessageIds in tests/events/payloads, by recipient.
IDS = {
    "alice": "010201900a1b2c3d-1f2e3d4c-5b6a-4789-9a0b-1c2d3e4f5a61-000000",
    "bob": "010201900a1b2c3d-1f2e3d4c-5b6a-4789-9a0b-1c2d3e4f5a62-000000",
    "carol": "010201900a1b2c3d-1f2e3d4c-5b6a-4789-9a0b-1c2d3e4f5a63-000000",
    "dave": "010201900a1b2c3d-1f2e3d4c-5b6a-4789-9a0b-1c2d3e4f5a64-000000",
    "team": "010201900a1b2c3d-1f2e3d4c-5b6a-4789-9a0b-1c2d3e4f5a65-000000",
}
PEOPLE = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_text(encoding="utf-8"))
    return data


@dataclass
class World:
    """Two lists, eight subscribers on both, one send to the first list."""

    db: Database
    send_id: int
    list_ids: tuple[int, int]
    recipients: dict[str, int]  # name -> recipient row id

    def recipient(self, name: str) -> Recipient:
        with self.db.session() as s:
            row = s.get(Recipient, self.recipients[name])
            assert row is not None
            return row

    def statuses(self, name: str) -> dict[int, str]:
        """List id -> subscription status of ``name``."""
        with self.db.session() as s:
            sub_id = s.scalar(
                select(Subscriber.id).where(Subscriber.email == f"{name}@example.org")
            )
            rows = s.execute(
                select(Subscription.list_id, Subscription.status).where(
                    Subscription.subscriber_id == sub_id
                )
            )
            return {list_id: status for list_id, status in rows}

    def snapshot(self) -> dict[str, Any]:
        """Every row the events stage may change, to prove that nothing changed."""
        from mailer.db.models import Event, Suppression

        with self.db.session() as s:
            return {
                "recipients": sorted(
                    tuple(str(getattr(r, c.key)) for c in Recipient.__table__.columns)
                    for r in s.scalars(select(Recipient))
                ),
                "subscriptions": sorted(
                    (x.list_id, x.subscriber_id, x.status) for x in s.scalars(select(Subscription))
                ),
                "suppressions": sorted(x.email_hash for x in s.scalars(select(Suppression))),
                "events": s.scalar(select(Event.id).order_by(Event.id.desc()).limit(1)),
            }


def make_world(db: Database) -> World:
    now = utcnow()
    with db.session() as s:
        lists = []
        for slug in ("weekly", "offers"):
            lst = mailing_list(slug)
            s.add(lst)
            lists.append(lst)
        s.flush()
        send = Send(
            issue_slug="issue-42",
            list_id=lists[0].id,
            subject="Issue 42: autumn",
            status=SendStatus.DONE,
            status_reason="",
            created_at=now,
            total=len(PEOPLE),
        )
        s.add(send)
        s.flush()
        recipients = {}
        for name in PEOPLE:
            email = f"{name}@example.org"
            sub = Subscriber(
                email=email,
                email_hash=email_hash(email),
                name=name.title(),
                attributes={},
                source="test",
                created_at=now,
                updated_at=now,
            )
            s.add(sub)
            s.flush()
            for lst in lists:
                s.add(
                    Subscription(
                        list_id=lst.id,
                        subscriber_id=sub.id,
                        status=SubscriptionStatus.ACTIVE,
                        status_reason="",
                        status_changed_at=now,
                        created_at=now,
                    )
                )
            pmid = IDS["team"] if name in ("erin", "frank", "grace") else IDS.get(name)
            rec = Recipient(
                send_id=send.id,
                subscriber_id=sub.id,
                email=email,
                status=RecipientStatus.SENT,
                attempts=1,
                message_id=f"<{name}.42@news.example.org>",
                provider_message_id=pmid,
                error="",
                sent_at=now,
                opens=0,
                clicks=0,
            )
            s.add(rec)
            s.flush()
            recipients[name] = rec.id
        return World(db, send.id, (lists[0].id, lists[1].id), recipients)
