"""boto3 clients for the feedback services, with the endpoint overrides from settings."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from mailer.config import Settings


def endpoint_for(settings: Settings, service: str) -> str | None:
    """The configured endpoint override for ``service`` (sesv2, sns, sqs), if any."""
    url = {
        "sesv2": settings.ses.endpoint_url,
        "sns": settings.events.sns_endpoint_url,
        "sqs": settings.events.sqs_endpoint_url,
    }.get(service, "")
    return url or None


def client(settings: Settings, service: str) -> Any:
    """A client in ``ses.region``; credentials come from the usual AWS chain."""
    return boto3.client(
        service,  # type: ignore[call-overload]
        region_name=settings.ses.region,
        endpoint_url=endpoint_for(settings, service),
        config=Config(
            retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30
        ),
    )
