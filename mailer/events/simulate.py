"""SES feedback payloads for a send, for demos and for rehearsing the pipeline.

``mailer events simulate SEND`` writes what SES would publish for a send's
recipients (configuration-set events, in AWS's documented shape, carrying the
``X-Mailer-Send-Id`` header), as JSON lines. Feeding the file to ``mailer
events ingest`` then exercises the real path: parse, match, dedupe, policy.
Nothing is sent anywhere and nothing is stored by this module.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from mailer.db import Database
from mailer.errors import NotFoundError

# Share of recipients per outcome; the rest are simply delivered.
DEFAULT_MIX = {
    "HardBounce": 0.02,
    "SoftBounce": 0.01,
    "Complaint": 0.001,
    "Open": 0.35,
    "Click": 0.08,
}


def iso(t: datetime) -> str:
    """SES's timestamp format: ``2026-11-02T09:15:04.133Z``."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def mail_object(
    *, message_id: str, email: str, send_id: int | None, sent: datetime, sender: str
) -> dict[str, Any]:
    """The ``mail`` object SES puts in every event."""
    headers = [
        {"name": "From", "value": sender},
        {"name": "To", "value": email},
        {"name": "MIME-Version", "value": "1.0"},
        {"name": "Content-Type", "value": 'multipart/alternative; boundary="=_mailer"'},
    ]
    if send_id is not None:
        headers.append({"name": "X-Mailer-Send-Id", "value": str(send_id)})
    return {
        "timestamp": iso(sent),
        "source": sender,
        "sourceArn": "arn:aws:ses:eu-west-1:111122223333:identity/example.org",
        "sendingAccountId": "111122223333",
        "messageId": message_id,
        "destination": [email],
        "headersTruncated": False,
        "headers": headers,
        "commonHeaders": {"from": [sender], "to": [email], "messageId": message_id},
        "tags": {"ses:configuration-set": ["mailer"]},
    }


def ses_event(kind: str, mail: dict[str, Any], when: datetime, n: int) -> dict[str, Any]:
    """One configuration-set event of ``kind`` (SES names, plus HardBounce/SoftBounce)."""
    to = mail["destination"][0]
    at = iso(when)
    if kind in ("HardBounce", "SoftBounce"):
        hard = kind == "HardBounce"
        return {
            "eventType": "Bounce",
            "bounce": {
                "bounceType": "Permanent" if hard else "Transient",
                "bounceSubType": "General" if hard else "MailboxFull",
                "bouncedRecipients": [
                    {
                        "emailAddress": to,
                        "action": "failed",
                        "status": "5.1.1" if hard else "4.2.2",
                        "diagnosticCode": "smtp; 550 5.1.1 user unknown"
                        if hard
                        else "smtp; 452 4.2.2 mailbox full",
                    }
                ],
                "timestamp": at,
                "feedbackId": f"{mail['messageId']}-{n}-{uuid.UUID(int=n).hex[:12]}",
                "reportingMTA": "dsn; a1-2.smtp-out.eu-west-1.amazonses.com",
            },
            "mail": mail,
        }
    doc: dict[str, Any] = {"eventType": kind, "mail": mail}
    if kind == "Delivery":
        doc["delivery"] = {
            "timestamp": at,
            "processingTimeMillis": 812,
            "recipients": [to],
            "smtpResponse": "250 2.0.0 OK",
            "reportingMTA": "a1-2.smtp-out.eu-west-1.amazonses.com",
        }
    elif kind == "Send":
        doc["send"] = {}
    elif kind in ("Open", "Click"):
        body = {"ipAddress": "198.51.100.7", "timestamp": at, "userAgent": "Mozilla/5.0"}
        if kind == "Click":
            body["link"] = f"https://news.example.org/story-{n % 7}"
        doc[kind.lower()] = body
    elif kind == "DeliveryDelay":
        doc["deliveryDelay"] = {
            "timestamp": at,
            "delayType": "TransientCommunicationFailure",
            "delayedRecipients": [{"emailAddress": to, "status": "4.4.1"}],
        }
    elif kind == "Complaint":
        doc["complaint"] = {
            "complainedRecipients": [{"emailAddress": to}],
            "timestamp": at,
            "feedbackId": f"{mail['messageId']}-complaint-{n}",
            "complaintFeedbackType": "abuse",
        }
    elif kind == "Reject":
        doc["reject"] = {"reason": "Bad content"}
    elif kind == "Subscription":
        doc["subscription"] = {
            "contactList": "newsletter",
            "timestamp": at,
            "source": "UnsubscribeHeader",
            "newTopicPreferences": {"unsubscribeAll": True},
        }
    else:
        raise ValueError(f"unknown event kind {kind!r}")
    return doc


def simulate_send(
    recipients: Sequence[tuple[str, str | None]],
    send_id: int,
    *,
    sent: datetime,
    sender: str = "news@example.org",
    mix: dict[str, float] | None = None,
    seed: int = 1,
) -> Iterator[dict[str, Any]]:
    """Events for ``recipients`` ((email, SES MessageId or None)) of one send.

    Every recipient gets a Send; then a hard bounce, soft bounce or a
    Delivery (possibly followed by a complaint, opens and clicks), drawn from
    ``mix``. Recipients without a MessageId (outbox or SMTP transport) get a
    made-up one and are matched by the send-id header.
    """
    rng = random.Random(seed)
    shares = mix or DEFAULT_MIX
    n = 0
    for i, (email, message_id) in enumerate(recipients):
        mail = mail_object(
            message_id=message_id or f"simulated-{send_id}-{i:08d}",
            email=email,
            send_id=send_id,
            sent=sent + timedelta(milliseconds=i * 10),
            sender=sender,
        )
        when = sent + timedelta(seconds=5 + rng.random() * 600)
        n += 1
        yield ses_event("Send", mail, when, n)
        roll = rng.random()
        hard, soft = shares.get("HardBounce", 0), shares.get("SoftBounce", 0)
        if roll < hard:
            n += 1
            yield ses_event("HardBounce", mail, when + timedelta(seconds=2), n)
            continue
        if roll < hard + soft:
            n += 1
            yield ses_event("SoftBounce", mail, when + timedelta(seconds=2), n)
            continue
        n += 1
        yield ses_event("Delivery", mail, when + timedelta(seconds=1), n)
        if rng.random() < shares.get("Complaint", 0):
            n += 1
            yield ses_event("Complaint", mail, when + timedelta(hours=2), n)
        if rng.random() < shares.get("Open", 0):
            for k in range(1 + int(rng.random() < 0.3)):
                n += 1
                yield ses_event("Open", mail, when + timedelta(minutes=10 + 90 * k), n)
            if rng.random() < shares.get("Click", 0) / max(shares.get("Open", 1), 1e-9):
                n += 1
                yield ses_event("Click", mail, when + timedelta(minutes=12), n)


def for_send(db: Database, send_id: int, seed: int = 1) -> tuple[Iterator[dict[str, Any]], int]:
    """The events a stored send might get back, and how many sent recipients it has.

    ``NotFoundError`` if there is no such send. Reads the send; stores nothing.
    """
    from mailer.db import events as store
    from mailer.db import reports as report_store

    with db.session() as session:
        found = report_store.send_with_list(session, send_id)
        if found is None:
            raise NotFoundError(f"no send {send_id}")
        send, lst = found
        recipients = store.sent_recipients(session, send_id)
        sent, sender = send.started_at or send.created_at, lst.from_email
    return simulate_send(recipients, send_id, sent=sent, sender=sender, seed=seed), len(recipients)
