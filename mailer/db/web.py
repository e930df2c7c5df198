"""Queries the web app needs that no other stage's store provides.

The public archive shows only issues that went out (a send that started), and
an unsubscribe made on the web is credited to the send that brought the
message, so the send's report counts it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select, text, update
from sqlalchemy.orm import Session

from mailer.clock import utcnow
from mailer.db import Database, snapshots, subscribers
from mailer.db.models import Event, MailingList, Recipient, Send, Subscriber, Subscription
from mailer.errors import NotFoundError
from mailer.lists.addresses import email_hash
from mailer.status import RecipientStatus, SubscriptionStatus

_sqlite_writer = threading.Lock()


@dataclass(frozen=True)
class SentIssue:
    """An issue in the public archive: first went out at ``sent_at``."""

    issue_slug: str
    subject: str
    sent_at: datetime


def sent_issues(
    session: Session, list_slug: str | None = None, limit: int = 200
) -> list[SentIssue]:
    """Issues with at least one started send (to ``list_slug`` if given), newest first."""
    first = func.min(Send.started_at)
    stmt = (
        select(Send.issue_slug, func.max(Send.subject), first)
        .where(Send.started_at.is_not(None))
        .group_by(Send.issue_slug)
        .order_by(first.desc())
        .limit(limit)
    )
    if list_slug is not None:
        stmt = stmt.join(MailingList, MailingList.id == Send.list_id).where(
            MailingList.slug == list_slug
        )
    return [
        SentIssue(slug, subject, when)
        for slug, subject, when in session.execute(stmt)
        if when is not None
    ]


def sent_issues_for(db: Database, list_slug: str | None, limit: int = 200) -> list[SentIssue]:
    """:func:`sent_issues` in its own transaction."""
    with db.session() as s:
        return sent_issues(s, list_slug, limit)


def published_send_for(db: Database, issue_slug: str, canonical_list: str = "") -> int | None:
    """:func:`snapshots.published_send` in its own transaction."""
    with db.session() as s:
        return snapshots.published_send(s, issue_slug, canonical_list)


def snapshot_pages(db: Database, send_id: int) -> dict[str, tuple[str, str]]:
    """:func:`snapshots.pages_of` in its own transaction."""
    with db.session() as s:
        return snapshots.pages_of(s, send_id)


def sent_summaries(db: Database, issue_slugs: list[str], list_slug: str | None) -> dict[str, str]:
    """Issue slug -> the preheader (or title) of what its latest send to the list published."""
    with db.session() as s:
        found = snapshots.manifests(s, issue_slugs, list_slug)
    return {slug: str(m.get("preheader") or m.get("title") or "") for slug, m in found.items()}


def _credit_statement(list_id: int, subscriber_id: int) -> Any:
    latest = (
        select(Recipient.id)
        .join(Send, Send.id == Recipient.send_id)
        .where(
            Recipient.subscriber_id == subscriber_id,
            Send.list_id == list_id,
            Recipient.status == RecipientStatus.SENT,
        )
        .order_by(Recipient.sent_at.desc(), Recipient.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return (
        update(Recipient)
        .where(Recipient.id == latest, Recipient.unsubscribed_at.is_(None))
        .values(unsubscribed_at=utcnow())
    )


def credit_unsubscribe(session: Session, list_id: int, subscriber_id: int) -> int:
    """Mark the latest message the subscriber got from the list as unsubscribed.

    One statement; returns how many rows changed (0 when the address got no
    message from that list, e.g. it followed a confirmation email's link, or
    when that message already counts an unsubscribe).
    """
    stmt = _credit_statement(list_id, subscriber_id).execution_options(synchronize_session=False)
    return int(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def unsubscribe_link(db: Database, list_slug: str, email_hash: str, reason: str) -> bool:
    """Apply an unsubscribe link (page or RFC 8058 one-click) atomically.

    What the lists service's ``unsubscribe_by_token`` does (same status, when
    and why), plus crediting the send that brought the message so its report
    counts it. Returns True if the subscription changed; unknown addresses
    change nothing. ``NotFoundError`` if the list is gone.

    The one-click endpoint must stay fast under load. On PostgreSQL it is one
    statement (data-modifying CTEs) run outside an explicit transaction: a
    single statement is atomic by itself, and each round trip saved (BEGIN,
    the second UPDATE, COMMIT) is a wait on a busy server. SQLite: two
    statements, one commit.
    """
    now = utcnow()
    if not db.is_sqlite:
        return _unsubscribe_link_pg(db, list_slug, email_hash, reason, now)
    unsubscribe = (
        update(Subscription)
        .where(
            Subscription.list_id
            == select(MailingList.id).where(MailingList.slug == list_slug).scalar_subquery(),
            Subscription.subscriber_id
            == select(Subscriber.id).where(Subscriber.email_hash == email_hash).scalar_subquery(),
            Subscription.status != SubscriptionStatus.UNSUBSCRIBED,
        )
        .values(
            status=SubscriptionStatus.UNSUBSCRIBED,
            status_reason=reason[:200],
            status_changed_at=now,
        )
        .returning(Subscription.list_id, Subscription.subscriber_id)
    )
    list_exists = select(MailingList.id).where(MailingList.slug == list_slug).scalar_subquery()
    # SQLite has one writer: threads taking turns here wait on a lock that wakes
    # them at once, rather than in SQLite's busy handler, which sleeps in steps
    # of up to 100 ms and ruins tail latency under load. A Core connection, not
    # an ORM session: nothing here needs objects, and it halves the overhead.
    with _sqlite_writer, db.engine.begin() as conn:
        changed = conn.execute(unsubscribe).first()
        if changed is not None:
            conn.execute(_credit_statement(changed[0], changed[1]))
            return True
        if conn.scalar(select(list_exists)) is None:
            raise NotFoundError(f"no list {list_slug!r}")
        return False


# The PostgreSQL one-click in one statement. Every sub-statement sees the same
# snapshot; ``credited`` learns what ``changed`` did from its RETURNING rows.
_UNSUBSCRIBE_PG = text(
    """
