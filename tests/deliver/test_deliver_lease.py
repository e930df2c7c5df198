"""The lease heartbeat: a batch slower than its lease stays with the worker sending it.

Two real workers share one send on PostgreSQL. The first sends its batch
slowly (each message takes longer than a third of the lease, the whole batch
more than two leases); the second, fast, takes the other batch and then keeps
looking for expired leases. Without the heartbeat it would find the first
worker's batch expired and mark it ``uncertain``; with it, nothing is stolen
and nobody gets a message twice.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from sqlalchemy import func, select

from mailer.config import Settings
from mailer.db import Database
from mailer.db import outbox as store
from mailer.db.models import Recipient
from mailer.deliver import sends
from mailer.deliver.transports.base import OutgoingMessage, SendResult
from mailer.deliver.worker import Worker
from mailer.status import RecipientStatus
from tests.support.deliver import ISSUE, make_list

LEASE = 3  # seconds; the heartbeat renews every LEASE / 3
PER_MESSAGE = 1.1  # seconds a message takes on the slow worker
BATCH = 6  # so its batch takes 6.6 s: more than two leases

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("db_url", ["postgresql"], indirect=True),
]


@dataclass
class TimedTransport:
    """Records who got a message; ``pause`` seconds per message; watches its lease."""

    database: Database
    worker_id: str
    pause: float = 0.0
    name: str = "timed"
    parallel: bool = False
    recipients: list[str] = field(default_factory=list)
    leases: list[datetime] = field(default_factory=list)  # its rows' lease, per message
    started: threading.Event = field(default_factory=threading.Event)

    def send(self, message: OutgoingMessage) -> SendResult:
        self.started.set()
        with self.database.session() as session:
            until = session.scalar(
                select(func.max(Recipient.lease_until)).where(
                    Recipient.claimed_by == self.worker_id
                )
            )
        if until is not None:
            self.leases.append(until)
        time.sleep(self.pause)
        self.recipients.append(message.recipient)
        return SendResult()

    def close(self) -> None:
        pass


def test_a_batch_slower_than_its_lease_is_neither_stolen_nor_duplicated(
    settings: Settings, db: Database
) -> None:
    # Config refuses leases under 10 s (a real batch needs the margin); a
    # copy skips that check so the test runs in seconds, not minutes.
    settings.delivery = settings.delivery.model_copy(
        update={"lease_seconds": LEASE, "batch_size": BATCH, "poll_seconds": 0.05}
    )
    _, emails = make_list(db, count=2 * BATCH)
    send = sends.create_send(settings, db, ISSUE, "weekly")

    slow = TimedTransport(db, "slow-worker", pause=PER_MESSAGE)
    fast = TimedTransport(db, "fast-worker")
    slow_worker = Worker(settings, db, transport=slow, worker_id="slow-worker")
    stop_fast = threading.Event()
    fast_worker = Worker(settings, db, transport=fast, stop=stop_fast, worker_id="fast-worker")

    began = time.monotonic()
    slow_thread = threading.Thread(target=slow_worker.run, kwargs={"only_send": send.id})
    slow_thread.start()
    # The slow worker holds the first batch before the fast one starts looking.
    assert slow.started.wait(30)
    fast_thread = threading.Thread(target=fast_worker.run)
    fast_thread.start()
    slow_thread.join(60)
    took = time.monotonic() - began
    stop_fast.set()
    fast_thread.join(30)
    assert not slow_thread.is_alive() and not fast_thread.is_alive()

    # The premise: the slow batch outlived its first lease twice over.
    assert took > 2 * LEASE
    assert len(slow.recipients) == BATCH
    # The heartbeat moved the lease on while the batch was in flight.
    assert slow.leases[-1] > slow.leases[0]
    # Neither worker found anything expired: nothing was taken from the slow one.
    assert slow_worker.stats.uncertain_found == 0
    assert fast_worker.stats.uncertain_found == 0
    # Everyone got exactly one message, from one of the two workers.
    assert sorted(slow.recipients + fast.recipients) == sorted(emails)
    assert set(slow.recipients).isdisjoint(fast.recipients)
    with db.session() as session:
        final = {k: v for k, v in store.counts(session, send.id).items() if v}
    assert final == {RecipientStatus.SENT: 2 * BATCH}
