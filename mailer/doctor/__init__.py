"""``mailer doctor``: is the sending setup healthy, before and during a send?

Each check answers pass, warn, fail or "could not check" (a DNS lookup that
timed out, an AWS call refused): never a pass by default. The checks, one
module per kind: configuration (``settings``), the DNS of each list's from
domain (``domains``: SPF, DKIM, DMARC and alignment), the SES account
(``ses``: access, enforcement, reputation, quota, configuration set, feedback
path) and each list's 30-day bounce and complaint rates (``lists``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from mailer.config import Settings
from mailer.db import Database

PASS = "pass"
WARN = "warn"
FAIL = "fail"
UNKNOWN = "unknown"  # shown as "could not check"
LABELS = {PASS: "pass", WARN: "warn", FAIL: "FAIL", UNKNOWN: "could not check"}
# Exit codes of `mailer doctor`: any fail wins over anything left unchecked.
EXIT_FAIL = 1
EXIT_UNKNOWN = 3


@dataclass(frozen=True)
class Check:
    """One finding: what was checked, the verdict, what was seen and how to fix it."""

    area: str
    item: str
    status: str
    detail: str
    fix: str = ""


@dataclass
class Diagnosis:
    """Every check of one run, in the order they ran."""

    checks: list[Check] = field(default_factory=list)

    def add(self, area: str, item: str, status: str, detail: str, fix: str = "") -> None:
        self.checks.append(Check(area, item, status, detail, fix if status != PASS else ""))

    def count(self, status: str) -> int:
        return sum(1 for c in self.checks if c.status == status)

    @property
    def exit_code(self) -> int:
        if self.count(FAIL):
            return EXIT_FAIL
        return EXIT_UNKNOWN if self.count(UNKNOWN) else 0

    def summary(self) -> str:
        parts = [f"{self.count(s)} {LABELS[s].lower()}" for s in (PASS, WARN, FAIL, UNKNOWN)]
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "checks": [asdict(c) for c in self.checks],
            "summary": {s: self.count(s) for s in (PASS, WARN, FAIL, UNKNOWN)},
            "ok": self.exit_code == 0,
        }


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
