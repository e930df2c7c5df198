"""The mail queue: mail a subscriber's action triggers, delivered by the worker.

A confirmation (and any other message a subscriber's action triggers) is not
sent by the web request that caused it: it is stored with ``enqueue`` in the
same transaction as the change that calls for it, and ``mailer worker``
delivers it through the configured transport, with retries and backoff. The
subscribe form goes one step further and stores only a ``subscribe`` request
(``enqueue_request``), the same single insert for every address; the worker
decides what it means (see ``mailer.lists.optin``).

Crash safety is the send engine's: a row is marked ``sending`` before its
message reaches the transport and ``sent`` after, one row at a time, so a
worker that dies leaves at most one message ``uncertain``, never re-sent
silently.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from secrets import token_hex

from sqlalchemy.orm import Session

from mailer.clock import utcnow
from mailer.config import Settings
from mailer.db import Database
from mailer.db import mailqueue as store
from mailer.deliver.mime import MessageTemplate, Personal, check_header
from mailer.deliver.transports.base import OutgoingMessage, Transport
from mailer.errors import (
    PermanentFailure,
    SendingPaused,
    TemporaryFailure,
    UncertainDelivery,
    UnsafeHeader,
)
from mailer.status import MailStatus

log = logging.getLogger(__name__)

# A request handler runs in the worker, in the transaction that marks the
# request done; it may change subscriptions and ``enqueue`` messages.
RequestHandler = Callable[[Session, Settings, store.Claimed], None]


def enqueue(
    session: Session,
    *,
    kind: str,
    to: str,
    subject: str,
    html: str,
    text: str,
    from_email: str,
    from_name: str = "",
    reply_to: str = "",
    to_name: str = "",
    headers: Mapping[str, str] | None = None,
    subscriber_id: int | None = None,
    list_id: int | None = None,
) -> int:
    """Queue one ready message for the worker to deliver; return its queue id.

    Call it inside the transaction of the change that calls for the message
    (a subscription recorded, confirmed…): both are committed, or neither.
    ``kind`` names the message for operators ("confirm", "welcome"). Raises
    ``UnsafeHeader`` when a header value holds a line break.
    """
    if kind in store.REQUEST_KINDS:
        raise ValueError(f"{kind!r} is a request kind: use enqueue_request")
    for name, value in (
        ("To", to),
        ("To name", to_name),
        ("Subject", subject),
        ("From", from_email),
        ("From name", from_name),
        ("Reply-To", reply_to),
        *((f"header {k}", f"{k}: {v}") for k, v in (headers or {}).items()),
    ):
        check_header(name, value)
    return store.add(
        session,
        kind=kind,
        to_email=to,
        to_name=to_name,
        subject=subject,
        html=html,
        text=text,
        from_email=from_email,
        from_name=from_name,
        reply_to=reply_to,
        headers=dict(headers or {}),
        subscriber_id=subscriber_id,
        list_id=list_id,
    )


def enqueue_request(
    session: Session,
    *,
    kind: str,
    to: str,
    to_name: str = "",
    list_id: int | None = None,
    data: Mapping[str, object] | None = None,
) -> int:
    """Queue a request (``kind`` in ``REQUEST_KINDS``) for the worker to handle."""
    if kind not in store.REQUEST_KINDS:
        raise ValueError(f"{kind!r} is not a request kind")
    return store.add(
        session, kind=kind, to_email=to, to_name=to_name, list_id=list_id, data=dict(data or {})
    )


def build_message(row: store.Claimed, message_id: str) -> OutgoingMessage:
    """The message bytes of a queued row (same MIME builder as sends)."""
    template = MessageTemplate(
        subject=row.subject,
        from_name=row.from_name,
        from_email=row.from_email,
        reply_to=row.reply_to,
        html_body=row.html,
        text_body=row.text,
        headers=row.headers or None,
    )
    data = template.render(Personal(email=row.to_email, name=row.to_name, message_id=message_id))
    return OutgoingMessage(sender=row.from_email, recipient=row.to_email, data=data)


def _message_id(row: store.Claimed) -> str:
    domain = row.from_email.rsplit("@", 1)[-1] or "localhost"
    return f"<q{row.id}.{token_hex(8)}@{domain}>"


class QueueDelivery:
    """Drains the mail queue for one worker identity through one transport."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        transport: Transport,
        worker_id: str,
        stop: threading.Event | None = None,
        handlers: Mapping[str, RequestHandler] | None = None,
    ) -> None:
        self.settings = settings
        # Request kind -> its handler, given by whoever runs the queue: the
        # lists stage builds on this module, so this module cannot import it.
        self.handlers = dict(handlers or {})
        self.database = database
        self.transport = transport
        self.worker_id = worker_id
        self.stop = stop or threading.Event()

    def drain(self) -> int:
        """Handle every row due now; return how many were handled."""
        handled = 0
        while not self.stop.is_set() and self.step():
            handled += 1
        return handled

    def step(self) -> bool:
        """Claim and handle one due row; False when none is due."""
        now = utcnow()
        lease = timedelta(seconds=self.settings.delivery.lease_seconds)
        with self.database.session() as session:
            row = store.claim_one(session, self.worker_id, now, now + lease)
        if row is None:
            return False
        if row.is_request:
            self._handle_request(row)
        else:
            self._send(row)
        return True

    def _handle_request(self, row: store.Claimed) -> None:
        try:
            with self.database.session() as session:
                self._handler(row.kind)(session, self.settings, row)
                store.mark_done(session, row.id)
        except Exception as exc:
            # Nothing left the process: handling it again later is safe.
            log.exception("queue request #%s (%s) failed; retried later", row.id, row.kind)
            self._retry_or_fail(row, f"{type(exc).__name__}: {exc}")

    def _handler(self, kind: str) -> RequestHandler:
        try:
            return self.handlers[kind]
        except KeyError:
            raise LookupError(f"no handler for queue requests of kind {kind!r}") from None

    def _send(self, row: store.Claimed) -> None:
        message_id = _message_id(row)
        try:
            message = build_message(row, message_id)
        except UnsafeHeader as exc:
            self._final(row, MailStatus.FAILED, str(exc))
            return
        try:
            result = self.transport.send(message)
        except (TemporaryFailure, SendingPaused) as exc:
            self._retry_or_fail(row, str(exc))
        except PermanentFailure as exc:
            self._final(row, MailStatus.FAILED, str(exc))
        except UncertainDelivery as exc:
            self._final(row, MailStatus.UNCERTAIN, str(exc))
        except Exception as exc:
            # Unclassified: the message may or may not have left, and a
            # duplicate is worse than a question.
            self._final(row, MailStatus.UNCERTAIN, f"{type(exc).__name__}: {exc}")
        else:
            with self.database.session() as session:
                store.mark_sent(session, row.id, message_id, result.provider_message_id, utcnow())

    def _final(self, row: store.Claimed, status: str, error: str) -> None:
        log.warning("queued %s #%s to a subscriber: %s (%s)", row.kind, row.id, status, error)
        with self.database.session() as session:
            store.mark_final(session, row.id, status, error)

    def _retry_or_fail(self, row: store.Claimed, error: str) -> None:
        attempts = row.attempts + 1
        if attempts >= self.settings.delivery.max_attempts:
            self._final(row, MailStatus.FAILED, f"gave up after {attempts} tries: {error}")
            return
        delay = self.settings.delivery.retry_seconds * 2 ** (attempts - 1)
        delay = min(delay, 3600) * random.uniform(0.8, 1.2)
        with self.database.session() as session:
            store.mark_retry(session, row.id, error, utcnow() + timedelta(seconds=delay))


@dataclass(frozen=True)
class StuckMail:
    """A queued message that failed or may have gone out (``mailer queue`` lists them)."""

    id: int
    kind: str
    to_email: str
    status: str
    attempts: int
    created_at: datetime
    error: str


@dataclass(frozen=True)
class QueueState:
    """The mail queue: rows by status, and the latest failed and uncertain ones."""

    counts: dict[str, int]
    stuck: list[StuckMail]


def queue_state(database: Database, limit: int = 20) -> QueueState:
    """Counts of the mail queue by status, and its ``limit`` latest failed or uncertain rows."""
    with database.session() as session:
        counts = store.counts(session)
        rows = store.latest(session, limit, [MailStatus.FAILED, MailStatus.UNCERTAIN])
        stuck = [
            StuckMail(r.id, r.kind, r.to_email, r.status, r.attempts, r.created_at, r.error)
            for r in rows
        ]
    return QueueState(counts, stuck)


def requeue(database: Database, status: str) -> int:
    """Queue failed (or uncertain: maybe sent twice!) messages again; returns how many."""
    with database.session() as session:
        return store.requeue(session, status)
