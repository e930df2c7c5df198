"""The SES transport: boto3 ``sesv2`` ``send_email`` with Raw content.

Paced by a token bucket at the account's MaxSendRate (or ``ses.max_rate``)
divided between ``ses.workers``; throttling answers are retried with jittered
backoff; an account that SES paused or suspended pauses the send.
"""

from __future__ import annotations

import re
import time
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from mailer.config import Settings
from mailer.deliver.ratelimit import TokenBucket, backoff
from mailer.deliver.transports.base import (
    OutgoingMessage,
    PermanentFailure,
    SendingPaused,
    SendResult,
    TemporaryFailure,
    UncertainDelivery,
)
from mailer.errors import DeliveryError

THROTTLED = {
    "TooManyRequestsException",
    "Throttling",
    "ThrottlingException",
    "LimitExceededException",
}
# Errors no other recipient would escape: the operator must act.
PAUSING = {
    "SendingPausedException",
    "AccountSuspendedException",
    "MailFromDomainNotVerifiedException",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredTokenException",
}
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def ses_client(settings: Settings, service: str = "sesv2", pool: int = 10) -> Any:
    """A boto3 client for the configured region/endpoint, without botocore's own retries."""
    config = Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        max_pool_connections=pool,
        connect_timeout=10,
        read_timeout=60,
    )
    return boto3.client(  # type: ignore[call-overload]
        service,
        region_name=settings.ses.region,
        endpoint_url=settings.ses.endpoint_url or None,
        config=config,
    )


def account_rate(client: Any, settings: Settings) -> float:
    """The account's MaxSendRate (sesv2 GetAccount, else SES v1 GetSendQuota)."""
    try:
        return float(client.get_account()["SendQuota"]["MaxSendRate"])
    except (ClientError, BotoCoreError, KeyError):
        pass
    try:
        v1 = ses_client(settings, "ses", pool=1)
        return float(v1.get_send_quota()["MaxSendRate"])
    except (ClientError, BotoCoreError, KeyError) as exc:
        raise DeliveryError(
            f"cannot read the SES account's MaxSendRate ({exc}); set ses.max_rate in config.toml"
        ) from exc


class SesTransport:
    """Sends each message with one ``SendEmail`` call; safe for many threads."""

    name = "ses"
    parallel = True
    max_tries = 8

    def __init__(self, settings: Settings, client: Any = None, backoff_base: float = 0.2) -> None:
        self.settings = settings
        threads = settings.delivery.threads
        self.client = client or ses_client(settings, pool=max(10, threads * 2))
        rate = settings.ses.max_rate or account_rate(self.client, settings)
        self.rate = rate / settings.ses.workers
        self.bucket = TokenBucket(self.rate)
        self.backoff_base = backoff_base
        self.configuration_set = settings.ses.configuration_set
        self.throttled = 0

    def send(self, message: OutgoingMessage) -> SendResult:
        request: dict[str, Any] = {
            "FromEmailAddress": message.sender,
            "Destination": {"ToAddresses": [message.recipient]},
            "Content": {"Raw": {"Data": message.data}},
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        if message.tags:
            request["EmailTags"] = [
                {"Name": _TAG_UNSAFE.sub("_", k), "Value": _TAG_UNSAFE.sub("_", v) or "_"}
                for k, v in message.tags.items()
            ]
        for attempt in range(self.max_tries):
            self.bucket.acquire()
            try:
                response = self.client.send_email(**request)
                return SendResult(provider_message_id=response["MessageId"])
            except ClientError as exc:
                error = exc.response.get("Error", {})
                code = str(error.get("Code", ""))
                text = f"{code}: {error.get('Message', '')}".strip(": ")
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                if code in THROTTLED or status == 429:
                    self.throttled += 1
                    time.sleep(backoff(attempt, self.backoff_base))
                    continue
                if code in PAUSING:
                    raise SendingPaused(
                        f"SES refuses to send ({text}); fix the account, then resume"
                    ) from exc
                if code == "MessageRejected" or 400 <= status < 500:
                    raise PermanentFailure(f"SES rejected the message: {text}") from exc
                raise TemporaryFailure(f"SES error: {text or status}") from exc
            except EndpointConnectionError as exc:
                raise TemporaryFailure(f"cannot reach SES: {exc}") from exc
            except (ReadTimeoutError, ConnectionClosedError) as exc:
                raise UncertainDelivery(f"no answer from SES after sending: {exc}") from exc
        raise TemporaryFailure(f"SES kept throttling after {self.max_tries} tries")

    def close(self) -> None:
        self.client.close()
