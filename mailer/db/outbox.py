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
from functools import lru_cache
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
    case,
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
from mailer.db import in_chunks, leases
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
        select(shown_address(), R.c.error, R.c.attempts)
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


# --- erasure ------------------------------------------------------------------------


# What reports show for an address erased on request (the outbox row keeps
# its outcome, not the address).
ERASED = "(erased)"


def shown_address() -> Any:
    """The outbox row's address, or ``ERASED`` in its place."""
    return case((R.c.email == "", literal(ERASED)), else_=R.c.email).label("email")


def of_person(subscriber_id: int | None, digest: str) -> Any:
    """Outbox rows of a person: the subscriber's, and those of any earlier
    subscriber with the same address, unlinked when it was deleted."""
    # Each side has its index (the second a partial one), so neither reads the
    # whole outbox; the subscriber's id must be a value, not a subquery, for
    # PostgreSQL to combine the two.
    unlinked = and_(R.c.subscriber_id.is_(None), R.c.email_hash == digest)
    return unlinked if subscriber_id is None else or_(R.c.subscriber_id == subscriber_id, unlinked)


def rows_of_person(session: Session, subscriber_id: int | None, digest: str) -> list[int]:
    """The ids of a person's outbox rows (``of_person``): one per send they were in."""
    return list(session.scalars(select(R.c.id).where(of_person(subscriber_id, digest))))


def erase_addresses(session: Session, row_ids: Sequence[int]) -> int:
    """Blank the address on these outbox rows; their outcomes and counts stay."""
    blanked = 0
    for part in in_chunks(row_ids):
        result = session.execute(
            update(R).where(R.c.id.in_(part), R.c.email != "").values(email="")
        )
        blanked += int(result.rowcount)  # type: ignore[attr-defined]
    return blanked


# --- claims and outcomes ------------------------------------------------------------
#
# The statements below are built once, with named parameters, and reused for
# every batch: a send is hundreds of batches, and building and compiling a
# statement cost as much Python time as the server spent running it.


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
        return sum(len(getattr(self, kind)) for kind in _KINDS)

    def kinds(self) -> tuple[str, ...]:
        """The kinds of outcome present, in a fixed order."""
        return tuple(kind for kind in _KINDS if getattr(self, kind))


