"""Each list's rolling 30-day bounce and complaint rates against SES's and Gmail's limits.

Bounce rate (hard bounces per message sent): SES recommends staying below 2%
and reviews an account at 5%. Complaint rate: Gmail asks bulk senders to stay
below 0.1% and throttles past 0.3%; SES reviews at 0.1%.
"""

from __future__ import annotations

from datetime import timedelta

from mailer.clock import utcnow
from mailer.db import Database
from mailer.db import guardrails as store
from mailer.doctor.diagnosis import FAIL, PASS, WARN, Diagnosis

WINDOW_DAYS = 30
BOUNCE_WARN, BOUNCE_FAIL = 0.02, 0.05
COMPLAINT_WARN, COMPLAINT_FAIL = 0.001, 0.003


def senders(database: Database) -> list[tuple[str, str]]:
    """(list slug, from address) of every list."""
    with database.session() as session:
        return store.list_senders(session)


def check(database: Database, out: Diagnosis) -> None:
    """Add one bounce and one complaint check per list that sent in the window."""
    with database.session() as session:
        rates = store.list_rates(session, utcnow() - timedelta(days=WINDOW_DAYS))
    if not rates:
        out.add("lists", "30-day rates", PASS, f"no messages sent in the last {WINDOW_DAYS} days")
    for r in rates:
        bounce = r.hard_bounced / r.sent if r.sent else 0.0
        complaint = r.complained / r.sent if r.sent else 0.0
        seen = f"of {r.sent:,} messages sent in {WINDOW_DAYS} days"
        status = FAIL if bounce > BOUNCE_FAIL else WARN if bounce > BOUNCE_WARN else PASS
        out.add(
            "lists",
            f"{r.slug}: bounce rate",
            status,
            f"{bounce:.2%} ({r.hard_bounced:,} hard bounces {seen}); SES reviews at 5%",
            "remove stale addresses (`mailer report --list "
            f"{r.slug}`), re-confirm old subscribers before the next send",
        )
        status = (
            FAIL if complaint > COMPLAINT_FAIL else WARN if complaint > COMPLAINT_WARN else PASS
        )
        out.add(
            "lists",
            f"{r.slug}: complaint rate",
            status,
            f"{complaint:.3%} ({r.complained:,} complaints {seen}); Gmail throttles past 0.3%",
            "check how addresses were collected (double opt-in), make unsubscribing obvious",
        )
