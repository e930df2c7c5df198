"""The operator's actions on one subscriber: ``mailer subscribers add|show|…``.

Unlike the sign-up form, these act on the operator's word, with two limits: an
address that unsubscribed is not put back on a list (only its owner can do
that, through a confirmation), and a suppressed one is not activated until the
operator lifts the suppression.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mailer.clock import utcnow
from mailer.config import Settings
from mailer.db import Database
from mailer.db import history as log
from mailer.db import subscribers as store
from mailer.db.models import MailingList, Subscriber, Subscription, Suppression
from mailer.errors import ConflictError, Hint, MailerError, NotFoundError, Problem, ValidationError
from mailer.headertext import MAX_DISPLAY_NAME, one_line_problem
from mailer.lists import welcome as welcome_mail
from mailer.lists.addresses import email_hash, needs_smtputf8, normalise_email
from mailer.lists.erasure import erase_traces
from mailer.lists.optin import SubscribeOutcome, subscribe
from mailer.status import SubscriptionStatus as Status
from mailer.status import SuppressionReason


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a subscriber's name (it goes into the To header), or None."""
    if len(name) > MAX_DISPLAY_NAME:
        return f"the name is longer than {MAX_DISPLAY_NAME} characters"
    problem = one_line_problem(name)
    return None if problem is None else f"the name {problem}"


def check_name(name: str) -> str:
    """``name`` trimmed, or ``MailerError`` saying why it cannot be a subscriber's name."""
    name = name.strip()
    problem = name_problem(name)
    if problem is not None:
        raise MailerError(problem)
    return name


def add(
    db: Database,
    settings: Settings,
    list_slug: str,
    email: str,
    *,
    name: str = "",
    attributes: dict[str, Any] | None = None,
    send_confirmation: bool = False,
    welcome: bool = False,
    actor: str = "cli",
) -> str:
    """Add an address to a list; return what happened, for the operator.

    With ``send_confirmation`` the address gets a confirmation email (queued for
    the worker) and stays
    unconfirmed until its owner clicks (the only way back for an unsubscribed
    address), and gets the list's welcome when they do; otherwise it becomes
    active at once, and with ``welcome`` the list's welcome mail is queued.
    """
    address = normalise_email(email, check_deliverability=settings.lists.check_deliverability)
    name = check_name(name)
    with db.session() as session:
        lst = store.get_list(session, list_slug)
        # Composed before anything changes: a broken welcome stops the add
        # with its one-line error instead of leaving someone unwelcomed.
        rendered = None
        if welcome and not send_confirmation:
            if not lst.welcome:
                raise ConflictError(
                    f"list {lst.slug} has no welcome message (set welcome in its file)"
                )
            rendered = welcome_mail.render(settings, lst)
        supp = store.get_suppression(session, address)
        if supp is not None:
            raise ConflictError(
                f"{address} is suppressed ({supp.reason}); it is never mailed",
                hint=None if supp.reason == SuppressionReason.FORGOTTEN else Hint.UNSUPPRESS,
            )
        existing = store.find_subscriber(session, address)
        current = (
            store.get_subscription(session, lst.id, existing.id) if existing is not None else None
        )
        if not send_confirmation and current is not None and current.status == Status.UNSUBSCRIBED:
            raise ConflictError(
                f"{address} unsubscribed from {lst.slug} on "
                f"{current.status_changed_at:%Y-%m-%d} ({current.status_reason}); only they "
                "can subscribe again",
                hint=Hint.SEND_CONFIRMATION,
            )
        source = "cli" if actor == "cli" else "admin"
        sub = store.upsert_subscriber(
            session, address, name=name, attributes=attributes, source=source
        )
        if not send_confirmation:
            warning = (
                f" (warning: only SMTPUTF8 could deliver to {address}, which mailer does not "
                "use: sends will mark it failed)"
                if needs_smtputf8(address)
                else ""
            )
            if current is not None and current.status == Status.ACTIVE:
                message = f"{address} is already active on {lst.slug} (details updated)"
            else:
                store.set_subscription(session, lst.id, sub.id, Status.ACTIVE, "added by operator")
                message = f"{address} is now active on {lst.slug}"
                if rendered is not None and welcome_mail.queue_welcome(
                    session, settings, lst, sub, rendered
                ):
                    message += "; welcome mail queued"
            message += warning
            log.record(session, address, "added", actor=actor, list_slug=lst.slug, detail=message)
            return message
    outcome = subscribe(db, settings, list_slug, address, source=source, double_opt_in=True)
    assert outcome is SubscribeOutcome.CONFIRMATION_SENT
    with db.session() as session:
        current = store.get_subscription(session, lst.id, sub.id)
        if current is not None and current.status == Status.ACTIVE:
            message = f"{address} is already active on {lst.slug}"
        else:
            minutes = settings.lists.confirm_resend_minutes
            message = (
                f"confirmation queued for {address} for {lst.slug} (at most one per {minutes} "
                "min; the worker sends it)"
            )
        log.record(
            session,
            address,
            "confirmation requested",
            actor=actor,
            list_slug=lst.slug,
            detail=message,
        )
    return message


