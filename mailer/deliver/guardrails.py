"""The circuit breaker: a running send pauses itself when its feedback turns bad.

Mailbox providers and SES judge a sender by the bounces and complaints its
mail earns; a list gone stale can burn a reputation within one send. So while
a send runs, the worker re-counts the send's own feedback (at most every
``guardrails.check_seconds``) and pauses it, with the reason on the send, when

- its hard-bounce rate passes ``guardrails.bounce_rate`` (5%) once at least
  ``bounce_min_feedback`` (200) of its messages have feedback, or
- its complaint rate passes ``guardrails.complaint_rate`` (0.1%) once at least
  ``complaint_min_feedback`` (1,000) have.

"Feedback" is a delivery, bounce or complaint reported by SES, so the rates
are over messages whose fate is known, not over messages handed to SES a
moment ago. A tripped send resumes only past an explicit override (``mailer
sends resume --override`` or the web app's confirmed button); the override is
recorded on the send and logged, and the breaker stays quiet for the rest of
that send.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from mailer.config import Settings
from mailer.db import Database
from mailer.db import guardrails as store
from mailer.db.guardrails import SendFeedback

log = logging.getLogger(__name__)

PREFIX = "circuit breaker: "


@dataclass(frozen=True)
class Thresholds:
    """When the breaker trips; defaults follow SES's review thresholds."""

    bounce_rate: float = 0.05
    bounce_min_feedback: int = 200
    complaint_rate: float = 0.001
    complaint_min_feedback: int = 1000

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        g = settings.guardrails
        return cls(g.bounce_rate, g.bounce_min_feedback, g.complaint_rate, g.complaint_min_feedback)


def verdict(feedback: SendFeedback, limits: Thresholds) -> str:
    """The reason to pause a send with this feedback, or "" when it may go on."""
    n = feedback.with_feedback
    if n >= limits.bounce_min_feedback and feedback.hard_bounced > limits.bounce_rate * n:
        return (
            f"{PREFIX}hard-bounce rate {feedback.hard_bounced / n:.1%} "
            f"({feedback.hard_bounced:,} of {n:,} messages with feedback) is above "
            f"{limits.bounce_rate:.1%}; clean the list, or resume past the breaker"
        )
    if n >= limits.complaint_min_feedback and feedback.complained > limits.complaint_rate * n:
        return (
            f"{PREFIX}complaint rate {feedback.complained / n:.2%} "
            f"({feedback.complained:,} of {n:,} messages with feedback) is above "
            f"{limits.complaint_rate:.2%}; check consent, or resume past the breaker"
        )
    return ""


def tripped(status_reason: str) -> bool:
    """Whether a send's pause reason is the circuit breaker's."""
    return status_reason.startswith(PREFIX)


class Breaker:
    """The check a worker runs between batches: returns a pause reason or ""."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        before_check: Callable[[], None] | None = None,
    ) -> None:
        self.database = database
        self.limits = Thresholds.from_settings(settings)
        self.every = settings.guardrails.check_seconds
        # Run before each count, e.g. draining SES feedback from SQS, so the
        # count sees the latest feedback even while one send keeps the worker busy.
        self.before_check = before_check
        self._last: dict[int, float] = {}

    def __call__(self, send_id: int) -> str:
        now = time.monotonic()
        last = self._last.get(send_id)
        if last is not None and now - last < self.every:
            return ""
        self._last[send_id] = now
        if self.before_check is not None:
            self.before_check()
        with self.database.session() as session:
            feedback = store.send_feedback(session, send_id)
        if feedback.overridden_at is not None:
            return ""
        reason = verdict(feedback, self.limits)
        if reason:
            log.warning("send #%d paused: %s", send_id, reason)
        return reason
