"""The SNS HTTPS endpoint, as a plain function the web app mounts.

Order matters: size, JSON and fields are checked first (400), then the topic
allow-list, the message's age (``events.max_message_age_seconds``) and the
certificate URL (403) before anything is fetched, then the signature (403).
Only a verified message reaches the database or makes an outgoing request, so
a forged or broken request changes nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from mailer.config import Settings
from mailer.db import Database
from mailer.errors import Refused
from mailer.events import sns
from mailer.events.ingest import ingest
from mailer.events.parse import parse_message

log = logging.getLogger(__name__)


def handle_sns_webhook(
    db: Database,
    settings: Settings,
    headers: Mapping[str, str],
    body: bytes,
    *,
    certs: sns.CertificateCache | None = None,
    get: sns.Fetcher | None = None,
) -> tuple[int, str]:
    """Handle one POST from SNS; return (HTTP status, short message).

    ``certs`` and ``get`` (the HTTP GET used to confirm subscriptions) default
    to real httpx fetches; tests pass their own.
    """
    try:
        return _handle(db, settings, headers, body, certs or sns.default_cache(), get)
    except Refused as exc:
        log.warning("SNS webhook refused: %s", exc.message)
        return exc.http_status, exc.message


def _handle(
    db: Database,
    settings: Settings,
    headers: Mapping[str, str],
    body: bytes,
    certs: sns.CertificateCache,
    get: sns.Fetcher | None,
) -> tuple[int, str]:
    cfg = settings.events
    if not isinstance(body, bytes | bytearray) or len(body) > cfg.max_body_bytes:
        raise Refused(f"body larger than {cfg.max_body_bytes} bytes", 400)
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Refused(f"body is not JSON: {exc}", 400) from exc
    msg = sns.parse_message(data)
    declared = sns.header(headers, "x-amz-sns-message-type")
    if declared is not None and declared != msg.type:
        raise Refused("x-amz-sns-message-type header disagrees with the body", 400)
    if msg["TopicArn"] not in cfg.topic_arns:
        raise Refused(f"topic {msg['TopicArn']!r} is not in events.topic_arns", 403)
    # Before the certificate is fetched: a replayed message costs no request.
    sns.check_age(msg, cfg.max_message_age_seconds)
    if msg.type != sns.NOTIFICATION:
        # Checked before the certificate is fetched: no request to a host we would not confirm.
        sns.check_url(msg["SubscribeURL"], cfg.cert_url_pattern, cert=False)
    sns.verify(msg, cfg.cert_url_pattern, certs)

    if msg.type == sns.SUBSCRIBE:
        try:
            sns.confirm_subscription(msg["SubscribeURL"], cfg.cert_url_pattern, get)
        except Refused as exc:
            return 502, f"could not confirm the subscription: {exc.message}"
        log.info("confirmed SNS subscription to %s", msg["TopicArn"])
        return 200, f"subscription to {msg['TopicArn']} confirmed"
    if msg.type == sns.UNSUBSCRIBE:
        # Not re-subscribing: whoever unsubscribed meant it; `mailer ses setup` restores it.
        log.warning("SNS unsubscribed this endpoint from %s", msg["TopicArn"])
        return 200, "unsubscribe confirmation noted"
    events = parse_message(msg["Message"], "webhook", msg["MessageId"])
    result = ingest(db, settings, events)
    return 200, result.summary()
