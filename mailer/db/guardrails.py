"""The guardrails store: a running send's feedback, counted for its circuit breaker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, cast, exists, func, or_, select
from sqlalchemy.orm import Session

from mailer.db.models import MailingList, Recipient, Send, Subscriber, Subscription, Suppression
from mailer.status import SendStatus, SubscriptionStatus

R = Recipient


@dataclass(frozen=True)
class SendFeedback:
    """How many of a send's messages SES has reported on, and how badly."""

    with_feedback: int  # delivered, bounced or complained about
    hard_bounced: int
    complained: int
    overridden_at: datetime | None  # an operator resumed past the breaker


def send_feedback(session: Session, send_id: int) -> SendFeedback:
    """Count one send's feedback in one aggregate query over its outbox rows."""
    has_feedback = or_(
        R.delivered_at.is_not(None), R.bounced_at.is_not(None), R.complained_at.is_not(None)
    )
    row = session.execute(
        select(
            func.coalesce(func.sum(cast(has_feedback, Integer)), 0),
            func.coalesce(func.sum(cast(R.bounce_type == "hard", Integer)), 0),
            func.coalesce(func.sum(cast(R.complained_at.is_not(None), Integer)), 0),
        ).where(R.send_id == send_id)
    ).one()
    overridden = session.scalar(select(Send.breaker_overridden_at).where(Send.id == send_id))
    return SendFeedback(int(row[0]), int(row[1]), int(row[2]), overridden)


def mark_overridden(session: Session, send_id: int, when: datetime) -> None:
    """Record that the operator resumed ``send_id`` past its circuit breaker."""
    send = session.get(Send, send_id)
    if send is not None:
        send.breaker_overridden_at = when


# --- for `mailer doctor` ------------------------------------------------------------


def list_senders(session: Session) -> list[tuple[str, str]]:
    """(slug, from address) of every list."""
    rows = session.execute(select(MailingList.slug, MailingList.from_email).order_by("slug"))
    return [(slug, sender) for slug, sender in rows]


@dataclass(frozen=True)
class ListRates:
    """A list's messages sent since a moment, and how many bounced hard or were complained of."""

    slug: str
    sent: int
    hard_bounced: int
    complained: int


# How long after a send's end one of its messages may still be recorded: a
# cancelled send's last batch lands after the cancel.
FINISH_SLACK = timedelta(days=1)


def list_rates(session: Session, since: datetime) -> list[ListRates]:
    """Per list, over messages sent since ``since``: one GROUP BY over the outbox rows.

    Only sends still running at ``since`` can hold such messages (a retry
    reopens a finished send), so only their rows are read: the outbox of
    every older send is not. Their ids go in as values, which gives the
    planner each send's own row count.
    """
    recent = list(
        session.scalars(
            select(Send.id).where(
                or_(Send.finished_at.is_(None), Send.finished_at >= since - FINISH_SLACK)
            )
        )
    )
    if not recent:
        return []
    rows = session.execute(
        select(
            MailingList.slug,
            func.count(R.id),
            func.coalesce(func.sum(cast(R.bounce_type == "hard", Integer)), 0),
            func.coalesce(func.sum(cast(R.complained_at.is_not(None), Integer)), 0),
        )
        .select_from(MailingList)
        .join(Send, Send.list_id == MailingList.id)
        .join(R, R.send_id == Send.id)
        .where(R.send_id.in_(recent), R.sent_at >= since)
        .group_by(MailingList.slug)
        .order_by(MailingList.slug)
    )
    return [ListRates(slug, int(n), int(b), int(c)) for slug, n, b, c in rows]


def next_scheduled(session: Session) -> tuple[int, str, int] | None:
    """The next send due to start: (send id, list slug, active unsuppressed subscribers)."""
    row = session.execute(
        select(Send.id, MailingList.slug, MailingList.id)
        .join(MailingList, MailingList.id == Send.list_id)
        .where(Send.status == SendStatus.SCHEDULED)
        .order_by(Send.scheduled_at.is_not(None), Send.scheduled_at, Send.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    audience = session.scalar(
        select(func.count())
        .select_from(Subscription)
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(
            Subscription.list_id == row[2],
            Subscription.status == SubscriptionStatus.ACTIVE,
            ~exists().where(Suppression.email_hash == Subscriber.email_hash),
        )
    )
    return int(row[0]), str(row[1]), int(audience or 0)
