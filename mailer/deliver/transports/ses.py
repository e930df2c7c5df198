"""The SES transport: boto3 ``sesv2`` ``send_email`` with Raw content.

Paced by a token bucket at the account's MaxSendRate (or ``ses.max_rate``)
divided between ``ses.workers``, never bursting above it. Throttling answers
are retried with jittered backoff; sustained throttling (``max_tries`` answers
in a row per delivery thread), a used-up daily quota, or an account that SES paused or suspended
pauses the send with SES's reason. A 5xx answer may follow an accepted
message, so it makes the recipient ``uncertain``, never a silent retry. Before
a send starts, ``refuse`` checks that the daily quota can carry it.
"""

from __future__ import annotations

import logging
import re
import threading
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
from mailer.deliver.transports.base import OutgoingMessage, SendResult
from mailer.errors import (
    DeliveryError,
    Hint,
    PermanentFailure,
    SendingPaused,
    TemporaryFailure,
    UncertainDelivery,
)

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
# Answers after which SES may or may not have accepted the message.
SERVER_ERRORS = {"InternalFailure", "InternalServerError", "ServiceUnavailable"}
# How SES words a throttling answer that no waiting within the send can cure.
_DAILY_QUOTA = re.compile(r"daily (message |sending )?quota|Max24HourSend", re.IGNORECASE)
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
log = logging.getLogger(__name__)


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


def _quota(client: Any, settings: Settings) -> tuple[float, float]:
    """(Max24HourSend, SentLast24Hours) of the account."""
    try:
        quota = client.get_account()["SendQuota"]
        return float(quota["Max24HourSend"]), float(quota["SentLast24Hours"])
    except (ClientError, BotoCoreError, KeyError):
        pass
    try:
        v1 = ses_client(settings, "ses", pool=1).get_send_quota()
        return float(v1["Max24HourSend"]), float(v1["SentLast24Hours"])
    except (ClientError, BotoCoreError, KeyError) as exc:
        raise DeliveryError(f"cannot read the SES account's daily quota ({exc})") from exc


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
        # Throttling answers in a row, across threads; any accepted message resets it.
        self.consecutive_throttles = 0
        self.pause_after = self.max_tries * max(1, threads)
        self._lock = threading.Lock()

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
            except ClientError as exc:
                error = exc.response.get("Error", {})
                code = str(error.get("Code", ""))
                text = f"{code}: {error.get('Message', '')}".strip(": ")
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                if code in THROTTLED or status == 429:
                    if _DAILY_QUOTA.search(text):
                        raise SendingPaused(
                            f"SES daily sending quota is used up ({text}); resume when it "
                            "allows more",
                            hint=Hint.SES_STATUS,
                        ) from exc
                    streak = self._throttled()
                    last_try = attempt == self.max_tries - 1
                    # Sustained: every thread's worth of tries refused in a row, or
                    # this message's last try with nothing accepted in between.
                    if streak >= self.pause_after or (last_try and streak >= self.max_tries):
                        raise SendingPaused(
                            f"SES kept throttling ({text}; {streak} requests in a row); "
                            "lower ses.max_rate or check the account, then resume"
                        ) from exc
                    if not last_try:
                        time.sleep(backoff(attempt, self.backoff_base))
                    continue
                if code in PAUSING:
                    raise SendingPaused(
                        f"SES refuses to send ({text}); fix the account, then resume"
                    ) from exc
                if status >= 500 or code in SERVER_ERRORS:
                    # SES may have accepted the message before failing to answer:
                    # sending again could mail the person twice.
                    raise UncertainDelivery(
                        f"SES answered {text or status} (HTTP {status}): the message may have "
                        "gone out"
                    ) from exc
                if code == "MessageRejected" or 400 <= status < 500:
                    raise PermanentFailure(f"SES rejected the message: {text}") from exc
                raise TemporaryFailure(f"SES error: {text or status}") from exc
            except EndpointConnectionError as exc:
                raise TemporaryFailure(f"cannot reach SES: {exc}") from exc
            except (ReadTimeoutError, ConnectionClosedError) as exc:
                raise UncertainDelivery(f"no answer from SES after sending: {exc}") from exc
            with self._lock:
                self.consecutive_throttles = 0
            return SendResult(provider_message_id=response["MessageId"])
        raise TemporaryFailure(f"SES kept throttling after {self.max_tries} tries")

    def _throttled(self) -> int:
        with self._lock:
            self.throttled += 1
            self.consecutive_throttles += 1
            return self.consecutive_throttles

    def refuse(self, recipients: int) -> str | None:
        """Why the account's daily quota cannot carry a send to ``recipients``, or None.

        Compares with ``Max24HourSend - SentLast24Hours`` (sesv2 GetAccount, else
        SES v1 GetSendQuota). A quota that cannot be read refuses nothing: the
        send then pauses with SES's reason if the quota runs out. Off with
        ``ses.check_daily_quota = false``.
        """
        if not self.settings.ses.check_daily_quota:
            return None
        try:
            max_24h, sent_24h = _quota(self.client, self.settings)
        except DeliveryError as exc:
            log.warning("%s; starting the send without checking the quota", exc)
            return None
        if max_24h < 0:  # -1: no daily limit
            return None
        left = max(0.0, max_24h - sent_24h)
        if recipients <= left:
            return None
        return (
            f"the SES daily quota cannot carry this send: {recipients:,} recipients, but only "
            f"{left:,.0f} messages are left (Max24HourSend {max_24h:,.0f} - SentLast24Hours "
            f"{sent_24h:,.0f}); resume when the quota allows, or ask AWS to raise it"
        )

    def close(self) -> None:
        self.client.close()
