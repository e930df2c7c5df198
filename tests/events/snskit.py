"""A private signing key and self-signed certificate that play the part of SNS's."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from mailer.events import sns
from tests.support.certs import self_signed

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
