"""The SQS poller: long-polls the feedback queue and deletes only what is committed.

The queue is subscribed to the SES feedback topic, with or without raw message
delivery: a body is either the SNS envelope (``Type``/``Message``) or the SES
JSON itself; both parse. Bodies that are not SES feedback are stored as
``unknown`` events rather than left to poison the queue. A receive batch is
ingested in one transaction and deleted only after that transaction commits;
if the database fails, nothing is deleted and SQS redelivers after the
visibility timeout (dedupe keys make the retry harmless).

Whoever can write to the queue could otherwise forge feedback, so by default
(``events.sqs_verify_signatures``) every body must be an SNS envelope whose
signature verifies with the webhook's verifier; a body that is not is stored
as an ``unknown`` event (never acted on) and deleted. Unlike the webhook, no
age limit applies: a queue legitimately holds messages for days while no
poller runs.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from mailer.config import Settings
from mailer.db import Database
from mailer.errors import EventError, Hint, Refused
from mailer.events import sns
from mailer.events.aws import client
from mailer.events.ingest import ingest
from mailer.events.parse import FeedbackEvent, is_sns_envelope, parse_message, unknown_event
from mailer.events.policy import IngestResult

log = logging.getLogger(__name__)


@dataclass
class PollResult:
    """What polling did: messages received and deleted, and the ingest totals."""

    received: int = 0
    deleted: int = 0
    ingest: IngestResult = field(default_factory=IngestResult)


def _queue_url(settings: Settings) -> str:
    url = settings.events.sqs_queue_url
    if not url:
        raise EventError(
            "events.sqs_queue_url is not set (in config.toml or MAILER_EVENTS_SQS_QUEUE_URL)",
            hint=Hint.SES_SETUP,
        )
    return url


def poll_once(
    db: Database,
    settings: Settings,
    sqs: Any | None = None,
    *,
    wait_seconds: int = 20,
    max_messages: int = 10,
    certs: sns.CertificateCache | None = None,
) -> PollResult:
    """Receive one batch (long poll), ingest it, then delete it from the queue.

    With ``events.sqs_verify_signatures`` (the default) a body counts only if it
    is an SNS message whose signature verifies (``certs`` defaults to the
    process-wide certificate cache); anything else is stored as ``unknown``.
    """
    url = _queue_url(settings)
    sqs = sqs or client(settings, "sqs")
    resp = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=max(1, min(max_messages, 10)),
        WaitTimeSeconds=max(0, min(wait_seconds, 20)),
    )
    messages = resp.get("Messages", [])
    result = PollResult(received=len(messages))
    if not messages:
        return result
    events: list[FeedbackEvent] = []
    verify = settings.events.sqs_verify_signatures
    for m in messages:
        body, message_id = m.get("Body", ""), m.get("MessageId", "")
        refused = _unverified(body, settings, certs or sns.default_cache()) if verify else None
        if refused is not None:
            # Kept for audit and deleted, like any other body that is not feedback:
            # left on the queue it would only come back.
            log.warning("SQS message %s refused: %s", message_id, refused)
            events.append(unknown_event(body, message_id, "sqs", f"refused: {refused}"))
            continue
        events.extend(parse_message(body, "sqs", message_id))
    result.ingest = ingest(db, settings, events)  # committed when this returns
    entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
    deleted = sqs.delete_message_batch(QueueUrl=url, Entries=entries)
    result.deleted = len(deleted.get("Successful", []))
    for failure in deleted.get("Failed", []):
        # Redelivered later and deduped then: a warning, not data loss.
        log.warning("could not delete SQS message: %s", failure.get("Message", failure))
    return result


def _unverified(body: str, settings: Settings, certs: sns.CertificateCache) -> str | None:
    """Why ``body`` is not a verified SNS message, or None when it is."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return "not JSON, so not a signed SNS message"
    if not is_sns_envelope(data):
        return (
            "not an SNS envelope, so its signature cannot be verified (raw message delivery "
            "needs events.sqs_verify_signatures = false)"
        )
    try:
        sns.verify(sns.parse_message(data), settings.events.cert_url_pattern, certs)
    except Refused as exc:
        return exc.message
    return None


def poll(
    db: Database,
    settings: Settings,
    *,
    stop: threading.Event | None = None,
    once: bool = False,
    wait_seconds: int = 20,
    sqs: Any | None = None,
    certs: sns.CertificateCache | None = None,
) -> PollResult:
    """Poll until ``stop`` is set (or, with ``once``, until the queue is empty)."""
    sqs = sqs or client(settings, "sqs")
    total = PollResult()
    stop = stop or threading.Event()
    backoff = 1.0
    while not stop.is_set():
        try:
            batch = poll_once(db, settings, sqs, wait_seconds=wait_seconds, certs=certs)
        except EventError:
            raise  # configuration: retrying cannot help
        except Exception:
            if once:
                raise
            # Database or AWS unavailable: nothing was deleted, so nothing is lost;
            # keep the poller alive and try again, waiting longer each time.
            log.exception("SQS poll failed; retrying in %.0f s", backoff)
            stop.wait(backoff)
            backoff = min(backoff * 2, 60.0)
            continue
        backoff = 1.0
        total.received += batch.received
        total.deleted += batch.deleted
        total.ingest.add(batch.ingest)
        if batch.received:
            log.info("SQS batch: %s", batch.ingest.summary())
        elif once:
            break
    return total


def poll_if_configured(
    db: Database, settings: Settings, sqs: Any | None = None
) -> PollResult | None:
    """For the delivery worker's loop: drain waiting feedback without blocking.

    Returns None when ``events.sqs_queue_url`` is not set.
    """
    if not settings.events.sqs_queue_url:
        return None
    return poll(db, settings, once=True, wait_seconds=0, sqs=sqs)
