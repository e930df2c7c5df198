"""The delivery store: every query about sends and their recipient (outbox) rows.

Functions take a ``Session`` first and never commit; the engine records a
batch and claims the next in one short transaction. Every statement is
set-based: freezing a send's recipients is one ``INSERT … SELECT``, claiming a
batch one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)`` (the lock
clause is dropped on SQLite, where one worker runs at a time; on PostgreSQL the
claim is a CTE that also returns the people, one round trip), and outcomes are
written in one statement per kind (array parameters on PostgreSQL, an
executemany on SQLite).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    DateTime,
    String,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    text,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from mailer.clock import utcnow
from mailer.db import leases
from mailer.db.models import MailingList, Recipient, Send, Subscriber, Subscription, Suppression
from mailer.errors import ConflictError, Hint, NotFoundError
from mailer.status import RecipientStatus, SendStatus, SubscriptionStatus

R = cast(Table, Recipient.__table__)
S = cast(Table, Subscriber.__table__)
SUB = cast(Table, Subscription.__table__)
SUP = cast(Table, Suppression.__table__)
SENDS = cast(Table, Send.__table__)
RS = RecipientStatus


# --- sends ------------------------------------------------------------------------


def create_send(
    session: Session,
    *,
    issue_slug: str,
    list_id: int,
    subject: str,
    html: str,
    text: str,
    scheduled_at: datetime | None,
    links: list[dict[str, Any]] | None = None,
) -> Send:
    """A new send with its frozen content, ``scheduled`` (recipients are frozen at start)."""
    send = Send(
        links=links,
        issue_slug=issue_slug,
        list_id=list_id,
        subject=subject,
        html=html,
        text=text,
        status=SendStatus.SCHEDULED,
        status_reason="",
        scheduled_at=scheduled_at,
        created_at=utcnow(),
        total=0,
    )
    session.add(send)
    session.flush()
    return send


def earlier_sends(session: Session, issue_slug: str, list_id: int) -> list[Send]:
    """Sends of this issue to this list that started or may still start."""
    return list(
        session.scalars(
            select(Send)
            .where(
                Send.issue_slug == issue_slug,
                Send.list_id == list_id,
                or_(Send.status != SendStatus.CANCELLED, Send.started_at.is_not(None)),
            )
            .order_by(Send.id)
        )
    )


def get_send(session: Session, send_id: int, *, lock: bool = False) -> Send:
    """The send with this id; ``NotFoundError`` if none."""
    query = select(Send).where(Send.id == send_id)
    if lock:
        query = query.with_for_update()
    send = session.scalar(query)
    if send is None:
        raise NotFoundError(f"no send #{send_id}", hint=Hint.LIST_SENDS)
    return send


def list_of(session: Session, send: Send) -> MailingList:
    found = session.get(MailingList, send.list_id)
    if found is None:
        raise NotFoundError(f"send #{send.id}: its list (id {send.list_id}) no longer exists")
    return found


def all_sends(session: Session, limit: int = 50) -> list[tuple[Send, str]]:
    """The latest sends, newest first, with their list's slug."""
    rows = session.execute(
        select(Send, MailingList.slug)
        .join(MailingList, MailingList.id == Send.list_id)
        .order_by(Send.id.desc())
        .limit(limit)
    ).all()
    return [(send, slug) for send, slug in rows]


