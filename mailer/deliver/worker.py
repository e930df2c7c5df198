"""The worker: starts due sends and delivers their recipients until told to stop.

On PostgreSQL any number of workers share the queue: batches are claimed with
``FOR UPDATE SKIP LOCKED`` under a lease, and a worker that vanished is found
out when its lease expires. On SQLite one worker runs at a time, enforced by
an exclusive lock on ``<database>.worker.lock`` that the kernel releases even
when the process is killed; holding it proves every row left ``sending`` was
abandoned, so those become ``uncertain`` at once.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from secrets import token_hex
from typing import IO

from mailer.clock import utcnow
from mailer.config import Settings, sqlite_file
from mailer.db import Database, mailqueue
from mailer.db import outbox as store
from mailer.deliver.engine import Engine, ProgressCallback, SenderList
from mailer.deliver.guardrails import Breaker
from mailer.deliver.queue import QueueDelivery
from mailer.deliver.transports import open_transport
from mailer.deliver.transports.base import Transport
from mailer.errors import WorkerBusy
from mailer.keys import site_keys
from mailer.lists.optin import handle_subscribe_request
from mailer.status import SendStatus

log = logging.getLogger(__name__)


# What the worker does with each kind of queued request (``queue.enqueue_request``).
REQUEST_HANDLERS = {"subscribe": handle_subscribe_request}


def new_worker_id() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{token_hex(3)}"


@contextmanager
def worker_lock(database: Database) -> Iterator[bool]:
    """Hold the single-worker lock on SQLite; yields True when this process is the only one.

    Raises ``WorkerBusy`` when another process holds it. On PostgreSQL there is
    no lock and it yields False.
    """
    path = sqlite_file(database.url)
    if path is None:
        yield False
        return
    lock_path = path.with_name(path.name + ".worker.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fh: IO[str] = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the block
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise WorkerBusy(
                f"a worker ({holder}) is already delivering from {path.name}: SQLite runs one "
                "worker at a time (use PostgreSQL for several)"
            ) from exc
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} on {socket.gethostname()}")
        fh.flush()
        yield True
    finally:
        fh.close()


@dataclass
class WorkerStats:
    started: int = 0
    handled: int = 0
    uncertain_found: int = 0
    feedback_messages: int = 0  # SQS messages of SES feedback ingested
    queued_mail: int = 0  # mail-queue rows handled (confirmations, sign-up requests)


class _Heartbeat(threading.Thread):
    """Renews the lease on this worker's claims while a long batch is in flight."""

    def __init__(self, settings: Settings, database: Database, worker_id: str) -> None:
        super().__init__(name="lease-heartbeat", daemon=True)
        self.settings = settings
        self.database = database
        self.worker_id = worker_id
        self.done = threading.Event()

    def run(self) -> None:
        lease = self.settings.delivery.lease_seconds
        while not self.done.wait(lease / 3):
            until = utcnow() + timedelta(seconds=lease)
            with self.database.session() as session:
                store.renew_lease(session, self.worker_id, until)
                mailqueue.renew_lease(session, self.worker_id, until)


