"""``mailer doctor``: is the sending setup healthy, before and during a send?

Each check answers pass, warn, fail or "could not check" (a DNS lookup that
timed out, an AWS call refused): never a pass by default. The checks, one
module per kind: configuration (``settings``), the DNS of each list's from
domain (``domains``: SPF, DKIM, DMARC and alignment), the SES account
(``ses``: access, enforcement, reputation, quota, configuration set, feedback
path) and each list's 30-day bounce and complaint rates (``lists``). What a
run finds, the verdicts and ``Diagnosis``, lives in ``diagnosis``.
"""

from __future__ import annotations

from typing import Any

from mailer.config import Settings
from mailer.db import Database
from mailer.doctor.diagnosis import (
    EXIT_FAIL,
    EXIT_UNKNOWN,
    FAIL,
    LABELS,
    PASS,
    UNKNOWN,
    WARN,
    Check,
    Diagnosis,
)

__all__ = [
    "EXIT_FAIL",
    "EXIT_UNKNOWN",
    "FAIL",
    "LABELS",
    "PASS",
    "UNKNOWN",
    "WARN",
    "Check",
    "Diagnosis",
    "diagnose",
]


def diagnose(
    settings: Settings,
    database: Database,
    *,
    sesv2: Any | None = None,
    sns: Any | None = None,
    sqs: Any | None = None,
    cloudwatch: Any | None = None,
) -> Diagnosis:
    """Run every check. AWS clients default to the configured ones when SES is in use."""
    from mailer.doctor import domains, lists, ses
    from mailer.doctor import settings as config_checks
    from mailer.doctor.dns import Resolver

    out = Diagnosis()
    resolver = Resolver.from_settings(settings)
    senders = lists.senders(database)
    config_checks.check(settings, senders, resolver, out)
    account = None
    if settings.delivery.transport == "ses":
        account = ses.check(
            settings, database, out, sesv2=sesv2, sns=sns, sqs=sqs, cloudwatch=cloudwatch
        )
    domains.check(settings, senders, resolver, account, out)
    lists.check(database, out)
    return out