@dataclass(frozen=True)
class Profile:
    """Everything stored about one address."""

    email: str
    subscriber: Subscriber | None
    subscriptions: list[tuple[MailingList, Subscription]]
    suppression: Suppression | None


def show(db: Database, email: str) -> Profile:
    """What we hold about an address; ``NotFoundError`` if nothing at all."""
    address = email.strip()
    with db.session() as session:
        sub = store.find_subscriber(session, address)
        supp = store.get_suppression(session, address)
        if sub is None and supp is None:
            raise NotFoundError(f"no subscriber {address}")
        subs = store.subscriptions_of(session, sub.id) if sub is not None else []
        return Profile(address, sub, subs, supp)


def find(db: Database, query: str, limit: int = 50) -> list[Subscriber]:
    """Subscribers whose address or name contains ``query``."""
    with db.session() as session:
        return store.search_subscribers(session, query, limit)


def unsubscribe(
    db: Database, email: str, list_slug: str | None, reason: str, actor: str = "cli"
) -> int:
    """Unsubscribe an address from one list (or all when ``list_slug`` is None)."""
    digest = email_hash(email)
    with db.session() as session:
        if store.find_subscriber_by_hash(session, digest) is None:
            raise NotFoundError(f"no subscriber {email.strip()}")
        if list_slug is None:
            changed = store.unsubscribe_all(session, digest, reason)
        else:
            changed = int(store.unsubscribe(session, list_slug, digest, reason))
        if changed:
            log.record_hash(
                session, digest, "unsubscribed", actor=actor, list_slug=list_slug, detail=reason
            )
        return changed


def suppress(db: Database, email: str, detail: str = "", actor: str = "cli") -> bool:
    """Suppress an address by hand; True if it was not suppressed yet."""
    address = email.strip()
    if "@" not in address:
        raise ConflictError(f"{address!r} is not an email address")
    with db.session() as session:
        changed = store.suppress(session, address, SuppressionReason.MANUAL, detail)
        if changed:
            log.record(session, address, "suppressed", actor=actor, detail=detail)
        return changed


def unsuppress(db: Database, email: str, actor: str = "cli") -> bool:
    """Lift a suppression; True if there was one. Forgotten addresses stay suppressed."""
    with db.session() as session:
        changed = store.unsuppress(session, email)
        if changed:
            log.record(session, email, "unsuppressed", actor=actor)
        return changed


def forget(db: Database, email: str, actor: str = "cli") -> bool:
    """Erase a person's data, keeping only the address hash as a suppression.

    Their history goes too; one line (no personal data) records the erasure.
    So does the address in past sends, feedback events and queued mail
    (``erasure``); the reports keep their counts.
    """
    with db.session() as session:
        digest = email_hash(email)
        person = store.find_subscriber_by_hash(session, digest)
        traces = erase_traces(session, email, digest, person.id if person else None)
        existed = store.forget(session, email) or traces > 0
        log.erase(session, digest)
        log.record_hash(session, digest, "forgotten", actor=actor, detail="erased on request")
        return existed


MAX_NAME = 200
MAX_ATTRIBUTE_KEY = 100


