"""The events tests' kit: a sent send to match feedback to, saved payloads, and a stand-in SNS.

SNS signs with a private key and a certificate it publishes; here a key and a
self-signed certificate generated at import play that part.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import select

from mailer.clock import utcnow
from mailer.db import Database
from mailer.db.models import Recipient, Send, Subscriber, Subscription
from mailer.events import sns
from mailer.lists.addresses import email_hash
from mailer.status import RecipientStatus, SendStatus, SubscriptionStatus
from tests.support.certs import self_signed
from tests.support.paths import PAYLOADS
from tests.support.rows import mailing_list

# AWS's published examples, kept as published (see aws/README.md).
AWS_EXAMPLES = PAYLOADS / "aws"

# SES MessageIds in tests/events/payloads, by recipient.
IDS = {
    "alice": "010201900a1b2c3d-1f2e3d4c-5b6a-4789-9a0b-1c2d3e4f5a61-000000",
    "bob": "010201900a1b2c3d-1f2e3d4c-5b6a-4789-9a0b-1c2d3e4f5a62-000000",
    "carol": "010201900a1b2c3d-1f2e3d4c-5b6a-4789-9a0b-1c2d3e4f5a63-000000",
    "dave": "010201900a1b2c3d-1f2e3d4c-5b6a-4789-9a0b-1c2d3e4f5a64-000000",
    "team": "010201900a1b2c3d-1f2e3d4c-5b6a-4789-9a0b-1c2d3e4f5a65-000000",
}
PEOPLE = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]


def payload(name: str) -> dict[str, Any]:
    """The saved payload ``tests/events/payloads/<name>``, parsed."""
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_text(encoding="utf-8"))
    return data


@dataclass
class World:
    """Two lists, eight subscribers on both, one send to the first list."""

    db: Database
    send_id: int
    list_ids: tuple[int, int]
    recipients: dict[str, int]  # name -> recipient row id

    def recipient(self, name: str) -> Recipient:
        with self.db.session() as s:
            row = s.get(Recipient, self.recipients[name])
            assert row is not None
            return row

    def statuses(self, name: str) -> dict[int, str]:
        """List id -> subscription status of ``name``."""
        with self.db.session() as s:
            sub_id = s.scalar(
                select(Subscriber.id).where(Subscriber.email == f"{name}@example.org")
            )
            rows = s.execute(
                select(Subscription.list_id, Subscription.status).where(
                    Subscription.subscriber_id == sub_id
                )
            )
            return {list_id: status for list_id, status in rows}

    def snapshot(self) -> dict[str, Any]:
        """Every row the events stage may change, to prove that nothing changed."""
        from mailer.db.models import Event, Suppression

        with self.db.session() as s:
            return {
                "recipients": sorted(
                    tuple(str(getattr(r, c.key)) for c in Recipient.__table__.columns)
                    for r in s.scalars(select(Recipient))
                ),
                "subscriptions": sorted(
                    (x.list_id, x.subscriber_id, x.status) for x in s.scalars(select(Subscription))
                ),
                "suppressions": sorted(x.email_hash for x in s.scalars(select(Suppression))),
                "events": s.scalar(select(Event.id).order_by(Event.id.desc()).limit(1)),
            }


def make_world(db: Database) -> World:
    """Build the ``World`` in ``db``: both lists, everyone on them, one send done."""
    now = utcnow()
    with db.session() as s:
        lists = []
        for slug in ("weekly", "offers"):
            lst = mailing_list(slug)
            s.add(lst)
            lists.append(lst)
        s.flush()
        send = Send(
            issue_slug="issue-42",
            list_id=lists[0].id,
            subject="Issue 42: autumn",
            status=SendStatus.DONE,
            status_reason="",
            created_at=now,
            total=len(PEOPLE),
        )
        s.add(send)
        s.flush()
        recipients = {}
        for name in PEOPLE:
            email = f"{name}@example.org"
            sub = Subscriber(
                email=email,
                email_hash=email_hash(email),
                name=name.title(),
                attributes={},
                source="test",
                created_at=now,
                updated_at=now,
            )
            s.add(sub)
            s.flush()
            for lst in lists:
                s.add(
                    Subscription(
                        list_id=lst.id,
                        subscriber_id=sub.id,
                        status=SubscriptionStatus.ACTIVE,
                        status_reason="",
                        status_changed_at=now,
                        created_at=now,
                    )
                )
            pmid = IDS["team"] if name in ("erin", "frank", "grace") else IDS.get(name)
            rec = Recipient(
                send_id=send.id,
                subscriber_id=sub.id,
                email=email,
                email_hash=email_hash(email),
                status=RecipientStatus.SENT,
                attempts=1,
                message_id=f"<{name}.42@news.example.org>",
                provider_message_id=pmid,
                error="",
                sent_at=now,
                opens=0,
                clicks=0,
            )
            s.add(rec)
            s.flush()
            recipients[name] = rec.id
        return World(db, send.id, (lists[0].id, lists[1].id), recipients)


# The stand-in SNS.
REGION = "eu-west-1"
TOPIC = f"arn:aws:sns:{REGION}:111122223333:mailer-ses-feedback"
CERT_URL = f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem"
SUBSCRIBE_URL = (
    f"https://sns.{REGION}.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}"
    "&Token=2336412f37fb687f5d51e6e2425ba1f30a2ff5fa9ab1ca8dd"
)


def make_key_and_cert(hostname: str = "sns.amazonaws.com") -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = self_signed(key, hostname, dns=[hostname])
    return key, cert.public_bytes(serialization.Encoding.PEM)


KEY, CERT_PEM = make_key_and_cert()


def now_stamp(ago: float = 0.0) -> str:
    """An SNS Timestamp ``ago`` seconds before now (SNS signs the time it sent)."""
    when = datetime.now(UTC) - timedelta(seconds=ago)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def sign(fields: dict[str, Any], key: rsa.RSAPrivateKey = KEY) -> dict[str, Any]:
    """Add Signature to ``fields`` the way SNS does for its SignatureVersion."""
    algorithm = hashes.SHA1() if fields["SignatureVersion"] == "1" else hashes.SHA256()
    data = sns.string_to_sign(
        sns.SnsMessage({k: v for k, v in fields.items() if isinstance(v, str)})
    )
    signature = key.sign(data, padding.PKCS1v15(), algorithm)
    return {**fields, "Signature": base64.b64encode(signature).decode()}


def notification(
    message: dict[str, Any] | str,
    *,
    version: str = "1",
    topic: str = TOPIC,
    cert_url: str = CERT_URL,
    subject: str | None = "Amazon SES Email Event Notification",
    message_id: str | None = None,
    timestamp: str | None = None,
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": message_id or str(uuid.uuid4()),
        "TopicArn": topic,
        "Message": message if isinstance(message, str) else json.dumps(message),
        "Timestamp": timestamp or now_stamp(),
        "SignatureVersion": version,
        "SigningCertURL": cert_url,
        "UnsubscribeURL": f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={TOPIC}:c9135db0",
    }
    if subject is not None:
        fields["Subject"] = subject
    return sign(fields)


def confirmation(
    kind: str = "SubscriptionConfirmation",
    *,
    topic: str = TOPIC,
    subscribe_url: str = SUBSCRIBE_URL,
    version: str = "1",
) -> dict[str, Any]:
    return sign(
        {
            "Type": kind,
            "MessageId": str(uuid.uuid4()),
            "Token": "2336412f37fb687f5d51e6e2425ba1f30a2ff5fa9ab1ca8dd",
            "TopicArn": topic,
            "Message": f"You have chosen to subscribe to the topic {topic}.\n"
            "To confirm the subscription, visit the SubscribeURL included in this message.",
            "SubscribeURL": subscribe_url,
            "Timestamp": now_stamp(),
            "SignatureVersion": version,
            "SigningCertURL": CERT_URL,
        }
    )


def headers_for(doc: dict[str, Any]) -> dict[str, str]:
    return {
        "x-amz-sns-message-type": doc["Type"],
        "x-amz-sns-message-id": doc["MessageId"],
        "x-amz-sns-topic-arn": doc["TopicArn"],
        "Content-Type": "text/plain; charset=UTF-8",
    }


class FakeNetwork:
    """Records every URL the handler fetches; serves only the test certificate."""

    def __init__(self, pem: bytes = CERT_PEM) -> None:
        self.pem = pem
        self.fetched: list[str] = []

    def fetch(self, url: str) -> bytes:
        self.fetched.append(url)
        if url.endswith(".pem"):
            return self.pem
        return b"<ConfirmSubscriptionResponse/>"
