"""Browsing subscribers a page at a time, newest first, with filters.

Pages are found by keyset (``id < last id seen``), never by ``OFFSET``, so a
page deep in a million subscribers costs what the first one does: one range
scan of a primary key or of ``ix_subscriptions_list_status``, then two small
lookups for the page's lists and suppressions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, not_, or_, select
from sqlalchemy.orm import Session

from mailer.db import subscribers
from mailer.db.models import MailingList, Subscriber, Subscription, Suppression
from mailer.lists.addresses import email_hash


@dataclass(frozen=True)
class Filters:
    """What the subscribers page narrows to; empty means everyone."""

    list_id: int | None = None
    status: str | None = None  # a subscription status (on the list, or on any list)
    suppressed: bool | None = None
    query: str = ""


@dataclass(frozen=True)
class Membership:
    list_slug: str
    status: str


@dataclass(frozen=True)
class PersonRow:
    """One line of the subscribers page."""

    id: int
    email: str
    name: str
    source: str
    created_at: datetime
    suppressed: str | None  # the suppression reason, if the address is suppressed
    lists: list[Membership] = field(default_factory=list)


@dataclass(frozen=True)
class Page:
    rows: list[PersonRow]
    next_after: int | None  # ``after`` for the next (older) page, if there is one
    prev_before: int | None  # ``before`` for the previous (newer) page, if there is one


def _is_full_address(query: str) -> bool:
    local, _, domain = query.partition("@")
    return bool(local) and "." in domain and " " not in query


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _conditions(filters: Filters, bounds: list[Any]) -> list[Any]:
    conds: list[Any] = []
    if filters.list_id is not None:
        conds.append(Subscription.list_id == filters.list_id)
        if filters.status is not None:
            conds.append(Subscription.status == filters.status)
    elif filters.status is not None:
        # The page's bound again inside: PostgreSQL's merge semi-join otherwise
        # walks the subscriptions from the very end down to the page.
        conds.append(
            exists().where(
                Subscription.subscriber_id == Subscriber.id,
                Subscription.status == filters.status,
                *bounds,
            )
        )
    if filters.suppressed is not None:
        on = exists().where(Suppression.email_hash == Subscriber.email_hash)
        conds.append(on if filters.suppressed else not_(on))
    query = filters.query.strip()
    if query:
        if _is_full_address(query):
            # A whole address is one person: found through the unique hash index.
            conds.append(Subscriber.email_hash == email_hash(query))
        else:
            like = f"%{_escape_like(query.lower())}%"
            conds.append(
                or_(
                    func.lower(Subscriber.email).like(like, escape="\\"),
                    func.lower(Subscriber.name).like(like, escape="\\"),
                )
            )
    return conds


def browse(
    session: Session,
    filters: Filters,
    *,
    after: int | None = None,
    before: int | None = None,
    limit: int = 50,
) -> Page:
    """One page of subscribers matching ``filters``, newest first.

    ``after`` (an id from ``Page.next_after``) gives the page after it;
    ``before`` (from ``Page.prev_before``) the page before it.
    """
    on_list = filters.list_id is not None
    # With a list, the subscription's subscriber id is the key: the index
    # (list_id, status, subscriber_id) or the primary key (list_id,
    # subscriber_id) then yields the page in order without a sort.
    key = Subscription.subscriber_id if on_list else Subscriber.id
    stmt = select(Subscriber.id)
    if on_list:
        stmt = stmt.join(Subscription, Subscription.subscriber_id == Subscriber.id)
    backwards = before is not None and after is None
    # The bound on both sides of the join is redundant but lets PostgreSQL
    # start its merge join at the page instead of at the newest subscriber.
    if backwards:
        bounds = [Subscription.subscriber_id > before]
        conds = [key > before, Subscriber.id > before]
        stmt = stmt.order_by(key.asc())
    else:
        bounds = [] if after is None else [Subscription.subscriber_id < after]
        conds = [] if after is None else [key < after, Subscriber.id < after]
        stmt = stmt.order_by(key.desc())
    conds += _conditions(filters, bounds)
    ids = list(session.scalars(stmt.where(*conds).limit(limit + 1)))
    more = len(ids) > limit
    ids = ids[:limit]
    if backwards:
        ids.reverse()
    rows = _rows(session, ids)
    if not rows:
        return Page([], None, None)
    if backwards:
        return Page(rows, rows[-1].id, rows[0].id if more else None)
    return Page(rows, rows[-1].id if more else None, rows[0].id if after is not None else None)


def _rows(session: Session, ids: list[int]) -> list[PersonRow]:
    if not ids:
        return []
    people = session.execute(
        select(
            Subscriber.id,
            Subscriber.email,
            Subscriber.name,
            Subscriber.source,
            Subscriber.created_at,
            Subscriber.email_hash,
        ).where(Subscriber.id.in_(ids))
    ).all()
    # Looked up by key, not joined: PostgreSQL hash-joins a page against the
    # whole suppression list, which grows with every bounce.
    suppressed = subscribers.suppressed_hashes(session, [r[5] for r in people])
    lists: dict[int, list[Membership]] = {}
    for sub_id, slug, status in session.execute(
        select(Subscription.subscriber_id, MailingList.slug, Subscription.status)
        .join(MailingList, MailingList.id == Subscription.list_id)
        .where(Subscription.subscriber_id.in_(ids))
        .order_by(MailingList.slug)
    ):
        lists.setdefault(sub_id, []).append(Membership(slug, status))
    by_id = {
        r[0]: PersonRow(r[0], r[1], r[2], r[3], r[4], suppressed.get(r[5]), lists.get(r[0], []))
        for r in people
    }
    return [by_id[i] for i in ids if i in by_id]
