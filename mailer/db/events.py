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

from sqlalchemy import DateTime, and_, bindparam, delete, func, or_, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from mailer.db import in_chunks
from mailer.db.models import Event, Recipient, Send
from mailer.status import RecipientStatus


@dataclass(frozen=True)
class RecipientRef:
    """The outbox row an event was matched to."""

    id: int
    send_id: int
    email: str
    subscriber_id: int | None


def recipients_by_provider_id(
    session: Session, provider_ids: Iterable[str]
) -> dict[str, list[RecipientRef]]:
    """Outbox rows by SES MessageId (one message may name several recipients)."""
    ids = sorted(set(provider_ids))
    out: dict[str, list[RecipientRef]] = {}
    for part in in_chunks(ids):
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
        for part in in_chunks(sorted(emails)):
            rows = session.execute(
                select(Recipient.id, Recipient.send_id, Recipient.email, Recipient.subscriber_id)
                .where(Recipient.send_id == send_id)
                .where(or_(Recipient.email.in_(part), func.lower(Recipient.email).in_(part)))
            )
            for rid, sid, email, sub_id in rows:
                out[(sid, email.strip().lower())] = RecipientRef(rid, sid, email, sub_id)
    return out


_PG_COLUMNS = {
    "dedupe_key": "varchar(300)",
    "source": "varchar(20)",
    "event_type": "varchar(40)",
    "ses_message_id": "varchar(250)",
    "email": "varchar(320)",
    "send_id": "bigint",
    "recipient_id": "bigint",
    "bounce_type": "varchar(40)",
    "detail": "text",
    "occurred_at": "timestamp",
    "received_at": "timestamp",
    "orphan": "boolean",
    "payload": "text",
    "link": "text",
    "link_tags": "varchar(500)",
    "user_agent": "varchar(500)",
    "ip_address": "varchar(64)",
}


