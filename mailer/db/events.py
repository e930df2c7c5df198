"""The events store: feedback rows, matching to outbox rows, bulk feedback updates.

Every function takes a ``Session`` and never commits: the events stage applies
a whole batch (insert, match, effects) in one transaction, so an SQS message is
deleted only once all of its effects are durable. Statements are batched
(``IN`` lookups, executemany updates) so that ingesting stays in the
thousands of events per second on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from mailer.db.models import Event, Recipient, RecipientStatus, Send

CHUNK = 500  # parameters per IN list: well under SQLite's limit, cheap for PostgreSQL


@dataclass(frozen=True)
class RecipientRef:
    """The outbox row an event was matched to."""

    id: int
    send_id: int
    email: str
    subscriber_id: int | None


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def recipients_by_provider_id(
    session: Session, provider_ids: Iterable[str]
) -> dict[str, list[RecipientRef]]:
    """Outbox rows by SES MessageId (one message may name several recipients)."""
    ids = sorted(set(provider_ids))
    out: dict[str, list[RecipientRef]] = {}
    for part in _chunks(ids):
        rows = session.execute(
            select(
                Recipient.provider_message_id,
                Recipient.id,
                Recipient.send_id,
                Recipient.email,
                Recipient.subscriber_id,
            ).where(Recipient.provider_message_id.in_(part))
        )
        for pmid, rid, send_id, email, sub_id in rows:
            out.setdefault(str(pmid), []).append(RecipientRef(rid, send_id, email, sub_id))
    return out


def recipients_by_send_and_email(
    session: Session, pairs: Iterable[tuple[int, str]]
) -> dict[tuple[int, str], RecipientRef]:
    """Outbox rows by (send id, lower-cased address): the fallback when SES's id is unknown."""
    by_send: dict[int, set[str]] = {}
    for send_id, email in pairs:
        by_send.setdefault(send_id, set()).add(email)
    out: dict[tuple[int, str], RecipientRef] = {}
    for send_id, emails in by_send.items():
        for part in _chunks(sorted(emails)):
            rows = session.execute(
                select(Recipient.id, Recipient.send_id, Recipient.email, Recipient.subscriber_id)
                .where(Recipient.send_id == send_id)
                .where(or_(Recipient.email.in_(part), func.lower(Recipient.email).in_(part)))
            )
            for rid, sid, email, sub_id in rows:
                out[(sid, email.strip().lower())] = RecipientRef(rid, sid, email, sub_id)
    return out


