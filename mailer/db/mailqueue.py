"""The mail queue store: mail a subscriber's action triggers, and sign-up requests.

Functions take a ``Session`` first and never commit. The worker claims one row
at a time (``UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED)``), so a
worker that dies leaves at most one message in doubt, and records its outcome
in the next transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, func, or_, select, update
from sqlalchemy.orm import Session

from mailer.clock import utcnow
from mailer.db import leases
from mailer.db.models import QueuedMail
from mailer.status import MailStatus

Q = cast(Table, QueuedMail.__table__)
MS = MailStatus

# Kinds that are requests for the worker to handle, never mailed themselves.
REQUEST_KINDS = ("subscribe",)


@dataclass(frozen=True)
class Claimed:
    """A queue row handed to one worker."""

    id: int
    kind: str
    to_email: str
    to_name: str
    from_name: str
    from_email: str
    reply_to: str
    subject: str
    html: str
    text: str
    headers: dict[str, str]
    data: dict[str, Any]
    subscriber_id: int | None
    list_id: int | None
    attempts: int

    @property
    def is_request(self) -> bool:
        return self.kind in REQUEST_KINDS


def add(session: Session, **values: Any) -> int:
    """Insert one queued row; return its id."""
    row = QueuedMail(
        status=MS.QUEUED,
        attempts=0,
        error="",
        created_at=utcnow(),
        **{
            "to_name": "",
            "from_name": "",
            "from_email": "",
            "reply_to": "",
            "subject": "",
            "html": "",
            "text": "",
            "headers": {},
            "data": {},
            **values,
        },
    )
    session.add(row)
    session.flush()
    return row.id


def erase_address(session: Session, address: str) -> int:
    """Delete every row to ``address`` (trimmed, lower-cased), whatever its state:
    a forgotten person gets no confirmation or welcome, and no copy stays."""
    result = session.execute(delete(QueuedMail).where(func.lower(QueuedMail.to_email) == address))
    return int(result.rowcount)  # type: ignore[attr-defined]


def claim_one(
    session: Session, worker: str, now: datetime, lease_until: datetime
) -> Claimed | None:
    """Claim the oldest due queued row: it becomes ``sending`` under a lease."""
    next_id = (
        select(Q.c.id)
        .where(
            Q.c.status == MS.QUEUED,
            or_(Q.c.next_attempt_at.is_(None), Q.c.next_attempt_at <= now),
        )
        .order_by(Q.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    row = session.execute(
        update(Q)
        .where(Q.c.id == next_id.scalar_subquery(), Q.c.status == MS.QUEUED)
        .values(status=MS.SENDING, claimed_by=worker, lease_until=lease_until)
        .returning(
            Q.c.id,
            Q.c.kind,
            Q.c.to_email,
            Q.c.to_name,
            Q.c.from_name,
            Q.c.from_email,
            Q.c.reply_to,
            Q.c.subject,
            Q.c.html,
            Q.c.text,
            Q.c.headers,
            Q.c.data,
            Q.c.subscriber_id,
            Q.c.list_id,
            Q.c.attempts,
        )
    ).first()
    if row is None:
        return None
    values = row._asdict()
    values["headers"] = dict(values["headers"] or {})
    values["data"] = dict(values["data"] or {})
    values["attempts"] = int(values["attempts"])
    return Claimed(**values)


_FREE = {"claimed_by": None, "lease_until": None}


def _mine(row_id: int) -> Any:
    # Only a row still in flight is recorded: a row whose lease expired was
    # already marked uncertain, and that verdict stands.
    return (Q.c.id == row_id) & (Q.c.status == MS.SENDING)


def mark_sent(
    session: Session, row_id: int, message_id: str, provider_id: str | None, now: datetime
) -> None:
    session.execute(
        update(Q)
        .where(_mine(row_id))
        .values(
            status=MS.SENT,
            sent_at=now,
            message_id=message_id,
            provider_message_id=provider_id,
            attempts=Q.c.attempts + 1,
            error="",
            **_FREE,
        )
    )


def mark_retry(session: Session, row_id: int, error: str, at: datetime) -> None:
    session.execute(
        update(Q)
        .where(_mine(row_id))
        .values(
            status=MS.QUEUED, error=error, next_attempt_at=at, attempts=Q.c.attempts + 1, **_FREE
        )
    )


def mark_final(session: Session, row_id: int, status: str, error: str) -> None:
    """Record ``failed`` or ``uncertain`` (with the reason)."""
    session.execute(
        update(Q)
        .where(_mine(row_id))
        .values(status=status, error=error, attempts=Q.c.attempts + 1, **_FREE)
    )


def mark_done(session: Session, row_id: int) -> None:
    """A handled request: it keeps no address (anyone can type anyone's into a form)."""
    session.execute(
        update(Q)
        .where(_mine(row_id))
        .values(status=MS.DONE, to_email="", to_name="", data={}, error="", **_FREE)
    )


def release(session: Session, row_id: int) -> None:
    """Put a claimed row back untouched (it never reached a transport)."""
    session.execute(update(Q).where(_mine(row_id)).values(status=MS.QUEUED, **_FREE))


def renew_lease(session: Session, worker: str, until: datetime) -> int:
    """Extend the lease on every row ``worker`` holds in flight."""
    return leases.renew(session, Q, worker, until)


def _abandon(session: Session, *where: Any) -> int:
    # A request never reached a transport, so handling it again is safe; a
    # message may have left, so it is never re-sent silently.
    session.execute(
        update(Q)
        .where(Q.c.status == MS.SENDING, Q.c.kind.in_(REQUEST_KINDS), *where)
        .values(status=MS.QUEUED, **_FREE)
    )
    result = session.execute(
        update(Q)
        .where(Q.c.status == MS.SENDING, Q.c.kind.not_in(REQUEST_KINDS), *where)
        .values(status=MS.UNCERTAIN, error=leases.LOST, **_FREE)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def expire_leases(session: Session, now: datetime) -> int:
    """Rows whose worker's lease ran out: requests are queued again, messages ``uncertain``.

    Returns the number of messages marked uncertain.
    """
    return _abandon(session, Q.c.lease_until < now)


def orphan_in_flight(session: Session) -> int:
    """Like ``expire_leases`` for every row in flight: for a worker known to be alone."""
    return _abandon(session)


def counts(session: Session) -> dict[str, int]:
    """Queue rows by status (every status present, zeros included)."""
    out = dict.fromkeys(MS.ALL, 0)
    for status, n in session.execute(select(Q.c.status, func.count()).group_by(Q.c.status)):
        out[status] = int(n)
    return out


def get(session: Session, row_id: int) -> QueuedMail | None:
    return session.get(QueuedMail, row_id)


def latest(
    session: Session, limit: int = 50, statuses: list[str] | None = None
) -> list[QueuedMail]:
    """The newest rows (in ``statuses``, if given), newest first."""
    query = select(QueuedMail).order_by(Q.c.id.desc()).limit(limit)
    if statuses:
        query = query.where(Q.c.status.in_(statuses))
    return list(session.scalars(query))


def requeue(session: Session, status: str) -> int:
    """Put ``uncertain`` or ``failed`` messages back in the queue (an operator's choice)."""
    result = session.execute(
        update(Q)
        .where(Q.c.status == status, Q.c.kind.not_in(REQUEST_KINDS))
        .values(
            status=MS.QUEUED,
            next_attempt_at=None,
            error="",
            attempts=0 if status == MS.FAILED else Q.c.attempts,
            **_FREE,
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