class Worker:
    """Runs sends: ``run(once=True)`` drains what is due now, else loops until ``stop``."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        transport: Transport | None = None,
        stop: threading.Event | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.stop = stop or threading.Event()
        self.worker_id = worker_id or new_worker_id()
        self._transport = transport
        self.stats = WorkerStats()

    def run(
        self,
        *,
        once: bool = False,
        only_send: int | None = None,
        on_progress: ProgressCallback | None = None,
        send_list: SenderList | None = None,
    ) -> WorkerStats:
        """Deliver until stopped (or, with ``once``, until nothing is due now).

        Besides sends, it drains the mail queue (``mailer.deliver.queue``):
        confirmations and the sign-up requests that lead to them.

        ``only_send`` restricts the worker to one send and keeps going until that
        send is done, paused or cancelled: what ``mailer send`` runs in-process;
        ``send_list`` is its list when the caller has just read it.
        """
        # Refuse an unusable site key before anything is claimed or signed.
        site_keys(self.settings)
        with worker_lock(self.database) as alone:
            if alone:
                with self.database.session() as session:
                    self.stats.uncertain_found += store.orphan_in_flight(session)
                    self.stats.uncertain_found += mailqueue.orphan_in_flight(session)
            transport = self._transport or open_transport(self.settings)
            breaker = Breaker(self.settings, self.database, before_check=self._poll_feedback)
            engine = Engine(
                self.settings, self.database, transport, self.worker_id, self.stop, guard=breaker
            )
            if send_list is not None:
                engine.lists[send_list.id] = send_list
            mail = QueueDelivery(
                self.settings,
                self.database,
                transport,
                self.worker_id,
                self.stop,
                handlers=REQUEST_HANDLERS,
            )
            if only_send is None:
                engine.between_batches = lambda: self._drain(mail)
            heartbeat = _Heartbeat(self.settings, self.database, self.worker_id)
            heartbeat.start()
            try:
                self._loop(engine, mail, once=once, only_send=only_send, on_progress=on_progress)
            finally:
                heartbeat.done.set()
                engine.close()
                if self._transport is None:
                    transport.close()
        return self.stats

    def _drain(self, mail: QueueDelivery) -> int:
        handled = mail.drain()
        self.stats.queued_mail += handled
        return handled

    def _poll_feedback(self) -> None:
        """Drain SES feedback waiting in SQS, when ``events.sqs_queue_url`` is set.

        Feedback trouble (AWS or the queue unreachable) must never stop
        delivery: it is logged, and the messages stay in the queue for the next
        round or for ``mailer events poll``.
        """
        if not self.settings.events.sqs_queue_url:
            return
        from mailer.events.sqs import poll_if_configured

        try:
            result = poll_if_configured(self.database, self.settings)
        except Exception:
            log.exception("polling SES feedback from SQS failed; delivery goes on")
            return
        if result is not None:
            self.stats.feedback_messages += result.deleted

    def _loop(
        self,
        engine: Engine,
        mail: QueueDelivery,
        *,
        once: bool,
        only_send: int | None,
        on_progress: ProgressCallback | None,
    ) -> None:
        while not self.stop.is_set():
            with self.database.session() as session:
                self.stats.uncertain_found += store.expire_leases(session, utcnow())
                self.stats.uncertain_found += mailqueue.expire_leases(session, utcnow())
                due = store.due_sends(session, utcnow())
            handled = 0
            if only_send is None:
                # Confirmations first: someone is waiting for them right now.
                handled += self._drain(mail)
            for send_id in due:
                if only_send is not None and send_id != only_send:
                    continue
                with self.database.session() as session:
                    count = store.start_send(session, send_id, utcnow())
                    if count is not None:
                        self.stats.started += 1
                        # In the same transaction: no recipient can be claimed
                        # before the check, so a refused send mails nobody.
                        refusal = _refusal(engine.transport, count)
                        if refusal:
                            store.set_status(
                                session,
                                send_id,
                                SendStatus.PAUSED,
                                reason=refusal,
                                only_from=[SendStatus.RUNNING],
                            )
            with self.database.session() as session:
                running = store.running_sends(session)
            if only_send is not None:
                running = [s for s in running if s == only_send]
            for send_id in running:
                if self.stop.is_set():
                    break
                handled += engine.run_send(
                    send_id, wait=only_send is not None, on_progress=on_progress
                )
            self.stats.handled += handled
            if only_send is None:
                self._poll_feedback()
            if only_send is not None:
                with self.database.session() as session:
                    status = store.get_send(session, only_send).status
                if status != "running" and status != "scheduled":
                    return
                if status == "scheduled":
                    # Scheduled for later: the worker will start it.
                    return
            elif once and handled == 0:
                return
            if handled == 0:
                self.stop.wait(self.settings.delivery.poll_seconds)


def _refusal(transport: Transport, recipients: int) -> str:
    """Why ``transport`` cannot carry a send to ``recipients`` (e.g. SES's daily quota), or ""."""
    refuse = getattr(transport, "refuse", None)
    return (refuse(recipients) or "") if refuse is not None else ""
