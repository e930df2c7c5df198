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

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    String,
    Table,
    any_,
    bindparam,
    func,
    literal,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from mailer.db.models import MailingList, Subscriber, Subscription, Suppression
from mailer.db.subscribers import insert_for
from mailer.errors import ConflictError
from mailer.status import SubscriptionStatus as Status

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


def _among(session: Session, column: Any, values: list[str]) -> Any:
    """``column IN values`` with one bound parameter, whatever the batch size.

    An expanding ``IN`` of thousands of parameters is re-rendered and re-parsed
    for every batch; a single array (PostgreSQL) or JSON text (SQLite) is not.
    """
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=postgresql.ARRAY(String)))
    return column.in_(
        select(literal_column("value")).select_from(
            func.json_each(bindparam(None, json.dumps(values), type_=String))
        )
    )


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
    blocked = session.execute(
        select(Suppression.email_hash, Suppression.reason).where(
            _among(session, Suppression.email_hash, list(by_hash))
        )
    ).all()
    for h, why in blocked:
        counts.suppressed.append((by_hash.pop(h), why))
    if not by_hash:
        return counts

    candidates = [
        (r.email, r.email_hash, r.name, json.dumps(r.attributes), source) for r in by_hash.values()
    ]
    # Insert first: for new people (most rows of a first import) the unique
    # index does the lookup, and RETURNING hands back their ids.
    if _is_pg(session):
        ids = _pg_insert_subscribers(session, candidates, now)
    else:
        ids = _sqlite_insert_subscribers(session, candidates, now)
    counts.created_people = len(ids)
    existing = _existing(session, [h for h in by_hash if h not in ids])
    counts.updated_people = _merge_existing(session, by_hash, existing, now)

    existing_ids = [sub_id for sub_id, _, _, _ in existing]
    if existing_ids:
        for (st,) in session.execute(
            select(Subscription.status).where(
                Subscription.list_id == list_id,
                _among_ids(session, Subscription.subscriber_id, existing_ids),
            )
        ):
            if st == Status.UNSUBSCRIBED:
                counts.kept_unsubscribed += 1
            else:
                counts.already += 1

    who = _among_ids(session, Subscriber.id, [*ids.values(), *existing_ids])
    pick = select(
        literal(list_id),
        Subscriber.id,
        literal(status),
        literal(reason[:200]),
        literal(now),
        literal(now),
    ).where(who)
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


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _among_ids(session: Session, column: Any, ids: list[int]) -> Any:
    """``column IN ids`` with one bound parameter (see :func:`_among`)."""
    if _is_pg(session):
        return column == any_(bindparam(None, ids, type_=postgresql.ARRAY(BigInteger)))
    return column.in_(
        select(literal_column("value")).select_from(
            func.json_each(bindparam(None, json.dumps(ids), type_=String))
        )
    )


def _existing(session: Session, hashes: list[str]) -> list[Any]:
    """(id, hash, name, attributes) of the subscribers among ``hashes``."""
    if not hashes:
        return []
    return list(
        session.execute(
            select(
                Subscriber.id, Subscriber.email_hash, Subscriber.name, Subscriber.attributes
            ).where(_among(session, Subscriber.email_hash, hashes))
        ).all()
    )


def _merge_existing(
    session: Session, by_hash: dict[str, ImportRow], existing: list[Any], now: datetime
) -> int:
    """Merge the file's name and attributes into existing subscribers; return how many changed.

    A blank cell never erases anything; unchanged people are not written, so
    re-importing a file leaves even ``updated_at`` alone.
    """
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
        table = cast(Table, Subscriber.__table__)
        session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(name=bindparam("b_name"), attributes=bindparam("b_attrs"), updated_at=now),
            updates,
        )
    return len(updates)


_COPY_COLUMNS = ("email", "email_hash", "name", "attributes", "source", "created_at", "updated_at")
_COLS = ", ".join(_COPY_COLUMNS)
# SQLite's default SQLITE_MAX_VARIABLE_NUMBER since 3.32.
_SQLITE_MAX_VARIABLES = 32766

# The import's hot path talks to the driver: one executemany (SQLite) or one
# COPY (PostgreSQL) per batch, instead of SQLAlchemy's per-row parameter work.
# New rows use ``ON CONFLICT DO NOTHING``: one a concurrent sign-up inserted
# first stays theirs.


def _sqlite_insert_subscribers(
    session: Session, candidates: list[tuple[str, str, str, str, str]], now: datetime
) -> dict[str, int]:
    """Insert those of ``candidates`` that are new; return their hashes and ids.

    Multi-row ``INSERT … VALUES … RETURNING`` statements, each within SQLite's
    limit on bound variables; timestamps in the text format SQLAlchemy's
    ``DateTime`` stores.
    """
    driver: Any = session.connection().connection.driver_connection
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    width = len(_COPY_COLUMNS)
    per_statement = _SQLITE_MAX_VARIABLES // width
    ids: dict[str, int] = {}
    cur = driver.cursor()
    try:
        for start in range(0, len(candidates), per_statement):
            chunk = candidates[start : start + per_statement]
            values = ", ".join(["(" + ", ".join("?" * width) + ")"] * len(chunk))
            params = [value for row in chunk for value in (*row, stamp, stamp)]
            cur.execute(
                f"INSERT INTO subscribers ({_COLS}) VALUES {values} "
                "ON CONFLICT (email_hash) DO NOTHING RETURNING email_hash, id",
                params,
            )
            ids.update(cur.fetchall())
    finally:
        cur.close()
    return ids


def _pg_insert_subscribers(
    session: Session, candidates: list[tuple[str, str, str, str, str]], now: datetime
) -> dict[str, int]:
    """Insert those of ``candidates`` that are new; return their hashes and ids.

    ``COPY`` into a temporary table, then one ``INSERT … SELECT … ON CONFLICT
    DO NOTHING RETURNING`` (several times faster than an executemany).
    """
    driver: Any = session.connection().connection.driver_connection
    with driver.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS mailer_import_rows (email text, email_hash text, "
            "name text, attributes json, source text, created_at timestamp, "
            "updated_at timestamp) ON COMMIT DROP"
        )
        cur.execute("TRUNCATE mailer_import_rows")
        with cur.copy(f"COPY mailer_import_rows ({_COLS}) FROM STDIN") as copy:
            for row in candidates:
                copy.write_row((*row, now, now))
        cur.execute(
            f"INSERT INTO subscribers ({_COLS}) SELECT {_COLS} FROM mailer_import_rows "
            "ON CONFLICT (email_hash) DO NOTHING RETURNING email_hash, id"
        )
        return dict(cur.fetchall())


def analyze(session: Session) -> None:
    """Refresh the planner's statistics after a bulk load (PostgreSQL; SQLite needs none)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE subscribers"))
        session.execute(text("ANALYZE subscriptions"))
