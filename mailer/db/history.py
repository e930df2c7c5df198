"""A person's history: every action an operator (or the CLI) took on them, and their mail.

Lines are keyed by the address hash. Forgetting a person erases their lines
and leaves one that says they were forgotten, which holds no personal data.
The messages sent to an address and the feedback events about it are read
from the outbox and the events table (``deliveries_of``, ``events_of``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mailer.clock import utcnow
from mailer.db import outbox
from mailer.db.models import Event, HistoryEntry, MailingList, Recipient, Send, Subscriber
from mailer.lists.addresses import email_hash


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    action: str
    list_slug: str | None
    detail: str
    actor: str


def record(
    session: Session,
    email: str,
    action: str,
    *,
    actor: str,
    list_slug: str | None = None,
    detail: str = "",
) -> None:
    """Add a line to the history of ``email`` (in the caller's transaction)."""
    record_hash(session, email_hash(email), action, actor=actor, list_slug=list_slug, detail=detail)


def record_hash(
    session: Session,
    digest: str,
    action: str,
    *,
    actor: str,
    list_slug: str | None = None,
    detail: str = "",
) -> None:
    """:func:`record` for an address known only by its hash."""
    session.add(
        HistoryEntry(
            email_hash=digest,
            action=action[:40],
            list_slug=list_slug,
            detail=detail,
            actor=actor[:100],
            created_at=utcnow(),
        )
    )
    session.flush()


def history_of(session: Session, email: str, limit: int = 200) -> list[HistoryLine]:
    """The latest lines of an address's history, newest first."""
    rows = session.scalars(
        select(HistoryEntry)
        .where(HistoryEntry.email_hash == email_hash(email))
        .order_by(HistoryEntry.id.desc())
        .limit(limit)
    )
    return [HistoryLine(r.created_at, r.action, r.list_slug, r.detail, r.actor) for r in rows]


def erase(session: Session, digest: str) -> int:
    """Delete every line about the address with this hash; return how many."""
    result = session.execute(
        delete(HistoryEntry)
        .where(HistoryEntry.email_hash == digest)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Delivery:
    """One message an address got (or was meant to get), for its history page."""

    send_id: int
    issue_slug: str
    list_slug: str
    subject: str
    status: str
    sent_at: datetime | None
    delivered_at: datetime | None
    bounced_at: datetime | None
    bounce_type: str | None
    complained_at: datetime | None
    unsubscribed_at: datetime | None
    opens: int
    clicks: int
    error: str


@dataclass(frozen=True)
class EventLine:
    """One feedback event (delivery, bounce, complaint…) about an address."""

    occurred_at: datetime
    event_type: str
    send_id: int | None
    detail: str


def deliveries_of(session: Session, email: str, limit: int = 200) -> list[Delivery]:
    """The messages sent to ``email`` (by address or by subscriber), newest send first."""
    digest = email_hash(email)
    person = session.scalar(select(Subscriber.id).where(Subscriber.email_hash == digest))
    rows = session.execute(
        select(
            Send.id,
            Send.issue_slug,
            MailingList.slug,
            Send.subject,
            Recipient.status,
            Recipient.sent_at,
            Recipient.delivered_at,
            Recipient.bounced_at,
            Recipient.bounce_type,
            Recipient.complained_at,
            Recipient.unsubscribed_at,
            Recipient.opens,
            Recipient.clicks,
            Recipient.error,
        )
        .join(Send, Send.id == Recipient.send_id)
        .join(MailingList, MailingList.id == Send.list_id)
        .where(outbox.of_person(person, digest))
        .order_by(Send.id.desc())
        .limit(limit)
    ).all()
    return [Delivery(*tuple(r)) for r in rows]


def events_of(session: Session, email: str, limit: int = 200) -> list[EventLine]:
    """The feedback events about ``email``, newest first."""
    rows = session.execute(
        select(Event.occurred_at, Event.event_type, Event.send_id, Event.detail)
        .where(Event.email == email.strip().lower())
        .order_by(Event.occurred_at.desc())
        .limit(limit)
    ).all()
    return [EventLine(at, kind, sid, detail) for at, kind, sid, detail in rows]