WITH list AS (SELECT id FROM lists WHERE slug = :slug),
changed AS (
    UPDATE subscriptions
    SET status = :unsubscribed, status_reason = :reason, status_changed_at = :now
    WHERE list_id = (SELECT id FROM list)
      AND subscriber_id = (SELECT id FROM subscribers WHERE email_hash = :hash)
      AND status <> :unsubscribed
    RETURNING list_id, subscriber_id
),
credited AS (
    UPDATE send_recipients
    SET unsubscribed_at = :now
    WHERE id = (
        SELECT r.id FROM send_recipients r
        JOIN sends s ON s.id = r.send_id
        JOIN changed c ON c.subscriber_id = r.subscriber_id AND c.list_id = s.list_id
        WHERE r.status = :sent
        ORDER BY r.sent_at DESC, r.id DESC
        LIMIT 1
    )
      AND unsubscribed_at IS NULL
    RETURNING id
)
SELECT (SELECT count(*) FROM changed), (SELECT id FROM list), (SELECT count(*) FROM credited)
"""
)


def _unsubscribe_link_pg(
    db: Database, list_slug: str, email_hash: str, reason: str, now: datetime
) -> bool:
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        changed, list_id, _credited = conn.execute(
            _UNSUBSCRIBE_PG,
            {
                "slug": list_slug,
                "hash": email_hash,
                "reason": reason[:200],
                "now": now,
                "unsubscribed": SubscriptionStatus.UNSUBSCRIBED,
                "sent": RecipientStatus.SENT,
            },
        ).one()
    if list_id is None:
        raise NotFoundError(f"no list {list_slug!r}")
    return bool(changed)


# --- public list pages and preferences ------------------------------------------------


@dataclass(frozen=True)
class PublicList:
    """What a public page may show about a list."""

    slug: str
    name: str
    description: str
    language: str
    double_opt_in: bool


def public_list(db: Database, slug: str) -> PublicList:
    """The list ``slug`` as shown to visitors; ``NotFoundError`` if there is none."""
    with db.session() as s:
        lst = subscribers.get_list(s, slug)
        return _public(lst)


def public_lists(db: Database) -> list[PublicList]:
    with db.session() as s:
        return [_public(lst) for lst in subscribers.all_lists(s)]


def _public(lst: MailingList) -> PublicList:
    return PublicList(lst.slug, lst.name, lst.description, lst.language, lst.double_opt_in)


@dataclass(frozen=True)
class Choice:
    """One line of the preferences page: a list and whether the reader gets it."""

    list: PublicList
    subscribed: bool


def preferences(db: Database, email_hash: str) -> list[Choice]:
    """Every list, ticked where the address is subscribed (or awaiting confirmation)."""
    with db.session() as s:
        sub = subscribers.find_subscriber_by_hash(s, email_hash)
        on: set[int] = set()
        if sub is not None:
            on = {
                lst.id
                for lst, subscription in subscribers.subscriptions_of(s, sub.id)
                if subscription.status != SubscriptionStatus.UNSUBSCRIBED
            }
        return [Choice(_public(lst), lst.id in on) for lst in subscribers.all_lists(s)]


def save_preferences(db: Database, email_hash: str, wanted: set[str]) -> list[str]:
    """Unsubscribe the address from the lists not in ``wanted``; return the ones to confirm.

    A preferences link never expires and travels with every forwarded
    newsletter, so it is trusted to remove, never to add: the slugs returned
    (ticked, not yet subscribed or awaiting confirmation) need a fresh
    confirmation, which the caller sends. A suppressed address (bounced,
    complained) gets none: unsubscribing still works, lifting the suppression
    is the operator's call. An address nobody knows (forgotten, or never
    subscribed) changes nothing.
    """
    to_confirm: list[str] = []
    with db.session() as s:
        sub = subscribers.find_subscriber_by_hash(s, email_hash)
        if sub is None:
            return to_confirm
        suppressed = subscribers.is_suppressed(s, sub.email)
        current = {
            lst.slug: subscription.status
            for lst, subscription in subscribers.subscriptions_of(s, sub.id)
        }
        for lst in subscribers.all_lists(s):
            status = current.get(lst.slug)
            if lst.slug in wanted:
                if status in (None, SubscriptionStatus.UNSUBSCRIBED) and not suppressed:
                    to_confirm.append(lst.slug)
            elif status not in (None, SubscriptionStatus.UNSUBSCRIBED) and subscribers.unsubscribe(
                s, lst.id, sub, "preferences page"
            ):
                credit_unsubscribe(s, lst.id, sub.id)
    return to_confirm


# --- subscriber history ------------------------------------------------------------------


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
    occurred_at: datetime
    event_type: str
    send_id: int | None
    detail: str


def subscriber_history(db: Database, email: str) -> tuple[list[Delivery], list[EventLine]]:
    """The messages sent to ``email`` and the feedback events about it, newest first."""
    digest = email_hash(email)
    with db.session() as s:
        rows = s.execute(
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
            .where(
                or_(
                    Recipient.email_hash == digest,
                    Recipient.subscriber_id.in_(
                        select(Subscriber.id).where(Subscriber.email_hash == digest)
                    ),
                )
            )
            .order_by(Send.id.desc())
            .limit(200)
        ).all()
        events = s.execute(
            select(Event.occurred_at, Event.event_type, Event.send_id, Event.detail)
            .where(Event.email == email.strip().lower())
            .order_by(Event.occurred_at.desc())
            .limit(200)
        ).all()
    deliveries = [Delivery(*tuple(r)) for r in rows]
    return deliveries, [EventLine(at, kind, sid, detail) for at, kind, sid, detail in events]


def list_overview(db: Database) -> list[subscribers.ListCounts]:
    """Counts per status for every list (the lists page)."""
    with db.session() as s:
        return subscribers.list_counts(s)


# --- a send's activity over time ----------------------------------------------------------

_FORMATS = {
    "minute": "%Y-%m-%d %H:%M:00",
    "hour": "%Y-%m-%d %H:00:00",
    "day": "%Y-%m-%d 00:00:00",
}


def _bucket(session: Session, column: Any, unit: str) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc(unit, column)
    return func.strftime(_FORMATS[unit], column)


def activity_span(db: Database, send_id: int) -> tuple[datetime | None, datetime | None]:
    """The first message sent and the last thing that happened to any of a send's messages."""
    columns = (
        Recipient.sent_at,
        Recipient.delivered_at,
        Recipient.bounced_at,
        Recipient.complained_at,
        Recipient.unsubscribed_at,
    )
    with db.session() as s:
        row = s.execute(
            select(func.min(Recipient.sent_at), *(func.max(c) for c in columns)).where(
                Recipient.send_id == send_id
            )
        ).one()
    first, lasts = row[0], [t for t in row[1:] if t is not None]
    return first, max(lasts) if lasts else None