def _pg_insert(conn: Any, rows: Sequence[dict[str, Any]]) -> set[str]:
    """COPY into a temporary table, then one INSERT … SELECT … ON CONFLICT DO NOTHING.

    COPY moves the (large) payloads without per-value escaping or a query with
    thousands of placeholders, which is what makes bulk inserts slow.
    """
    cols = ", ".join(_PG_COLUMNS)
    raw = conn.connection.dbapi_connection
    with raw.cursor() as cur:
        cur.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS events_incoming ("
            + ", ".join(f"{c} {t}" for c, t in _PG_COLUMNS.items())
            + ") ON COMMIT DELETE ROWS"
        )
        with cur.copy(f"COPY events_incoming ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in _PG_COLUMNS])
        cur.execute(
            f"INSERT INTO events ({cols}) SELECT {cols} FROM events_incoming "
            "ON CONFLICT (dedupe_key) DO NOTHING RETURNING dedupe_key"
        )
        new = {r[0] for r in cur.fetchall()}
        cur.execute("DELETE FROM events_incoming")
    return new


def insert_events(session: Session, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert event rows, skipping any whose dedupe key is stored; return the new keys.

    ``ON CONFLICT DO NOTHING`` makes this safe against a concurrent ingester of
    the same event (webhook and poller, two pollers): exactly one inserts it.
    """
    if not rows:
        return set()
    new: set[str] = set()
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        return _pg_insert(conn, rows)
    table: Any = Event.__table__
    # Core executemany with RETURNING: SQLAlchemy batches it into multi-row
    # INSERTs ("insertmanyvalues") with one cached compilation.
    stmt = (
        sqlite.insert(table)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(table.c.dedupe_key)
    )
    for part in in_chunks(rows, 1000):
        new.update(conn.execute(stmt, list(part)).scalars())
    return new


def existing_keys(session: Session, keys: Iterable[str]) -> set[str]:
    """Of ``keys``, those already stored."""
    found: set[str] = set()
    for part in in_chunks(sorted(set(keys))):
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


def _earliest(col: str) -> str:
    # Keep the earliest time: events arrive in any order and twice.
    return (
        f"{col} = CASE WHEN {{r}}{col} IS NULL OR {{r}}{col} > {{p}}t "
        f"THEN {{p}}t ELSE {{r}}{col} END"
    )


# attribute of RecipientUpdates -> (SET clause, extra WHERE, parameters with PostgreSQL types).
# {r} prefixes a column of the outbox row, {p} a parameter.
_UPDATES: list[tuple[str, str, str, dict[str, str]]] = [
    ("delivered", _earliest("delivered_at"), "", {"t": "timestamp"}),
    (
        "bounced",
        # A hard bounce is final; a soft one never downgrades it.
        _earliest("bounced_at") + ", bounce_type = CASE WHEN {r}bounce_type = 'hard' "
        "THEN 'hard' ELSE {p}bt END",
        "",
        {"t": "timestamp", "bt": "varchar"},
    ),
    ("complained", _earliest("complained_at"), "", {"t": "timestamp"}),
    ("unsubscribed", _earliest("unsubscribed_at"), "", {"t": "timestamp"}),
    ("opens", "opens = {r}opens + {p}n", "", {"n": "integer"}),
    ("clicks", "clicks = {r}clicks + {p}n", "", {"n": "integer"}),
    ("failed", f"status = '{RecipientStatus.FAILED}', error = {{p}}reason", "", {"reason": "text"}),
    # SES saw the message: an outbox row left uncertain by a dead worker was sent.
    (
        "confirmed_sent",
        f"status = '{RecipientStatus.SENT}', sent_at = COALESCE({{r}}sent_at, {{p}}t)",
        f" AND {{r}}status = '{RecipientStatus.UNCERTAIN}'",
        {"t": "timestamp"},
    ),
]


def _params(kind: str, data: dict[int, Any]) -> list[dict[str, Any]]:
    names = next(p for k, _, _, p in _UPDATES if k == kind)
    out = []
    for rid, value in data.items():
        values = value if isinstance(value, tuple) else (value,)
        out.append({"rid": rid, **dict(zip(names, values, strict=True))})
    return out


def apply_recipient_updates(session: Session, u: RecipientUpdates) -> None:
    """Write the gathered feedback: one statement per kind of change.

    PostgreSQL gets one ``UPDATE … FROM unnest(arrays)`` per kind; SQLite an
    executemany, which is just as fast there (no network round trips).
    """
    conn = session.connection()
    pg = conn.dialect.name == "postgresql"
    for kind, set_clause, where, types in _UPDATES:
        data: dict[int, Any] = getattr(u, kind)
        if not data:
            continue
        params = _params(kind, data)
        if pg:
            arrays = ", ".join(
                f"CAST(:{name} AS {t}[])" for name, t in {"rid": "bigint", **types}.items()
            )
            sql = (
                f"UPDATE send_recipients AS r SET {set_clause.format(r='r.', p='u.')} "
                f"FROM unnest({arrays}) AS u(rid, {', '.join(types)}) "
                f"WHERE r.id = u.rid{where.format(r='r.', p='u.')}"
            )
            columns = {name: [p[name] for p in params] for name in ["rid", *types]}
            conn.execute(text(sql), columns)
        else:
            sql = (
                f"UPDATE send_recipients SET {set_clause.format(r='', p=':')} "
                f"WHERE id = :rid{where.format(r='', p=':')}"
            )
            stmt = text(sql).bindparams(
                *(bindparam(n, type_=DateTime()) for n, t in types.items() if t == "timestamp")
            )
            conn.execute(stmt, params)


def soft_bounce_times(
    session: Session, emails: Iterable[str], since: datetime
) -> dict[str, list[datetime]]:
    """When each address bounced softly (transient or undetermined) since ``since``."""
    out: dict[str, list[datetime]] = {}
    for part in in_chunks(sorted(set(emails))):
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
    for part in in_chunks(ids):
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


def sent_recipients(session: Session, send_id: int) -> list[tuple[str, str | None]]:
    """(address, SES MessageId) of a send's sent recipients, in id order."""
    rows = session.execute(
        select(Recipient.email, Recipient.provider_message_id)
        .where(
            Recipient.send_id == send_id,
            Recipient.status == RecipientStatus.SENT,
            Recipient.email != "",  # erased on request
        )
        .order_by(Recipient.id)
    )
    return [(str(email), pmid) for email, pmid in rows]


def orphan_events(session: Session, limit: int) -> list[tuple[int, str, str, str]]:
    """(id, dedupe key, payload, source) of the oldest SES orphans (unknown ones excluded)."""
    rows = session.execute(
        select(Event.id, Event.dedupe_key, Event.payload, Event.source)
        # An erased payload (its person was forgotten) can never be matched.
        .where(Event.orphan.is_(True), Event.event_type != "unknown", Event.payload != "")
        .order_by(Event.id)
        .limit(limit)
    )
    return [(int(i), str(k), str(p), str(s)) for i, k, p, s in rows]


def attach_events(session: Session, links: Sequence[tuple[int, int, int]]) -> None:
    """Mark events (id, recipient id, send id) as matched."""
    table: Any = Event.__table__
    if links:
        session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("eid"))
            .values(recipient_id=bindparam("rid"), send_id=bindparam("sid"), orphan=False),
            [{"eid": e, "rid": r, "sid": s} for e, r, s in links],
        )


# --- erasure ------------------------------------------------------------------------


@dataclass(frozen=True)
class Feedback:
    """An event about a person, with what erasure rewrites."""

    id: int
    matched: bool  # on an outbox row (counted in a report), or an orphan
    detail: str
    ip_address: str | None


def feedback_about(session: Session, address: str, row_ids: Sequence[int]) -> list[Feedback]:
    """The events about ``address`` (trimmed, lower-cased), or on one of the
    outbox rows ``row_ids``, that still hold an address or a payload."""
    # Ids as values, not a subquery: PostgreSQL then reads both indexes of
    # events instead of the whole table.
    found: dict[int, Feedback] = {}
    for part in list(in_chunks(list(row_ids))) or [[]]:
        on_rows = and_(
            Event.recipient_id.in_(part), or_(Event.email.is_not(None), Event.payload != "")
        )
        rows = session.execute(
            select(Event.id, Event.recipient_id, Event.detail, Event.ip_address).where(
                or_(Event.email == address, on_rows)
            )
        )
        for i, rid, detail, ip in rows:
            found[int(i)] = Feedback(int(i), rid is not None, str(detail or ""), ip)
    return list(found.values())


def erase_feedback(
    session: Session, rewritten: Sequence[tuple[int, str, str | None]], dropped: Sequence[int]
) -> None:
    """Rewrite events (id, detail, ip address) without the person's address or
    raw payload, and delete the ``dropped`` ones."""
    table: Any = Event.__table__
    if rewritten:
        session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("eid"))
            .values(email=None, payload="", detail=bindparam("d"), ip_address=bindparam("ip")),
            [{"eid": e, "d": d, "ip": ip} for e, d, ip in rewritten],
        )
    for part in in_chunks(list(dropped)):
        session.execute(delete(table).where(table.c.id.in_(part)))
