"""The subscriber store: every query about lists, subscribers, subscriptions and suppressions.

Also the unsubscribe a reader makes by link (page or RFC 8058 one-click), which
credits the send that brought the message so the send's report counts it.

Functions take a SQLAlchemy ``Session`` first and never commit, so callers
(the lists service, the events stage, the web app, delivery) compose several of
them in one transaction. One code path serves SQLite and PostgreSQL; the only
dialect switch is the ``INSERT … ON CONFLICT`` construct, which both support.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Text, and_, case, cast, exists, func, not_, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from mailer.clock import utcnow
from mailer.db.models import MailingList, Recipient, Send, Subscriber, Subscription, Suppression
from mailer.errors import ConflictError, Hint, NotFoundError
from mailer.lists.addresses import email_hash as hash_of
from mailer.status import RecipientStatus, SubscriptionStatus, SuppressionReason

Status = SubscriptionStatus


def insert_for(session: Session, table: Any) -> Any:
    """An ``INSERT`` that supports ``on_conflict_do_*`` on the session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


# --- lists ----------------------------------------------------------------------


def get_list(session: Session, slug_or_id: str | int) -> MailingList:
    """Return the list with this slug (or id); raise ``NotFoundError`` if none."""
    if isinstance(slug_or_id, int):
        found = session.get(MailingList, slug_or_id)
    else:
        found = session.scalar(select(MailingList).where(MailingList.slug == slug_or_id))
    if found is None:
        raise NotFoundError(f"no list {slug_or_id!r}", hint=Hint.SYNC_LISTS)
    return found


def all_lists(session: Session) -> list[MailingList]:
    return list(session.scalars(select(MailingList).order_by(MailingList.slug)))


def upsert_list(session: Session, slug: str, fields: dict[str, Any]) -> str:
    """Create or update the list ``slug``; return "created", "updated" or "unchanged"."""
    now = utcnow()
    row = session.scalar(select(MailingList).where(MailingList.slug == slug))
    if row is None:
        session.add(MailingList(slug=slug, created_at=now, updated_at=now, **fields))
        session.flush()
        return "created"
    changed = False
    for key, value in fields.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    if changed:
        row.updated_at = now
        session.flush()
        return "updated"
    return "unchanged"


@dataclass(frozen=True)
class ListCounts:
    """How many subscriptions of a list are in each status."""

    slug: str
    name: str
    unconfirmed: int
    active: int
    unsubscribed: int
    suppressed: int  # subscriptions whose address is suppressed, any status
    mailable: int  # active and not suppressed: who the next send mails


def list_counts(session: Session, slug: str | None = None) -> list[ListCounts]:
    """Counts per status for every list (or only list ``slug``), in slug order."""
    suppressed = _suppressed_clause()
    stmt = (
        select(
            MailingList.id,
            Subscription.status,
            func.count(),
            func.sum(case((suppressed, 1), else_=0)),
        )
        .join(Subscription, Subscription.list_id == MailingList.id)
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .group_by(MailingList.id, Subscription.status)
    )
    lists = all_lists(session) if slug is None else [get_list(session, slug)]
    if slug is not None:
        stmt = stmt.where(MailingList.id == lists[0].id)
    rows = session.execute(stmt).all()
    per: dict[int, dict[str, tuple[int, int]]] = {}
    for list_id, status, count, n_suppressed in rows:
        per.setdefault(list_id, {})[status] = (int(count), int(n_suppressed or 0))
    out = []
    for lst in lists:
        c = per.get(lst.id, {})
        out.append(
            ListCounts(
                slug=lst.slug,
                name=lst.name,
                unconfirmed=c.get(Status.UNCONFIRMED, (0, 0))[0],
                active=c.get(Status.ACTIVE, (0, 0))[0],
                unsubscribed=c.get(Status.UNSUBSCRIBED, (0, 0))[0],
                suppressed=sum(v[1] for v in c.values()),
                mailable=c.get(Status.ACTIVE, (0, 0))[0] - c.get(Status.ACTIVE, (0, 0))[1],
            )
        )
    return out


# --- subscribers ------------------------------------------------------------------