def edit(
    db: Database, email: str, *, name: str, attributes: dict[str, str], actor: str = "cli"
) -> bool:
    """Set a subscriber's name and replace their attributes; True if anything changed.

    ``ValidationError`` names the field at fault (a name over 200 characters,
    an attribute key that is empty or over 100).
    """
    problems = []
    if len(name) > MAX_NAME:
        problems.append(Problem(email, "name", f"longer than {MAX_NAME} characters"))
    for key in attributes:
        if not key.strip() or len(key) > MAX_ATTRIBUTE_KEY:
            problems.append(
                Problem(email, "attributes", f"key {key!r}: 1 to {MAX_ATTRIBUTE_KEY} characters")
            )
    if problems:
        raise ValidationError(problems)
    with db.session() as session:
        sub = store.find_subscriber(session, email)
        if sub is None:
            raise NotFoundError(f"no subscriber {email.strip()}")
        changed = []
        if sub.name != name:
            sub.name = name
            changed.append("name")
        if (sub.attributes or {}) != attributes:
            before = sub.attributes or {}
            keys = sorted(
                set(before) ^ set(attributes)
                | {k for k in attributes if before.get(k) != attributes[k]}
            )
            sub.attributes = dict(attributes)
            changed.append("attributes " + ", ".join(keys))
        if not changed:
            return False
        sub.updated_at = utcnow()
        log.record(session, email, "edited", actor=actor, detail="; ".join(changed))
        return True


def history(db: Database, email: str) -> list[log.HistoryLine]:
    """What was done to an address, newest first."""
    with db.session() as session:
        return log.history_of(session, email)


def mail_history(db: Database, email: str) -> tuple[list[log.Delivery], list[log.EventLine]]:
    """The messages sent to ``email`` and the feedback events about it, newest first."""
    with db.session() as session:
        return log.deliveries_of(session, email), log.events_of(session, email)


def _iso(when: datetime | None) -> str | None:
    return when.isoformat(timespec="seconds") + "Z" if when else None


def export_data(db: Database, email: str, actor: str = "cli") -> dict[str, Any]:
    """Everything held about an address, as JSON-ready data (a privacy request's answer).

    The export itself is recorded in the person's history.
    """
    profile = show(db, email)
    deliveries, events = mail_history(db, email)
    with db.session() as session:
        log.record(session, email, "data exported", actor=actor)
        lines = log.history_of(session, email, limit=10_000)
    sub = profile.subscriber
    supp = profile.suppression
    return {
        "email": sub.email if sub is not None else None,
        "name": sub.name if sub is not None else None,
        "attributes": (sub.attributes or {}) if sub is not None else {},
        "source": sub.source if sub is not None else None,
        "created_at": _iso(sub.created_at) if sub is not None else None,
        "subscriptions": [
            {
                "list": lst.slug,
                "list_name": lst.name,
                "status": subscription.status,
                "status_reason": subscription.status_reason,
                "status_changed_at": _iso(subscription.status_changed_at),
                "subscribed_at": _iso(subscription.created_at),
            }
            for lst, subscription in profile.subscriptions
        ],
        "suppression": None
        if supp is None
        else {"reason": supp.reason, "detail": supp.detail, "since": _iso(supp.created_at)},
        "messages": [
            {
                "send": d.send_id,
                "issue": d.issue_slug,
                "list": d.list_slug,
                "subject": d.subject,
                "status": d.status,
                "sent_at": _iso(d.sent_at),
                "delivered_at": _iso(d.delivered_at),
                "bounced_at": _iso(d.bounced_at),
                "complained_at": _iso(d.complained_at),
                "unsubscribed_at": _iso(d.unsubscribed_at),
                "opens": d.opens,
                "clicks": d.clicks,
            }
            for d in deliveries
        ],
        "feedback_events": [
            {"at": _iso(e.occurred_at), "type": e.event_type, "detail": e.detail} for e in events
        ],
        "history": [
            {
                "at": _iso(h.at),
                "action": h.action,
                "list": h.list_slug,
                "detail": h.detail,
                "by": h.actor,
            }
            for h in lines
        ],
    }
