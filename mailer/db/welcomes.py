"""The SQL of welcome mail: who may still be welcomed, and claiming the welcome once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mailer.db.models import Subscriber, Subscription
from mailer.status import SubscriptionStatus


def may_welcome(session: Session, list_id: int, subscriber_id: int) -> bool:
    """Whether the subscription is active and was never welcomed (checked before composing)."""
    row = session.get(Subscription, (list_id, subscriber_id))
    return row is not None and row.status == SubscriptionStatus.ACTIVE and row.welcomed_at is None


def claim(session: Session, list_id: int, subscriber_id: int, now: datetime) -> bool:
    """Mark the subscription welcomed; False if it already was (or is not active).

    One conditional UPDATE: of two transactions activating the same
    subscription at once, only one sees ``welcomed_at IS NULL`` (PostgreSQL
    re-checks the condition after the row lock; SQLite runs writers one at
    a time), so a welcome is queued once.
    """
    result = session.execute(
        update(Subscription)
        .where(
            Subscription.list_id == list_id,
            Subscription.subscriber_id == subscriber_id,
            Subscription.status == SubscriptionStatus.ACTIVE,
            Subscription.welcomed_at.is_(None),
        )
        .values(welcomed_at=now)
        .execution_options(synchronize_session=False)
    )
    claimed = int(result.rowcount) == 1  # type: ignore[attr-defined]
    if claimed:
        # Keep an already loaded row in step with the database.
        row = session.get(Subscription, (list_id, subscriber_id))
        if row is not None:
            session.refresh(row, ["welcomed_at"])
    return claimed


def activated_by(
    session: Session, list_id: int, reason: str, since: datetime, batch: int = 1000
) -> Iterator[Subscriber]:
    """Subscribers whose subscription to ``list_id`` turned active for ``reason`` at ``since``
    or later and who were never welcomed, in id order, a batch at a time."""
    after = 0
    while True:
        rows = session.scalars(
            select(Subscriber)
            .join(Subscription, Subscription.subscriber_id == Subscriber.id)
            .where(
                Subscription.list_id == list_id,
                Subscription.status == SubscriptionStatus.ACTIVE,
                Subscription.status_reason == reason[:200],
                Subscription.status_changed_at >= since,
                Subscription.welcomed_at.is_(None),
                Subscriber.id > after,
            )
            .order_by(Subscriber.id)
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].id
