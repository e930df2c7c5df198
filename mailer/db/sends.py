"""What people read about sends: the ones waiting to start, each issue's sends, a list's audience.

The delivery queue itself (creating a send, freezing its recipients,
claiming and recording them) is ``mailer.db.outbox``; this store holds the
read-only queries the sends pages and ``mailer sends`` add to it. Functions
take a ``Session`` first and never commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailer.db import subscribers
from mailer.db.models import MailingList, Send, Subscriber, Subscription
from mailer.status import SendStatus, SubscriptionStatus


def pending(session: Session, issue_slug: str) -> list[tuple[int, str, str, datetime | None]]:
    """(send id, list slug, status, frozen at) of the sends of ``issue_slug`` not started yet."""
    rows = session.execute(
        select(Send.id, MailingList.slug, Send.status, Send.frozen_at)
        .join(MailingList, MailingList.id == Send.list_id)
        .where(
            Send.issue_slug == issue_slug,
            Send.started_at.is_(None),
            Send.status.in_([SendStatus.SCHEDULED, SendStatus.PAUSED]),
        )
        .order_by(Send.id)
    ).all()
    return [(int(i), slug, status, at) for i, slug, status, at in rows]


def by_issue(
    session: Session,
) -> list[tuple[str, str, str, datetime | None, datetime | None]]:
    """(issue, list slug, status, started at, scheduled at) of every send, oldest first."""
    rows = session.execute(
        select(Send.issue_slug, MailingList.slug, Send.status, Send.started_at, Send.scheduled_at)
        .join(MailingList, MailingList.id == Send.list_id)
        .order_by(Send.id)
    ).all()
    return [(issue, slug, status, started, due) for issue, slug, status, started, due in rows]


def audience(session: Session, list_id: int) -> int:
    """Who a send to list ``list_id`` would reach if it started now: active, not suppressed."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Subscription)
            .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
            .where(
                Subscription.list_id == list_id,
                Subscription.status == SubscriptionStatus.ACTIVE,
                ~subscribers.suppressed_clause(),
            )
        )
        or 0
    )
