"""The mail queue's leases, through the helper it shares with the outbox."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.orm import Session

from mailer.clock import utcnow
from mailer.db import Database, leases, mailqueue, outbox
from mailer.db.models import QueuedMail
from mailer.status import MailStatus
from tests.support.plans import plan_of


def test_renewal_extends_only_the_workers_rows_in_flight_and_expiry_says_why(
    db: Database,
) -> None:
    now = utcnow()
    soon, later = now + timedelta(seconds=30), now + timedelta(minutes=10)
    with db.session() as s:
        for n in range(4):
            mailqueue.add(s, kind="confirmation", to_email=f"p{n}@example.org")
        mine = [mailqueue.claim_one(s, "a", now, soon) for _ in range(2)]
        theirs = mailqueue.claim_one(s, "b", now, soon)
    assert all(mine) and theirs is not None
    with db.session() as s:
        assert mailqueue.renew_lease(s, "a", later) == 2
        assert mailqueue.renew_lease(s, "nobody", later) == 0
    with db.session() as s:
        rows = {row.id: row for row in s.query(QueuedMail)}
        assert all(rows[c.id].lease_until == later for c in mine if c is not None)
        assert rows[theirs.id].lease_until == soon
        # b's lease runs out: its message may have left, so it is uncertain, not re-sent.
        assert mailqueue.expire_leases(s, soon + timedelta(seconds=1)) == 1
    with db.session() as s:
        row = s.get(QueuedMail, theirs.id)
        assert row is not None and row.status == MailStatus.UNCERTAIN
        assert row.error == leases.LOST
        untouched = [r for r in s.query(QueuedMail) if r.status == MailStatus.QUEUED]
        assert len(untouched) == 1


def test_outbox_lease_sweeps_read_only_the_rows_in_flight(db: Database) -> None:
    # Expiry runs on every poll and renewal on every heartbeat, across all
    # sends: reading the whole outbox each time grows with every send ever made.
    sweeps: dict[str, Callable[[Session], object]] = {
        "expire": lambda s: outbox.expire_leases(s, utcnow()),
        "renew": lambda s: outbox.renew_lease(s, "w1", utcnow()),
        "orphan": outbox.orphan_in_flight,
    }
    for name, run in sweeps.items():
        plan = plan_of(db, run)
        assert "ix_send_recipients_in_flight" in plan, f"{name}: {plan}"
