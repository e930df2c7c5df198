"""Leases on rows in flight, shared by the outbox (sends) and the mail queue.

A worker claims rows under a lease (``claimed_by``, ``lease_until``) and
renews it while a slow batch is still with it; a row whose lease ran out was
left by a dead worker, and its message may or may not have gone out. Both
tables have the same columns for this, so the statement and the wording of
that verdict live here once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Table, literal, update
from sqlalchemy.orm import Session

IN_FLIGHT = "sending"  # RecipientStatus.SENDING and MailStatus.SENDING alike
LOST = "its worker stopped before recording the outcome: it may or may not have been sent"


def in_flight(table: Table) -> ColumnElement[bool]:
    """``status = 'sending'`` with the status written into the SQL: a bound
    parameter would hide from a generic plan that the query lies within the
    outbox's partial index of rows in flight."""
    return table.c.status == literal(IN_FLIGHT, literal_execute=True)


def renew(session: Session, table: Table, worker: str, until: datetime) -> int:
    """Extend to ``until`` the lease on every row of ``table`` that ``worker`` holds in flight."""
    result = session.execute(
        update(table)
        .where(table.c.claimed_by == worker, in_flight(table))
        .values(lease_until=until)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