def send_activity(db: Database, send_id: int, unit: str) -> dict[str, dict[datetime, int]]:
    """Each series of a send's chart per ``unit`` (minute, hour, day), one bucketing for all.

    Every series is read from the outbox rows, so they share one clock and
    one bucket size. A delivery is counted no earlier than its message's send
    (provider clocks run ahead of ours) and only for messages we sent, so the
    cumulative delivered line can never pass the sent line. Buckets start at
    naive UTC times.
    """
    if unit not in _FORMATS:
        raise ValueError(f"unit must be one of {sorted(_FORMATS)}")
    delivered_at = case(
        (Recipient.delivered_at < Recipient.sent_at, Recipient.sent_at),
        else_=Recipient.delivered_at,
    )
    series: dict[str, tuple[Any, Any]] = {
        "sent": (Recipient.sent_at, Recipient.sent_at.is_not(None)),
        "delivered": (
            delivered_at,
            and_(
                Recipient.delivered_at.is_not(None),
                Recipient.sent_at.is_not(None),
                Recipient.bounced_at.is_(None),
            ),
        ),
        "bounced": (Recipient.bounced_at, Recipient.bounced_at.is_not(None)),
        "complained": (Recipient.complained_at, Recipient.complained_at.is_not(None)),
        "unsubscribed": (Recipient.unsubscribed_at, Recipient.unsubscribed_at.is_not(None)),
    }
    out: dict[str, dict[datetime, int]] = {name: {} for name in series}
    with db.session() as s:
        for name, (column, condition) in series.items():
            bucket = _bucket(s, column, unit).label("bucket")
            rows = s.execute(
                select(bucket, func.count())
                .where(Recipient.send_id == send_id, condition)
                .group_by(bucket)
            )
            for when, n in rows:
                at = datetime.fromisoformat(when) if isinstance(when, str) else when
                out[name][at] = int(n)
    return out
