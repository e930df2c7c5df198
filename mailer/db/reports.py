"""The reports store: aggregate queries over outbox rows and events.

Each report is one ``GROUP BY`` (or one conditional-count) query over the
send's outbox rows, using the ``(send_id, status)`` index, so a report on a
million-recipient send reads the rows once and returns a handful of numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, and_, case, cast, func, literal, select
from sqlalchemy.orm import Session

from mailer.db import outbox
from mailer.db.models import Event, MailingList, Recipient, Send
from mailer.status import RecipientStatus

R = Recipient

# Every count a report shows, as a SQL condition on an outbox row. A bounced
# row is never also "delivered": SES can report a delivery and later a bounce.
CONDITIONS: dict[str, Any] = {
    "sent": R.status == RecipientStatus.SENT,
    "delivered": and_(R.delivered_at.is_not(None), R.bounced_at.is_(None)),
    "bounced": R.bounced_at.is_not(None),
    "hard_bounced": R.bounce_type == "hard",
    "soft_bounced": R.bounce_type == "soft",
    "complained": R.complained_at.is_not(None),
    "unsubscribed": R.unsubscribed_at.is_not(None),
    "opened": R.opens > 0,
    "clicked": R.clicks > 0,
    "failed": R.status == RecipientStatus.FAILED,
    "skipped": R.status == RecipientStatus.SKIPPED,
    "uncertain": R.status == RecipientStatus.UNCERTAIN,
    "pending": R.status.in_([RecipientStatus.QUEUED, RecipientStatus.SENDING]),
}


FEEDBACK_KINDS: dict[str, list[str]] = {
    "bounced": ["bounce"],
    "hard_bounced": ["bounce"],
    "soft_bounced": ["bounce"],
    "complained": ["complaint"],
    "unsubscribed": ["subscription"],
    "clicked": ["click"],
}


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(cast(condition, Integer)), 0)


def _columns() -> list[Any]:
    cols = [func.count().label("recipients")]
    cols += [_count(cond).label(name) for name, cond in CONDITIONS.items()]
    cols += [
        func.coalesce(func.sum(R.opens), 0).label("opens"),
        func.coalesce(func.sum(R.clicks), 0).label("clicks"),
    ]
    return cols


def send_counts(session: Session, send_id: int) -> dict[str, int]:
    """Every count of one send, in one query."""
    row = session.execute(select(*_columns()).where(R.send_id == send_id)).one()
    return {key: int(value or 0) for key, value in row._mapping.items()}


def counts_by_send(session: Session, send_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """The same counts for several sends, in one ``GROUP BY`` query."""
    if not send_ids:
        return {}
    rows = session.execute(
        select(R.send_id, *_columns()).where(R.send_id.in_(list(send_ids))).group_by(R.send_id)
    )
    out: dict[int, dict[str, int]] = {}
    for row in rows:
        data = dict(row._mapping)
        out[int(data.pop("send_id"))] = {k: int(v or 0) for k, v in data.items()}
    return out


def send_with_list(session: Session, send_id: int) -> tuple[Send, MailingList] | None:
    """The send and its list; None when there is no such send."""
    row = session.execute(
        select(Send, MailingList)
        .join(MailingList, MailingList.id == Send.list_id)
        .where(Send.id == send_id)
    ).first()
    return (row[0], row[1]) if row else None


def recent_sends(session: Session, list_id: int, limit: int) -> list[Send]:
    """The list's latest sends, newest first."""
    return list(
        session.scalars(
            select(Send)
            .where(Send.list_id == list_id)
            .order_by(Send.created_at.desc(), Send.id.desc())
            .limit(limit)
        )
    )


def recipients_matching(
    session: Session,
    send_id: int,
    status: str | None,
    limit: int | None = None,
    *,
    after_id: int | None = None,
) -> list[dict[str, Any]]:
    """The outbox rows behind one count (``status`` is a key of ``CONDITIONS``, None for all).

    Rows behind a feedback count carry ``feedback``: the latest such event's
    detail (the bounce's SMTP diagnostic, the complaint's type). With
    ``after_id`` the rows come in id order after that one (keyset paging, each
    row's ``id`` is the next page's ``after_id``); without, by address.
    """
    kinds = FEEDBACK_KINDS.get(status) if status else None
    feedback: Any = (
        select(Event.detail)
        .where(Event.recipient_id == R.id, Event.event_type.in_(kinds))
        .order_by(Event.occurred_at.desc())
        .limit(1)
        .scalar_subquery()
        if kinds
        else literal(None)
    )
    stmt = select(
        R.id,
        outbox.shown_address(),
        feedback.label("feedback"),
        R.status,
        R.error,
        R.bounce_type,
        R.sent_at,
        R.delivered_at,
        R.bounced_at,
        R.complained_at,
        R.unsubscribed_at,
        R.opens,
        R.clicks,
    ).where(R.send_id == send_id)
    if status:
        stmt = stmt.where(CONDITIONS[status])
    if after_id is None:
        stmt = stmt.order_by(R.email)
    else:
        stmt = stmt.where(R.id > after_id).order_by(R.id)
    if limit:
        stmt = stmt.limit(limit)
    return [dict(row._mapping) for row in session.execute(stmt)]


_FORMATS = {
    "minute": "%Y-%m-%d %H:%M:00",
    "hour": "%Y-%m-%d %H:00:00",
    "day": "%Y-%m-%d 00:00:00",
}


def _bucket(session: Session, column: Any, unit: str) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc(unit, column)
    return func.strftime(_FORMATS[unit], column)


def event_timeline(
    session: Session, send_id: int, kinds: Sequence[str], unit: str = "hour"
) -> list[tuple[datetime, str, int]]:
    """(bucket start, event kind, count) for one send, oldest first."""
    bucket = _bucket(session, Event.occurred_at, unit).label("bucket")
    rows = session.execute(
        select(bucket, Event.event_type, func.count())
        .where(Event.send_id == send_id, Event.event_type.in_(list(kinds)))
        .group_by(bucket, Event.event_type)
        .order_by(bucket)
    )
    out = []
    for when, kind, n in rows:
        if isinstance(when, str):
            when = datetime.fromisoformat(when)
        out.append((when, str(kind), int(n)))
    return out


def activity_span(session: Session, send_id: int) -> tuple[datetime | None, datetime | None]:
    """The first message sent and the last thing that happened to any of a send's messages."""
    columns = (
        Recipient.sent_at,
        Recipient.delivered_at,
        Recipient.bounced_at,
        Recipient.complained_at,
        Recipient.unsubscribed_at,
    )
    row = session.execute(
        select(func.min(Recipient.sent_at), *(func.max(c) for c in columns)).where(
            Recipient.send_id == send_id
        )
    ).one()
    first, lasts = row[0], [t for t in row[1:] if t is not None]
    return first, max(lasts) if lasts else None


def send_activity(session: Session, send_id: int, unit: str) -> dict[str, dict[datetime, int]]:
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
    for name, (column, condition) in series.items():
        bucket = _bucket(session, column, unit).label("bucket")
        rows = session.execute(
            select(bucket, func.count())
            .where(Recipient.send_id == send_id, condition)
            .group_by(bucket)
        )
        for when, n in rows:
            at = datetime.fromisoformat(when) if isinstance(when, str) else when
            out[name][at] = int(n)
    return out
