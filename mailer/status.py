"""The statuses rows move through, as the short strings stored in the database.

Plain strings rather than database enums, so SQLite and PostgreSQL behave the
same and adding a status needs no type migration. Kept apart from the ORM
models so that code deciding on a status need not import the database layer.
"""

from __future__ import annotations


class SubscriptionStatus:
    UNCONFIRMED = "unconfirmed"
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    ALL = (UNCONFIRMED, ACTIVE, UNSUBSCRIBED)


class SuppressionReason:
    HARD_BOUNCE = "hard_bounce"
    SOFT_BOUNCE = "soft_bounce"
    COMPLAINT = "complaint"
    MANUAL = "manual"
    FORGOTTEN = "forgotten"
    ALL = (HARD_BOUNCE, SOFT_BOUNCE, COMPLAINT, MANUAL, FORGOTTEN)


class SendStatus:
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    CANCELLED = "cancelled"
    ALL = (SCHEDULED, RUNNING, PAUSED, DONE, CANCELLED)


class RecipientStatus:
    QUEUED = "queued"  # waiting to be claimed (or retried after a 4xx)
    SENDING = "sending"  # handed to a transport; outcome not yet recorded
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"  # unsubscribed or suppressed after the send froze its recipients
    UNCERTAIN = "uncertain"  # was in flight when its worker died: never re-sent silently
    ALL = (QUEUED, SENDING, SENT, FAILED, SKIPPED, UNCERTAIN)


class MailStatus:
    """Status of a ``mail_queue`` row (mail a subscriber's action triggered)."""

    QUEUED = "queued"  # waiting for the worker (or for its retry time)
    SENDING = "sending"  # claimed by a worker; outcome not yet recorded
    SENT = "sent"
    FAILED = "failed"  # refused for good, or temporary failures past max_attempts
    UNCERTAIN = "uncertain"  # was in flight when its worker died: never re-sent silently
    DONE = "done"  # a request (``subscribe``) handled; it is never mailed itself
    ALL = (QUEUED, SENDING, SENT, FAILED, UNCERTAIN, DONE)