def find_subscriber_by_hash(session: Session, email_hash: str) -> Subscriber | None:
    """The subscriber whose normalised address hashes to ``email_hash``, if any."""
    return session.scalar(select(Subscriber).where(Subscriber.email_hash == email_hash))


def find_subscriber(session: Session, email: str) -> Subscriber | None:
    """The subscriber with this address (case-insensitive), if any."""
    return find_subscriber_by_hash(session, hash_of(email))


def search_subscribers(session: Session, query: str, limit: int = 50) -> list[Subscriber]:
    """Subscribers whose address or name contains ``query`` (case-insensitive)."""
    like = f"%{_escape_like(query.strip().lower())}%"
    return list(
        session.scalars(
            select(Subscriber)
            .where(
                or_(
                    func.lower(Subscriber.email).like(like, escape="\\"),
                    func.lower(Subscriber.name).like(like, escape="\\"),
                )
            )
            .order_by(Subscriber.email)
            .limit(limit)
        )
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def upsert_subscriber(
    session: Session,
    email: str,
    *,
    name: str = "",
    attributes: dict[str, Any] | None = None,
    source: str = "",
) -> Subscriber:
    """Return the subscriber for ``email`` (already normalised), creating it if needed.

    An existing subscriber keeps its data, except that a non-empty ``name`` and
    the given ``attributes`` are merged in. Safe against a concurrent insert of
    the same address.
    """
    now = utcnow()
    digest = hash_of(email)
    stmt = (
        insert_for(session, Subscriber)
        .values(
            email=email,
            email_hash=digest,
            name=name,
            attributes=attributes or {},
            source=source,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["email_hash"])
    )
    session.execute(stmt)
    sub = find_subscriber_by_hash(session, digest)
    assert sub is not None  # inserted above or by a concurrent transaction
    changed = False
    if name and sub.name != name:
        sub.name = name
        changed = True
    if attributes:
        merged = {**(sub.attributes or {}), **attributes}
        if merged != sub.attributes:
            sub.attributes = merged
            changed = True
    if changed:
        sub.updated_at = now
        session.flush()
    return sub


def subscriptions_of(
    session: Session, subscriber_id: int
) -> list[tuple[MailingList, Subscription]]:
    """Every list the subscriber is on, with the subscription, in slug order."""
    rows = session.execute(
        select(MailingList, Subscription)
        .join(Subscription, Subscription.list_id == MailingList.id)
        .where(Subscription.subscriber_id == subscriber_id)
        .order_by(MailingList.slug)
    ).all()
    return [(lst, sub) for lst, sub in rows]


def get_subscription(session: Session, list_id: int, subscriber_id: int) -> Subscription | None:
    return session.get(Subscription, (list_id, subscriber_id))


def set_subscription(
    session: Session,
    list_id: int,
    subscriber_id: int,
    status: str,
    reason: str,
    *,
    confirm_sent_at: datetime | None = None,
) -> Subscription:
    """Create the subscription, or move it to ``status`` (recording when and why)."""
    now = utcnow()
    stmt = (
        insert_for(session, Subscription)
        .values(
            list_id=list_id,
            subscriber_id=subscriber_id,
            status=status,
            status_reason=reason[:200],
            status_changed_at=now,
            created_at=now,
            confirm_sent_at=confirm_sent_at,
        )
        .on_conflict_do_nothing(index_elements=["list_id", "subscriber_id"])
    )
    session.execute(stmt)
    row = session.get(Subscription, (list_id, subscriber_id), populate_existing=True)
    assert row is not None
    if row.status != status:
        row.status = status
        row.status_reason = reason[:200]
        row.status_changed_at = now
    if confirm_sent_at is not None:
        row.confirm_sent_at = confirm_sent_at
    session.flush()
    return row


def claim_confirmation(
    session: Session, list_id: int, subscriber_id: int, now: datetime, window: timedelta
) -> bool:
    """Record that a confirmation email goes out now; False if one went out within ``window``.

    Creates an unconfirmed subscription when there is none; an existing one
    keeps its status (an unsubscribed person stays unsubscribed until they
    click). A single conditional statement, so two concurrent sign-ups for one
    address send one email.
    """
    inserted = session.execute(
        insert_for(session, Subscription)
        .values(
            list_id=list_id,
            subscriber_id=subscriber_id,
            status=Status.UNCONFIRMED,
            status_reason="awaiting confirmation",
            status_changed_at=now,
            created_at=now,
            confirm_sent_at=now,
        )
        .on_conflict_do_nothing(index_elements=["list_id", "subscriber_id"])
        .returning(Subscription.subscriber_id)
    ).scalar()
    if inserted is not None:
        return True
    result = session.execute(
        update(Subscription)
        .where(
            Subscription.list_id == list_id,
            Subscription.subscriber_id == subscriber_id,
            Subscription.status != Status.ACTIVE,
            or_(
                Subscription.confirm_sent_at.is_(None),
                Subscription.confirm_sent_at <= now - window,
            ),
        )
        .values(confirm_sent_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release_confirmation(
    session: Session, list_id: int, subscriber_id: int, sent_at: datetime
) -> None:
    """Forget a confirmation claimed at ``sent_at`` that could not be sent."""
    session.execute(
        update(Subscription)
        .where(
            Subscription.list_id == list_id,
            Subscription.subscriber_id == subscriber_id,
            Subscription.confirm_sent_at == sent_at,
        )
        .values(confirm_sent_at=None)
        .execution_options(synchronize_session=False)
    )


def unsubscribe(
    session: Session, list_id_or_slug: int | str, subscriber: Subscriber | str, reason: str
) -> bool:
    """Unsubscribe a subscriber (or an email hash) from one list; True if it changed.

    Unknown subscribers and lists they are not on are not errors: the outcome
    the caller wants (not mailed from this list) already holds.
    """
    lst = get_list(session, list_id_or_slug)
    sub_id = _subscriber_id(session, subscriber)
    if sub_id is None:
        return False
    result = session.execute(
        update(Subscription)
        .where(
            Subscription.list_id == lst.id,
            Subscription.subscriber_id == sub_id,
            Subscription.status != Status.UNSUBSCRIBED,
        )
        .values(status=Status.UNSUBSCRIBED, status_reason=reason[:200], status_changed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def unsubscribe_all(session: Session, email_hash: str, reason: str) -> int:
    """Unsubscribe an address (by hash) from every list; return how many changed."""
    sub = find_subscriber_by_hash(session, email_hash)
    if sub is None:
        return 0
    result = session.execute(
        update(Subscription)
        .where(Subscription.subscriber_id == sub.id, Subscription.status != Status.UNSUBSCRIBED)
        .values(status=Status.UNSUBSCRIBED, status_reason=reason[:200], status_changed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _subscriber_id(session: Session, subscriber: Subscriber | str) -> int | None:
    if isinstance(subscriber, Subscriber):
        return subscriber.id
    return session.scalar(select(Subscriber.id).where(Subscriber.email_hash == subscriber))


def forget(session: Session, email: str) -> bool:
    """Erase a person: delete the subscriber and subscriptions, keep only the hash.

    The suppression keeps ``email_hash`` with ``email`` cleared, so the address
    can never be mailed again, even if it is imported later. Returns whether
    there was anything personal to erase.
    """
    digest = hash_of(email)
    sub = find_subscriber_by_hash(session, digest)
    existed = sub is not None
    if sub is not None:
        session.delete(sub)  # subscriptions go with it (ON DELETE CASCADE)
    supp = session.get(Suppression, digest)
    if supp is None:
        suppress_hash(session, digest, SuppressionReason.FORGOTTEN, "erased on request")
    else:
        existed = existed or supp.email is not None
        supp.email = None
        supp.reason = SuppressionReason.FORGOTTEN
        supp.detail = "erased on request"
    session.flush()
    return existed


# --- suppressions -------------------------------------------------------------------


def suppress(session: Session, email: str, reason: str, detail: str = "") -> bool:
    """Add an address to the global suppression list; True if it was not there yet.

    An address already suppressed keeps its first reason: that is the one the
    operator needs to see (a complaint after a hard bounce changes nothing).
    """
    return suppress_hash(session, hash_of(email), reason, detail, email=email.strip())


def suppress_hash(
    session: Session, email_hash: str, reason: str, detail: str = "", *, email: str | None = None
) -> bool:
    """Suppress by hash (``email`` may be unknown, e.g. when forgetting)."""
    if reason not in SuppressionReason.ALL:
        raise ValueError(f"unknown suppression reason {reason!r}")
    stmt = (
        insert_for(session, Suppression)
        .values(
            email_hash=email_hash, email=email, reason=reason, detail=detail, created_at=utcnow()
        )
        .on_conflict_do_nothing(index_elements=["email_hash"])
        .returning(Suppression.email_hash)
    )
    return session.execute(stmt).scalar() is not None


def unsuppress(session: Session, email: str) -> bool:
    """Remove an address from the suppression list; True if it was there.

    A forgotten address stays suppressed: the person asked never to be mailed.
    """
    row = session.get(Suppression, hash_of(email))
    if row is None:
        return False
    if row.reason == SuppressionReason.FORGOTTEN:
        raise ConflictError(
            f"{email} was forgotten on request and stays suppressed; it cannot be unsuppressed"
        )
    session.delete(row)
    session.flush()
    return True


def is_suppressed(session: Session, email: str) -> bool:
    """Whether the address is on the global suppression list."""
    return get_suppression(session, email) is not None


def get_suppression(session: Session, email: str) -> Suppression | None:
    return session.get(Suppression, hash_of(email))


def suppressed_hashes(session: Session, hashes: Sequence[str]) -> dict[str, str]:
    """Of ``hashes``, those suppressed, mapped to their reason."""
    if not hashes:
        return {}
    rows = session.execute(
        select(Suppression.email_hash, Suppression.reason).where(Suppression.email_hash.in_(hashes))
    )
    return {h: r for h, r in rows}


def _suppressed_clause() -> Any:
    return exists().where(Suppression.email_hash == Subscriber.email_hash)


def suppressed_clause() -> Any:
    """SQL: the ``Subscriber`` row's address is suppressed (for queries joining it)."""
    return _suppressed_clause()


# --- recipients ---------------------------------------------------------------------


class RecipientRow:
    """One address a send to a list would mail.

    ``attributes`` is decoded from JSON on first use: a send whose template
    uses no attribute never pays for decoding a million of them.
    """

    __slots__ = ("_attributes", "attributes_json", "email", "name", "subscriber_id")

    def __init__(self, subscriber_id: int, email: str, name: str, attributes_json: str) -> None:
        self.subscriber_id = subscriber_id
        self.email = email
        self.name = name
        self.attributes_json = attributes_json
        self._attributes: dict[str, Any] | None = None

    @property
    def attributes(self) -> dict[str, Any]:
        if self._attributes is None:
            raw = self.attributes_json
            self._attributes = json.loads(raw) if raw and raw not in ("{}", "null") else {}
        return self._attributes

    def __repr__(self) -> str:
        return f"RecipientRow({self.subscriber_id}, {self.email!r})"


def recipients_page(
    session: Session,
    list_id: int,
    *,
    after_id: int = 0,
    limit: int = 1000,
    status: str | None = Status.ACTIVE,
) -> list[RecipientRow]:
    """One page of a list's subscribers by ascending subscriber id (keyset pagination).

    With the default ``status`` (active), this is exactly who a send mails:
    suppressed addresses are excluded. With ``status=None`` every subscription,
    suppressed ones included, is returned (exports of all statuses).
    """
    # The id bound on both sides of the join is redundant but lets PostgreSQL
    # start its merge join at the page instead of at the first subscriber.
    conds = [
        Subscription.list_id == list_id,
        Subscription.subscriber_id > after_id,
        Subscriber.id > after_id,
    ]
    if status is not None:
        conds.append(Subscription.status == status)
    if status == Status.ACTIVE:
        conds.append(not_(_suppressed_clause()))
    stmt = (
        select(Subscriber.id, Subscriber.email, Subscriber.name, cast(Subscriber.attributes, Text))
        .join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .where(and_(*conds))
        .order_by(Subscription.subscriber_id)
        .limit(limit)
    )
    # A Core execution on the session's connection: no ORM row processing.
    return [RecipientRow(*row) for row in session.connection().execute(stmt).all()]


def iter_recipients(
    session: Session, list_id: int, *, batch_size: int = 1000, status: str | None = Status.ACTIVE
) -> Iterator[list[RecipientRow]]:
    """Every page of :func:`recipients_page`, in order; memory stays at one page."""
    after = 0
    while True:
        page = recipients_page(session, list_id, after_id=after, limit=batch_size, status=status)
        if not page:
            return
        yield page
        after = page[-1].subscriber_id


@dataclass(frozen=True)
class ExportRow:
    """A subscription as exported: the person and their status on the list."""

    email: str
    name: str
    status: str
    status_reason: str
    status_changed_at: datetime
    created_at: datetime
    source: str
    suppressed: str  # suppression reason, or ""
    attributes: dict[str, Any]


def export_page(
    session: Session, list_id: int, status: str | None, after_id: int, limit: int
) -> tuple[list[ExportRow], int]:
    """One page of a list's subscriptions for export, and the last subscriber id seen."""
    # The id bound on both sides of the join is redundant but lets PostgreSQL
    # start its merge join at the page instead of at the first subscriber.
    conds = [
        Subscription.list_id == list_id,
        Subscription.subscriber_id > after_id,
        Subscriber.id > after_id,
    ]
    if status is not None:
        conds.append(Subscription.status == status)
    if status == Status.ACTIVE:
        conds.append(Suppression.email_hash.is_(None))
    stmt = (
        select(
            Subscriber.id,
            Subscriber.email,
            Subscriber.name,
            Subscription.status,
            Subscription.status_reason,
            Subscription.status_changed_at,
            Subscriber.created_at,
            Subscriber.source,
            Suppression.reason,
            Subscriber.attributes,
        )
        .join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .outerjoin(Suppression, Suppression.email_hash == Subscriber.email_hash)
        .where(and_(*conds))
        .order_by(Subscription.subscriber_id)
        .limit(limit)
    )
    rows = session.execute(stmt).all()
    last = rows[-1][0] if rows else after_id
    out = [
        ExportRow(
            email=r[1],
            name=r[2],
            status=r[3],
            status_reason=r[4],
            status_changed_at=r[5],
            created_at=r[6],
            source=r[7],
            suppressed=r[8] or "",
            attributes=r[9] or {},
        )
        for r in rows
    ]
    return out, last


def count_subscriptions(session: Session, list_id: int) -> dict[str, int]:
    """Subscriptions of one list per status."""
    rows = session.execute(
        select(Subscription.status, func.count())
        .where(Subscription.list_id == list_id)
        .group_by(Subscription.status)
    )
    return {s: int(n) for s, n in rows}


def hashes_present(session: Session, hashes: Iterable[str]) -> set[str]:
    """Of ``hashes``, those belonging to a subscriber."""
    hs = list(hashes)
    if not hs:
        return set()
    return set(session.scalars(select(Subscriber.email_hash).where(Subscriber.email_hash.in_(hs))))


# --- unsubscribing by link, credited to the send -----------------------------------


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


def unsubscribe_link(
    session: Session, list_slug: str, email_hash: str, reason: str, now: datetime
) -> bool:
    """Unsubscribe by link and credit the send that brought the message, atomically.

    Returns True if the subscription changed; unknown addresses change
    nothing. ``NotFoundError`` if the list is gone.

    The one-click endpoint must stay fast under load: give it the session of
    ``Database.quick_session``. On PostgreSQL this is one statement
    (data-modifying CTEs), which is atomic by itself, so it runs outside an
    explicit transaction: each round trip saved (BEGIN, the second UPDATE,
    COMMIT) is a wait on a busy server. SQLite: two statements, one commit.
    """
    if session.get_bind().dialect.name == "postgresql":
        return _unsubscribe_link_pg(session, list_slug, email_hash, reason, now)
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
    # Core statements on the session's connection: nothing here needs ORM
    # objects, and skipping the ORM halves the overhead.
    conn = session.connection()
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
    session: Session, list_slug: str, email_hash: str, reason: str, now: datetime
) -> bool:
    changed, list_id, _credited = (
        session.connection()
        .execute(
            _UNSUBSCRIBE_PG,
            {
                "slug": list_slug,
                "hash": email_hash,
                "reason": reason[:200],
                "now": now,
                "unsubscribed": SubscriptionStatus.UNSUBSCRIBED,
                "sent": RecipientStatus.SENT,
            },
        )
        .one()
    )
    if list_id is None:
        raise NotFoundError(f"no list {list_slug!r}")
    return bool(changed)
