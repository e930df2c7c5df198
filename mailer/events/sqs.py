"""The SQS poller: long-polls the feedback queue and deletes only what is committed.

The queue is subscribed to the SES feedback topic, with or without raw message
delivery: a body is either the SNS envelope (``Type``/``Message``) or the SES
JSON itself; both parse. Bodies that are not SES feedback are stored as
``unknown`` events rather than left to poison the queue. A receive batch is
ingested in one transaction and deleted only after that transaction commits;
if the database fails, nothing is deleted and SQS redelivers after the
visibility timeout (dedupe keys make the retry harmless).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from mailer.config import Settings
from mailer.db import Database
from mailer.errors import EventError
from mailer.events.aws import client
from mailer.events.ingest import ingest
from mailer.events.parse import FeedbackEvent, parse_message
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
            "events.sqs_queue_url is not set: run `mailer ses setup` and put the queue URL "
            "it prints in config.toml (or MAILER_EVENTS_SQS_QUEUE_URL)"
        )
    return url


def poll_once(
    db: Database,
    settings: Settings,
    sqs: Any | None = None,
    *,
    wait_seconds: int = 20,
    max_messages: int = 10,
) -> PollResult:
    """Receive one batch (long poll), ingest it, then delete it from the queue."""
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
    for m in messages:
        events.extend(parse_message(m.get("Body", ""), "sqs", m.get("MessageId", "")))
    result.ingest = ingest(db, settings, events)  # committed when this returns
    entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
    deleted = sqs.delete_message_batch(QueueUrl=url, Entries=entries)
    result.deleted = len(deleted.get("Successful", []))
    for failure in deleted.get("Failed", []):
        # Redelivered later and deduped then: a warning, not data loss.
        log.warning("could not delete SQS message: %s", failure.get("Message", failure))
    return result


def poll(
    db: Database,
    settings: Settings,
    *,
    stop: threading.Event | None = None,
    once: bool = False,
    wait_seconds: int = 20,
    sqs: Any | None = None,
) -> PollResult:
    """Poll until ``stop`` is set (or, with ``once``, until the queue is empty)."""
    sqs = sqs or client(settings, "sqs")
    total = PollResult()
    stop = stop or threading.Event()
    backoff = 1.0
    while not stop.is_set():
        try:
            batch = poll_once(db, settings, sqs, wait_seconds=wait_seconds)
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