def set_status(
    session: Session,
    send_id: int,
    status: str,
    *,
    reason: str = "",
    only_from: Sequence[str] = SendStatus.ALL,
    **values: Any,
) -> bool:
    """Move a send to ``status`` if it is in one of ``only_from``; True if it moved."""
    result = session.execute(
        update(SENDS)
        .where(SENDS.c.id == send_id, SENDS.c.status.in_(list(only_from)))
        .values(status=status, status_reason=reason, **values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def due_sends(session: Session, now: datetime) -> list[int]:
    """Scheduled sends whose time has come (or that were started without a time)."""
    return list(
        session.scalars(
            select(Send.id)
            .where(
                Send.status == SendStatus.SCHEDULED,
                or_(Send.scheduled_at.is_(None), Send.scheduled_at <= now),
            )
            .order_by(Send.id)
        )
    )


def running_sends(session: Session) -> list[int]:
    return list(
        session.scalars(select(Send.id).where(Send.status == SendStatus.RUNNING).order_by(Send.id))
    )


def start_send(session: Session, send_id: int, now: datetime) -> int | None:
    """Mark a scheduled send running and freeze its recipients in one statement.

    Returns the number of recipients, or None when another worker (or a pause
    or cancel) got there first. Active subscriptions of the list, minus
    suppressed addresses, become ``queued`` rows.
    """
    moved = session.execute(
        update(SENDS)
        .where(
            SENDS.c.id == send_id,
            SENDS.c.status == SendStatus.SCHEDULED,
            SENDS.c.started_at.is_(None),
        )
        .values(status=SendStatus.RUNNING, started_at=now, status_reason="")
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        return None
    list_id = session.scalar(select(SENDS.c.list_id).where(SENDS.c.id == send_id))
    chosen = (
        select(
            literal(send_id),
            S.c.id,
            S.c.email,
            S.c.email_hash,
            literal(RS.QUEUED),
            literal(0),
            literal(""),
            literal(0),
            literal(0),
        )
        .select_from(SUB.join(S, S.c.id == SUB.c.subscriber_id))
        .where(
            SUB.c.list_id == list_id,
            SUB.c.status == SubscriptionStatus.ACTIVE,
            not_(exists().where(SUP.c.email_hash == S.c.email_hash)),
        )
    )
    session.execute(
        R.insert().from_select(
            [
                "send_id",
                "subscriber_id",
                "email",
                "email_hash",
                "status",
                "attempts",
                "error",
                "opens",
                "clicks",
            ],
            chosen,
        )
    )
    # rowcount of INSERT … SELECT is not reliable on every driver: count instead.
    total = int(
        session.scalar(select(func.count()).select_from(R).where(R.c.send_id == send_id)) or 0
    )
    session.execute(update(SENDS).where(SENDS.c.id == send_id).values(total=total))
    if session.get_bind().dialect.name == "postgresql":
        # A list imported minutes ago has no planner statistics yet, and
        # PostgreSQL would scan whole tables for every batch's lookups.
        session.execute(text("ANALYZE send_recipients, subscribers, subscriptions, suppressions"))
    return total


# --- counts ----------------------------------------------------------------------


def counts(session: Session, send_id: int) -> dict[str, int]:
    """Recipients of a send by status (every status present, zeros included)."""
    out = dict.fromkeys(RS.ALL, 0)
    rows = session.execute(
        select(R.c.status, func.count()).where(R.c.send_id == send_id).group_by(R.c.status)
    )
    for status, n in rows:
        out[status] = int(n)
    return out


def counts_for(session: Session, send_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    out = {sid: dict.fromkeys(RS.ALL, 0) for sid in send_ids}
    if not send_ids:
        return out
    rows = session.execute(
        select(R.c.send_id, R.c.status, func.count())
        .where(R.c.send_id.in_(list(send_ids)))
        .group_by(R.c.send_id, R.c.status)
    )
    for sid, status, n in rows:
        out[sid][status] = int(n)
    return out


def recipients_with_status(
    session: Session, send_id: int, status: str, limit: int = 100
) -> list[tuple[str, str, int]]:
    """(email, error, attempts) of recipients in ``status``, at most ``limit``."""
    rows = session.execute(
        select(R.c.email, R.c.error, R.c.attempts)
        .where(R.c.send_id == send_id, R.c.status == status)
        .order_by(R.c.id)
        .limit(limit)
    )
    return [(e, err, int(a)) for e, err, a in rows]


def next_retry_at(session: Session, send_id: int) -> datetime | None:
    """When the earliest waiting retry of this send falls due."""
    return session.scalar(
        select(func.min(R.c.next_attempt_at)).where(R.c.send_id == send_id, R.c.status == RS.QUEUED)
    )


def finish_if_done(session: Session, send_id: int, now: datetime) -> bool:
    """Mark a running send done when no recipient is queued or in flight."""
    pending = session.scalar(
        select(func.count())
        .select_from(R)
        .where(R.c.send_id == send_id, R.c.status.in_([RS.QUEUED, RS.SENDING]))
    )
    if pending:
        return False
    return set_status(
        session, send_id, SendStatus.DONE, only_from=[SendStatus.RUNNING], finished_at=now
    )


# --- claims and outcomes ------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """A recipient row handed to a worker, with what personalisation needs."""

    id: int
    email: str
    email_hash: str
    attempts: int
    name: str
    attributes: dict[str, Any]
    skip_reason: str  # non-empty: unsubscribed or suppressed since the freeze


def claim(
    session: Session,
    send_id: int,
    list_id: int,
    worker: str,
    limit: int,
    now: datetime,
    lease_until: datetime,
    after_id: int = 0,
    *,
    also: Sequence[Any] = (),
) -> list[Claimed]:
    """Claim up to ``limit`` due queued recipients: they become ``sending`` under a lease.

    ``after_id`` lets a worker walk forward from its last batch: on PostgreSQL
    the index range behind it is full of dead entries until VACUUM runs, and
    seeking past them keeps every claim as cheap as the first. ``also``:
    data-modifying CTEs the claim's statement carries (PostgreSQL only, see
    ``record_and_claim``).
    """
    ids_query = (
        select(R.c.id)
        .where(
            # Only while the send runs: a pause or cancel stops claims at once.
            exists().where(SENDS.c.id == send_id, SENDS.c.status == SendStatus.RUNNING),
            R.c.send_id == send_id,
            R.c.status == RS.QUEUED,
            R.c.id > after_id,
            or_(R.c.next_attempt_at.is_(None), R.c.next_attempt_at <= now),
        )
        .order_by(R.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claiming = (
        update(R)
        .where(R.c.id.in_(ids_query.scalar_subquery()))
        .values(status=RS.SENDING, claimed_by=worker, lease_until=lease_until)
        .returning(R.c.id, R.c.email, R.c.email_hash, R.c.attempts, R.c.subscriber_id)
    )
    if _is_postgresql(session):
        # One statement, one round trip: the claim as a data-modifying CTE, the
        # people looked up by primary key from its RETURNING rows.
        claimed_rows = claiming.cte("claimed")
        rows = session.execute(
            _people(
                select(claimed_rows, S.c.id.label("person")).select_from(
                    claimed_rows.outerjoin(S, S.c.id == claimed_rows.c.subscriber_id)
                ),
                list_id,
            ).add_cte(*also)
        ).all()
        people = {
            row.subscriber_id: (row.name, row.attributes, row.status, row.reason)
            for row in rows
            if row.person is not None
        }
        # Keyed by id: the joins are on unique keys, but a row twice would be a
        # message twice.
        claimed = list(
            {
                row.id: (row.id, row.email, row.email_hash, row.attempts, row.subscriber_id)
                for row in rows
            }.values()
        )
    else:
        assert not also, "data-modifying CTEs are for PostgreSQL"
        claimed = [tuple(row) for row in session.execute(claiming)]
        if not claimed:
            return []
        # One lookup by primary key, driven by the claimed ids: the planner cannot
        # pick a scan of the list, even on a fresh import with no statistics.
        sub_ids = sorted({row[4] for row in claimed if row[4] is not None})
        people = {
            sid: (name, attrs, status, reason)
            for sid, name, attrs, status, reason in session.execute(
                _people(select(S.c.id).select_from(S), list_id).where(S.c.id.in_(sub_ids))
            )
        }
    out = []
    for rid, email, ehash, attempts, sub_id in sorted(claimed, key=lambda row: row[0]):
        name, attrs, sub_status, sup_reason = people.get(sub_id, ("", {}, None, None))
        if sup_reason:
            skip = f"suppressed ({sup_reason})"
        elif sub_id is None or sub_id not in people:
            skip = "subscriber deleted"
        elif sub_status != SubscriptionStatus.ACTIVE:
            skip = f"no longer subscribed ({sub_status or 'removed'})"
        else:
            skip = ""
        out.append(Claimed(rid, email, ehash, int(attempts), name or "", attrs or {}, skip))
    return out


def record_and_claim(
    session: Session,
    outcomes: Outcomes,
    worker: str,
    send_id: int,
    list_id: int,
    limit: int,
    now: datetime,
    lease_until: datetime,
    after_id: int = 0,
) -> list[Claimed]:
    """Record a batch's outcomes (``record``) and claim the next batch (``claim``).

    On PostgreSQL this is one statement: the outcome UPDATEs ride along as
    data-modifying CTEs of the claim. Run in autocommit mode it is the whole
    transaction, one round trip instead of four (BEGIN, record, claim,
    COMMIT), and as atomic as the transaction was. Its parts see one snapshot
    and touch disjoint rows (recorded rows are ``sending``, claimed ones
    ``queued``); a row released here is claimed again by a later claim, not
    this one. SQLite runs the two in turn.
    """
    if not _is_postgresql(session):
        record(session, outcomes, now, worker)
        return claim(session, send_id, list_id, worker, limit, now, lease_until, after_id)
    recorded = [
        statement.cte(f"recorded_{i}")
        for i, (statement, _rows) in enumerate(_outcome_updates(True, outcomes, now, worker))
    ]
    return claim(
        session, send_id, list_id, worker, limit, now, lease_until, after_id, also=recorded
    )


def _people(query: Any, list_id: int) -> Any:
    """Add a subscriber's name, attributes, subscription status and suppression
    to ``query``, which selects from ``subscribers`` (or joins it)."""
    return (
        query.add_columns(S.c.name, S.c.attributes, SUB.c.status, SUP.c.reason)
        .outerjoin(SUB, and_(SUB.c.subscriber_id == S.c.id, SUB.c.list_id == list_id))
        .outerjoin(SUP, SUP.c.email_hash == S.c.email_hash)
    )


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


@dataclass
class Outcomes:
    """What befell one claimed batch, written back in a few statements."""

    sent: list[dict[str, Any]] = field(default_factory=list)  # rid, mid, pmid
    failed: list[dict[str, Any]] = field(default_factory=list)  # rid, err
    retry: list[dict[str, Any]] = field(default_factory=list)  # rid, err, at
    uncertain: list[dict[str, Any]] = field(default_factory=list)  # rid, err
    skipped: list[dict[str, Any]] = field(default_factory=list)  # rid, err
    released: list[int] = field(default_factory=list)  # never handed to the transport
    # Sent without a provider id, Message-ID "<send.recipient.nonce@domain>":
    # recorded with one set-based UPDATE that rebuilds each Message-ID.
    sent_plain: list[int] = field(default_factory=list)
    message_id_parts: tuple[int, str, str] = (0, "", "")  # send id, nonce, domain

    def __len__(self) -> int:
        return (
            len(self.sent)
            + len(self.failed)
            + len(self.retry)
            + len(self.uncertain)
            + len(self.skipped)
            + len(self.released)
            + len(self.sent_plain)
        )


_FREE = {"claimed_by": None, "lease_until": None}


def record(session: Session, outcomes: Outcomes, now: datetime, worker: str) -> None:
    """Write a batch's outcomes: one set-based statement per kind present.

    Only rows still ``sending`` under ``worker``'s claim are written: when a
    lease ran out, its rows became ``uncertain`` and may since have been
    queued again and claimed by another worker, whose outcome must stand.

    On PostgreSQL every statement takes arrays (``id = ANY(:ids)``, ``FROM
    unnest(…)``), so its text is the same whatever the batch: psycopg prepares
    it once, and the server plans it once. SQLite, in-process, runs an
    executemany per kind.
    """
    for statement, rows in _outcome_updates(_is_postgresql(session), outcomes, now, worker):
        session.execute(statement, rows)


def _outcome_updates(
    pg: bool, outcomes: Outcomes, now: datetime, worker: str
) -> list[tuple[Any, list[dict[str, Any]] | None]]:
    """The statements that write ``outcomes``, each with its executemany rows (SQLite)."""
    mine = and_(R.c.claimed_by == worker, R.c.status == RS.SENDING)
    out: list[tuple[Any, list[dict[str, Any]] | None]] = []
    if outcomes.sent_plain:
        send_id, nonce, domain = outcomes.message_id_parts
        message_id = literal(f"<{send_id}.") + cast_text(R.c.id) + literal(f".{nonce}@{domain}>")
        out.append(
            (
                update(R)
                .where(_among(pg, outcomes.sent_plain), mine)
                .values(
                    status=RS.SENT,
                    sent_at=now,
                    message_id=message_id,
                    provider_message_id=None,
                    attempts=R.c.attempts + 1,
                    error="",
                    **_FREE,
                ),
                None,
            )
        )
    if outcomes.sent:
        out.append(
            _update_each(
                pg,
                outcomes.sent,
                mine,
                {"mid": String, "pmid": String},
                lambda v: {
                    "status": RS.SENT,
                    "sent_at": now,
                    "message_id": v["mid"],
                    "provider_message_id": v["pmid"],
                    "attempts": R.c.attempts + 1,
                    "error": "",
                    **_FREE,
                },
            )
        )
    for rows, status, bump in (
        (outcomes.failed, RS.FAILED, 1),
        (outcomes.uncertain, RS.UNCERTAIN, 1),
        (outcomes.skipped, RS.SKIPPED, 0),
    ):
        if rows:
            out.append(
                _update_each(
                    pg,
                    rows,
                    mine,
                    {"err": Text},
                    lambda v, status=status, bump=bump: {  # type: ignore[misc]
                        "status": status,
                        "error": v["err"],
                        "attempts": R.c.attempts + bump,
                        **_FREE,
                    },
                )
            )
    if outcomes.retry:
        out.append(
            _update_each(
                pg,
                outcomes.retry,
                mine,
                {"err": Text, "at": DateTime},
                lambda v: {
                    "status": RS.QUEUED,
                    "error": v["err"],
                    "next_attempt_at": v["at"],
                    "attempts": R.c.attempts + 1,
                    **_FREE,
                },
            )
        )
    if outcomes.released:
        out.append(
            (
                update(R)
                .where(_among(pg, outcomes.released), mine)
                .values(status=RS.QUEUED, **_FREE),
                None,
            )
        )
    return out


def _among(pg: bool, ids: list[int]) -> Any:
    """``id IN (…)``; on PostgreSQL ``id = ANY(:ids)``, one parameter whatever the count."""
    if pg:
        # Unnamed: several of these may share one statement (``record_and_claim``).
        return R.c.id == any_(bindparam(None, ids, type_=ARRAY(BigInteger)))
    return R.c.id.in_(ids)


def _update_each(
    pg: bool,
    rows: list[dict[str, Any]],
    where: Any,
    columns: dict[str, Any],
    values: Callable[[Any], dict[str, Any]],
) -> tuple[Any, list[dict[str, Any]] | None]:
    """Update each row ``rid`` with its own values (``columns`` of ``rows``).

    PostgreSQL: one ``UPDATE … FROM unnest(:rid, :col, …)``, a parameter per
    column. SQLite: an executemany, one bound row each.
    """
    if not pg:
        by_name: dict[str, Any] = {name: bindparam(name) for name in columns}
        return (
            update(R).where(R.c.id == bindparam("rid"), where).values(**values(by_name)),
            rows,
        )
    names = ["rid", *columns]
    arrays = [bindparam(None, [r["rid"] for r in rows], type_=ARRAY(BigInteger))] + [
        bindparam(None, [r[name] for r in rows], type_=ARRAY(kind))
        for name, kind in columns.items()
    ]
    given = func.unnest(*arrays).table_valued(*names).render_derived(name="given")
    return (
        update(R)
        .where(R.c.id == given.c.rid, where)
        .values(**values({name: given.c[name] for name in columns})),
        None,
    )


def cast_text(expr: Any) -> Any:
    return sql_cast(expr, String)


def renew_lease(session: Session, worker: str, until: datetime) -> int:
    """Extend the lease on everything ``worker`` holds (a long batch is still alive)."""
    return leases.renew(session, R, worker, until)


_LOST = leases.LOST


def expire_leases(session: Session, now: datetime) -> int:
    """Rows in flight whose worker's lease ran out become ``uncertain``."""
    result = session.execute(
        update(R)
        .where(R.c.status == RS.SENDING, R.c.lease_until < now)
        .values(status=RS.UNCERTAIN, error=_LOST, **_FREE)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def orphan_in_flight(session: Session) -> int:
    """Every row in flight becomes ``uncertain``: for a worker known to be the only one."""
    result = session.execute(
        update(R).where(R.c.status == RS.SENDING).values(status=RS.UNCERTAIN, error=_LOST, **_FREE)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def requeue(session: Session, send_id: int, status: str) -> int:
    """Put a send's ``uncertain`` or ``failed`` recipients back in the queue."""
    if status not in (RS.UNCERTAIN, RS.FAILED):
        raise ConflictError(f"only uncertain or failed recipients can be retried, not {status}")
    result = session.execute(
        update(R)
        .where(R.c.send_id == send_id, R.c.status == status)
        # Failed ones get a fresh set of attempts; uncertain ones keep their
        # count, which tells that they may have gone out once already.
        .values(
            status=RS.QUEUED,
            next_attempt_at=None,
            error="",
            attempts=0 if status == RS.FAILED else R.c.attempts,
            **_FREE,
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