def claim(
    session: Session,
    send_id: int,
    list_id: int,
    worker: str,
    limit: int,
    now: datetime,
    lease_until: datetime,
    after_id: int = 0,
) -> list[Claimed]:
    """Claim up to ``limit`` due queued recipients: they become ``sending`` under a lease.

    ``after_id`` lets a worker walk forward from its last batch: on PostgreSQL
    the index range behind it is full of dead entries until VACUUM runs, and
    seeking past them keeps every claim as cheap as the first.
    """
    return record_and_claim(
        session, Outcomes(), worker, send_id, list_id, limit, now, lease_until, after_id
    )


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
    data-modifying CTEs of the claim, which also returns the people (looked up
    by primary key from its RETURNING rows). Run in autocommit mode it is the
    whole transaction, one round trip instead of four (BEGIN, record, claim,
    COMMIT), and as atomic as the transaction was. Its parts see one snapshot
    and touch disjoint rows (recorded rows are ``sending``, claimed ones
    ``queued``); a row released here is claimed again by a later claim, not
    this one. SQLite runs the parts in turn.
    """
    values = {
        "c_send": send_id,
        "c_list": list_id,
        "c_worker": worker,
        "c_now": now,
        "c_lease": lease_until,
        "c_after": after_id,
    }
    if _is_postgresql(session):
        kinds = outcomes.kinds()
        sql, defaults = _pg_claim(session.get_bind().dialect, kinds, limit)
        params = dict(defaults, **values)
        for kind in kinds:
            params.update(_outcome_params(kind, outcomes, True, now, worker))
        # The driver's own cursor: rows as plain tuples, and no statement to
        # build, compile or look up in a cache for each batch.
        cursor = session.connection().connection.cursor()
        try:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        finally:
            cursor.close()
        # Keyed by id: the joins are on unique keys, but a row twice would be
        # a message twice.
        claimed = list({row[0]: row[:5] for row in rows}.values())
        people = {row[4]: row[6:] for row in rows if row[5] is not None}
    else:
        record(session, outcomes, now, worker)
        claimed = [tuple(row) for row in session.execute(_claiming(limit), values)]
        if not claimed:
            return []
        # One lookup by primary key, driven by the claimed ids: the planner
        # cannot pick a scan of the list, even on a fresh import with no
        # statistics.
        sub_ids = sorted({row[4] for row in claimed if row[4] is not None})
        people = {
            row[0]: tuple(row[1:])
            for row in session.execute(_people_by_id(), {**values, "sub_ids": sub_ids})
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


@lru_cache(maxsize=8)
def _claiming(limit: int) -> Any:
    """The claim, an ``UPDATE … RETURNING`` of up to ``limit`` rows; its
    parameters are ``c_send``, ``c_worker``, ``c_now``, ``c_lease`` and ``c_after``."""
    send_id = bindparam("c_send", type_=BigInteger)
    ids_query = (
        select(R.c.id)
        .where(
            # Only while the send runs: a pause or cancel stops claims at once.
            exists().where(SENDS.c.id == send_id, SENDS.c.status == SendStatus.RUNNING),
            R.c.send_id == send_id,
            R.c.status == RS.QUEUED,
            R.c.id > bindparam("c_after", type_=BigInteger),
            or_(
                R.c.next_attempt_at.is_(None),
                R.c.next_attempt_at <= bindparam("c_now", type_=DateTime),
            ),
        )
        .order_by(R.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (
        update(R)
        .where(R.c.id.in_(ids_query.scalar_subquery()))
        .values(
            status=RS.SENDING,
            claimed_by=bindparam("c_worker", type_=String),
            lease_until=bindparam("c_lease", type_=DateTime),
        )
        .returning(R.c.id, R.c.email, R.c.email_hash, R.c.attempts, R.c.subscriber_id)
    )


@lru_cache(maxsize=64)
def _pg_claim(dialect: Any, kinds: tuple[str, ...], limit: int) -> tuple[str, dict[str, Any]]:
    """The PostgreSQL record-and-claim statement for these outcome ``kinds``,
    compiled: its SQL and its constant parameters."""
    claimed = _claiming(limit).cte("claimed")
    statement = _people(
        select(claimed, S.c.id.label("person")).select_from(
            claimed.outerjoin(S, S.c.id == claimed.c.subscriber_id)
        ),
        bindparam("c_list", type_=BigInteger),
    ).add_cte(*(_outcome_statement(kind, True).cte(f"recorded_{kind}") for kind in kinds))
    compiled = statement.compile(dialect=dialect)
    return compiled.string, dict(compiled.params)


@lru_cache(maxsize=1)
def _people_by_id() -> Any:
    """The people of the subscribers ``sub_ids`` (an expanding parameter) on list ``c_list``."""
    return _people(select(S.c.id).select_from(S), bindparam("c_list", type_=BigInteger)).where(
        S.c.id.in_(bindparam("sub_ids", expanding=True))
    )


def _people(query: Any, list_id: Any) -> Any:
    """Add a subscriber's name, attributes, subscription status and suppression
    to ``query``, which selects from ``subscribers`` (or joins it)."""
    return (
        query.add_columns(S.c.name, S.c.attributes, SUB.c.status, SUP.c.reason)
        .outerjoin(SUB, and_(SUB.c.subscriber_id == S.c.id, SUB.c.list_id == list_id))
        .outerjoin(SUP, SUP.c.email_hash == S.c.email_hash)
    )


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


_FREE = {"claimed_by": None, "lease_until": None}
_NOW = bindparam("o_now", type_=DateTime)

# What each kind of outcome writes. Row kinds carry values per row (the
# columns named here, besides ``rid``); id kinds are a list of row ids.
_ROW_KINDS: dict[str, tuple[dict[str, Any], Callable[[Any], dict[str, Any]]]] = {
    "sent": (
        {"mid": String, "pmid": String},
        lambda v: {
            "status": RS.SENT,
            "sent_at": _NOW,
            "message_id": v["mid"],
            "provider_message_id": v["pmid"],
            "attempts": R.c.attempts + 1,
            "error": "",
            **_FREE,
        },
    ),
    "failed": (
        {"err": Text},
        lambda v: {"status": RS.FAILED, "error": v["err"], "attempts": R.c.attempts + 1, **_FREE},
    ),
    "uncertain": (
        {"err": Text},
        lambda v: {
            "status": RS.UNCERTAIN,
            "error": v["err"],
            "attempts": R.c.attempts + 1,
            **_FREE,
        },
    ),
    # Never handed to a transport: no attempt spent.
    "skipped": ({"err": Text}, lambda v: {"status": RS.SKIPPED, "error": v["err"], **_FREE}),
    "retry": (
        {"err": Text, "at": DateTime},
        lambda v: {
            "status": RS.QUEUED,
            "error": v["err"],
            "next_attempt_at": v["at"],
            "attempts": R.c.attempts + 1,
            **_FREE,
        },
    ),
}
_ID_KINDS: dict[str, Callable[[], dict[str, Any]]] = {
    "sent_plain": lambda: {
        "status": RS.SENT,
        "sent_at": _NOW,
        "message_id": bindparam("mid_head", type_=String)
        + cast_text(R.c.id)
        + bindparam("mid_tail", type_=String),
        "provider_message_id": None,
        "attempts": R.c.attempts + 1,
        "error": "",
        **_FREE,
    },
    "released": lambda: {"status": RS.QUEUED, **_FREE},
}
_KINDS = ("sent_plain", "sent", "failed", "uncertain", "skipped", "retry", "released")


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
    pg = _is_postgresql(session)
    for kind in outcomes.kinds():
        session.execute(
            _outcome_statement(kind, pg), _outcome_params(kind, outcomes, pg, now, worker)
        )


@lru_cache(maxsize=32)
def _outcome_statement(kind: str, pg: bool) -> Any:
    """The UPDATE that writes one kind of outcome (parameters: ``_outcome_params``)."""
    mine = and_(R.c.claimed_by == bindparam("o_worker", type_=String), R.c.status == RS.SENDING)
    if kind in _ID_KINDS:
        if pg:
            among = R.c.id == any_(bindparam(f"{kind}_ids", type_=ARRAY(BigInteger)))
        else:
            among = R.c.id.in_(bindparam(f"{kind}_ids", expanding=True))
        return update(R).where(among, mine).values(**_ID_KINDS[kind]())
    columns, values = _ROW_KINDS[kind]
    if not pg:
        # An executemany: one bound row each.
        by_name = {name: bindparam(name, type_=kind_) for name, kind_ in columns.items()}
        return update(R).where(R.c.id == bindparam("rid"), mine).values(**values(by_name))
    # One ``UPDATE … FROM unnest(:rid, :col, …)``, an array parameter per column.
    arrays = [bindparam(f"{kind}_rid", type_=ARRAY(BigInteger))] + [
        bindparam(f"{kind}_{name}", type_=ARRAY(kind_)) for name, kind_ in columns.items()
    ]
    given = func.unnest(*arrays).table_valued("rid", *columns).render_derived(name="given")
    return (
        update(R)
        .where(R.c.id == given.c.rid, mine)
        .values(**values({name: given.c[name] for name in columns}))
    )


def _outcome_params(kind: str, outcomes: Outcomes, pg: bool, now: datetime, worker: str) -> Any:
    """The parameters of ``_outcome_statement(kind, pg)`` for ``outcomes``."""
    common = {"o_now": now, "o_worker": worker}
    if kind in _ID_KINDS:
        params: dict[str, Any] = {**common, f"{kind}_ids": list(getattr(outcomes, kind))}
        if kind == "sent_plain":
            send_id, nonce, domain = outcomes.message_id_parts
            params.update(mid_head=f"<{send_id}.", mid_tail=f".{nonce}@{domain}>")
        return params
    rows: list[dict[str, Any]] = getattr(outcomes, kind)
    if not pg:
        return [{**common, **row} for row in rows]
    columns = ["rid", *_ROW_KINDS[kind][0]]
    return {**common, **{f"{kind}_{name}": [row[name] for row in rows] for name in columns}}


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
        .where(leases.in_flight(R), R.c.lease_until < now)
        .values(status=RS.UNCERTAIN, error=_LOST, **_FREE)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def orphan_in_flight(session: Session) -> int:
    """Every row in flight becomes ``uncertain``: for a worker known to be the only one."""
    result = session.execute(
        update(R).where(leases.in_flight(R)).values(status=RS.UNCERTAIN, error=_LOST, **_FREE)
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
