"""The SQL of a subscriber import: one batch at a time, inside one transaction.

The importer (``mailer.lists.importer``) parses and validates rows; this
module merges a batch of valid, de-duplicated rows into the database with
set-based statements (``INSERT … ON CONFLICT``, ``INSERT … SELECT``), so a
million rows cost a few hundred round trips, not a million.

Invariants: a subscription that exists keeps its status (an unsubscribed
person is never resubscribed by an import), suppressed addresses get no
subscription, and running the same batch twice changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, literal, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from mailer.db.models import MailingList, Subscriber, Subscription
from mailer.db.models import SubscriptionStatus as Status
from mailer.db.subscribers import insert_for, suppressed_hashes
from mailer.errors import ConflictError

# Any constant shared by every importer: imports into any list touch the shared
# subscribers table, so they take turns rather than risk deadlocks.
_PG_IMPORT_LOCK = 0x6D61696C  # "mail"


@dataclass
class ImportRow:
    """A valid row: normalised address and its hash, with data to store."""

    line: int
    email: str
    email_hash: str
    name: str
    attributes: dict[str, Any]
    values: list[str] = field(default_factory=list)  # the row as read, for reports


@dataclass
class BatchCounts:
    added: int = 0  # new subscriptions on the list
    already: int = 0  # was on the list (active or unconfirmed): status untouched
    kept_unsubscribed: int = 0  # had unsubscribed: stays unsubscribed
    suppressed: list[tuple[ImportRow, str]] = field(default_factory=list)  # with the reason
    created_people: int = 0  # subscribers new to the database
    updated_people: int = 0  # existing subscribers whose name/attributes changed


def lock_for_import(session: Session, list_id: int, wait_seconds: float = 900.0) -> None:
    """Start the import's transaction holding the write lock; wait for a running import.

    PostgreSQL: a transaction-scoped advisory lock (released at commit or
    rollback). SQLite: a first write takes the database's write lock; while
    another import holds it we retry, up to ``wait_seconds``.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(text(f"pg_advisory_xact_lock({_PG_IMPORT_LOCK})")))
        return
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            session.execute(
                update(MailingList)
                .where(MailingList.id == list_id)
                .values(updated_at=MailingList.updated_at)
                .execution_options(synchronize_session=False)
            )
            return
        except OperationalError as exc:
            session.rollback()
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise ConflictError(
                    "the database stayed locked by another writer (another import?); try again"
                ) from exc


def merge_batch(
    session: Session,
    list_id: int,
    rows: Sequence[ImportRow],
    *,
    status: str,
    reason: str,
    source: str,
    now: datetime,
) -> BatchCounts:
    """Merge ``rows`` (unique by hash) into the subscribers of list ``list_id``."""
    counts = BatchCounts()
    if not rows:
        return counts
    by_hash = {r.email_hash: r for r in rows}
    blocked = suppressed_hashes(session, list(by_hash))
    for h, why in blocked.items():
        counts.suppressed.append((by_hash.pop(h), why))
    if not by_hash:
        return counts
    hashes = list(by_hash)

    existing = session.execute(
        select(Subscriber.id, Subscriber.email_hash, Subscriber.name, Subscriber.attributes).where(
            Subscriber.email_hash.in_(hashes)
        )
    ).all()
    known = {h for _, h, _, _ in existing}
    updates = []
    for sub_id, h, name, attributes in existing:
        row = by_hash[h]
        new_name = row.name or name
        new_attrs = {**(attributes or {}), **row.attributes}
        if new_name != name or new_attrs != (attributes or {}):
            updates.append({"b_id": sub_id, "b_name": new_name, "b_attrs": new_attrs})
    if updates:
        # The Core table, not the mapped class: a list of parameters then means
        # one executemany, not the ORM's per-row bulk update.
        table = Subscriber.__table__
        session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(name=bindparam("b_name"), attributes=bindparam("b_attrs"), updated_at=now),
            updates,
        )
        counts.updated_people = len(updates)

    fresh = [
        {
            "email": r.email,
            "email_hash": r.email_hash,
            "name": r.name,
            "attributes": r.attributes,
            "source": source,
            "created_at": now,
            "updated_at": now,
        }
        for h, r in by_hash.items()
        if h not in known
    ]
    if fresh:
        # A concurrent sign-up may insert one of these first: then it is theirs.
        session.execute(
            insert_for(session, Subscriber).on_conflict_do_nothing(index_elements=["email_hash"]),
            fresh,
        )
        counts.created_people = len(fresh)

    if known:
        current = session.execute(
            select(Subscription.status, Subscriber.email_hash)
            .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
            .where(Subscription.list_id == list_id, Subscriber.email_hash.in_(list(known)))
        ).all()
        for st, _ in current:
            if st == Status.UNSUBSCRIBED:
                counts.kept_unsubscribed += 1
            else:
                counts.already += 1

    pick = select(
        literal(list_id),
        Subscriber.id,
        literal(status),
        literal(reason[:200]),
        literal(now),
        literal(now),
    ).where(Subscriber.email_hash.in_(hashes))
    inserted = session.execute(
        insert_for(session, Subscription)
        .from_select(
            [
                "list_id",
                "subscriber_id",
                "status",
                "status_reason",
                "status_changed_at",
                "created_at",
            ],
            pick,
        )
        .on_conflict_do_nothing(index_elements=["list_id", "subscriber_id"])
        .returning(Subscription.subscriber_id)
    ).all()
    counts.added = len(inserted)
    return counts