def insert_events(session: Session, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert event rows, skipping any whose dedupe key is stored; return the new keys.

    ``ON CONFLICT DO NOTHING`` makes this safe against a concurrent ingester of
    the same event (webhook and poller, two pollers): exactly one inserts it.
    """
    if not rows:
        return set()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table: Any = Event.__table__
    # Core executemany with RETURNING: SQLAlchemy batches it into multi-row
    # INSERTs ("insertmanyvalues") with one cached compilation.
    stmt = (
        insert(table)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(table.c.dedupe_key)
    )
    new: set[str] = set()
    conn = session.connection()
    for part in _chunks(rows, 1000):
        new.update(conn.execute(stmt, list(part)).scalars())
    return new


def existing_keys(session: Session, keys: Iterable[str]) -> set[str]:
    """Of ``keys``, those already stored."""
    found: set[str] = set()
    for part in _chunks(sorted(set(keys))):
        found.update(session.scalars(select(Event.dedupe_key).where(Event.dedupe_key.in_(part))))
    return found


@dataclass
class RecipientUpdates:
    """Feedback to write on outbox rows, gathered per batch (recipient id -> value)."""

    delivered: dict[int, datetime] = field(default_factory=dict)
    bounced: dict[int, tuple[datetime, str]] = field(default_factory=dict)  # (when, hard|soft)
    complained: dict[int, datetime] = field(default_factory=dict)
    unsubscribed: dict[int, datetime] = field(default_factory=dict)
    opens: dict[int, int] = field(default_factory=dict)
    clicks: dict[int, int] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)
    confirmed_sent: dict[int, datetime] = field(default_factory=dict)

    def earliest(self, target: dict[int, datetime], rid: int, when: datetime) -> None:
        if rid not in target or when < target[rid]:
            target[rid] = when


def _earliest(column: Any) -> Any:
    # Keep the earliest time: events arrive in any order and twice.
    return case((or_(column.is_(None), column > bindparam("t")), bindparam("t")), else_=column)


def apply_recipient_updates(session: Session, u: RecipientUpdates) -> None:
    """Write the gathered feedback with one executemany statement per kind."""
    t: Any = Recipient.__table__
    conn = session.connection()
    rid: Any = bindparam("rid")

    def run(stmt: Any, params: list[dict[str, Any]]) -> None:
        if params:
            conn.execute(stmt, params)

    run(
        update(t).where(t.c.id == rid).values(delivered_at=_earliest(t.c.delivered_at)),
        [{"rid": k, "t": v} for k, v in u.delivered.items()],
    )
    run(
        update(t)
        .where(t.c.id == rid)
        .values(
            bounced_at=_earliest(t.c.bounced_at),
            # A hard bounce is final; a soft one never downgrades it.
            bounce_type=case((t.c.bounce_type == "hard", "hard"), else_=bindparam("bt")),
        ),
        [{"rid": k, "t": w, "bt": bt} for k, (w, bt) in u.bounced.items()],
    )
    run(
        update(t).where(t.c.id == rid).values(complained_at=_earliest(t.c.complained_at)),
        [{"rid": k, "t": v} for k, v in u.complained.items()],
    )
    run(
        update(t).where(t.c.id == rid).values(unsubscribed_at=_earliest(t.c.unsubscribed_at)),
        [{"rid": k, "t": v} for k, v in u.unsubscribed.items()],
    )
    run(
        update(t).where(t.c.id == rid).values(opens=t.c.opens + bindparam("n")),
        [{"rid": k, "n": v} for k, v in u.opens.items()],
    )
    run(
        update(t).where(t.c.id == rid).values(clicks=t.c.clicks + bindparam("n")),
        [{"rid": k, "n": v} for k, v in u.clicks.items()],
    )
    run(
        update(t)
        .where(t.c.id == rid)
        .values(status=RecipientStatus.FAILED, error=bindparam("reason")),
        [{"rid": k, "reason": v} for k, v in u.failed.items()],
    )
    # SES saw the message: an outbox row left uncertain by a dead worker was sent.
    run(
        update(t)
        .where(and_(t.c.id == rid, t.c.status == RecipientStatus.UNCERTAIN))
        .values(status=RecipientStatus.SENT, sent_at=func.coalesce(t.c.sent_at, bindparam("t"))),
        [{"rid": k, "t": v} for k, v in u.confirmed_sent.items()],
    )


def soft_bounce_times(
    session: Session, emails: Iterable[str], since: datetime
) -> dict[str, list[datetime]]:
    """When each address bounced softly (transient or undetermined) since ``since``."""
    out: dict[str, list[datetime]] = {}
    for part in _chunks(sorted(set(emails))):
        rows = session.execute(
            select(Event.email, Event.occurred_at).where(
                Event.email.in_(part),
                Event.event_type == "bounce",
                ~Event.bounce_type.like("Permanent%"),
                Event.occurred_at >= since,
            )
        )
        for email, when in rows:
            out.setdefault(str(email), []).append(when)
    return out


def list_ids_of_sends(session: Session, send_ids: Iterable[int]) -> dict[int, int]:
    """Send id -> list id."""
    ids = sorted(set(send_ids))
    out: dict[int, int] = {}
    for part in _chunks(ids):
        rows = session.execute(select(Send.id, Send.list_id).where(Send.id.in_(part)))
        out.update({send_id: list_id for send_id, list_id in rows})
    return out


def recent_events(
    session: Session,
    *,
    orphans_only: bool = False,
    email: str | None = None,
    limit: int = 50,
) -> list[Event]:
    """The newest stored events, optionally only orphans or one address's."""
    stmt = select(Event).order_by(Event.id.desc()).limit(limit)
    if orphans_only:
        stmt = stmt.where(Event.orphan.is_(True))
    if email:
        stmt = stmt.where(Event.email == email.strip().lower())
    return list(session.scalars(stmt))


def count_events(session: Session) -> dict[str, int]:
    """Stored events per kind (and ``orphan`` for the unmatched ones)."""
    rows = session.execute(select(Event.event_type, func.count()).group_by(Event.event_type))
    out = {kind: int(n) for kind, n in rows}
    out["orphan"] = int(session.scalar(select(func.count()).where(Event.orphan.is_(True))) or 0)
    return out
