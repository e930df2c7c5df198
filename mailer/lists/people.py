"""The operator's actions on one subscriber: ``mailer subscribers add|show|…``.

Unlike the sign-up form, these act on the operator's word, with two limits: an
address that unsubscribed is not put back on a list (only its owner can do
that, through a confirmation), and a suppressed one is not activated until the
operator lifts the suppression.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mailer.config import Settings
from mailer.db import Database
from mailer.db import subscribers as store
from mailer.db.models import MailingList, Subscriber, Subscription, Suppression, SuppressionReason
from mailer.db.models import SubscriptionStatus as Status
from mailer.errors import ConflictError, MailerError, NotFoundError
from mailer.headertext import MAX_DISPLAY_NAME, one_line_problem
from mailer.lists import welcome as welcome_mail
from mailer.lists.addresses import needs_smtputf8, normalise_email
from mailer.lists.optin import SubscribeOutcome, subscribe


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
                f"{address} is suppressed ({supp.reason}); it is never mailed"
                + (
                    ""
                    if supp.reason == SuppressionReason.FORGOTTEN
                    else " (`mailer subscribers unsuppress` lifts that)"
                )
            )
        existing = store.find_subscriber(session, address)
        current = (
            store.get_subscription(session, lst.id, existing.id) if existing is not None else None
        )
        if not send_confirmation and current is not None and current.status == Status.UNSUBSCRIBED:
            raise ConflictError(
                f"{address} unsubscribed from {lst.slug} on "
                f"{current.status_changed_at:%Y-%m-%d} ({current.status_reason}); only they "
                "can subscribe again: use --send-confirmation to mail them a confirmation link"
            )
        sub = store.upsert_subscriber(
            session, address, name=name, attributes=attributes, source="cli"
        )
        if not send_confirmation:
            warning = (
                f" (warning: only SMTPUTF8 could deliver to {address}, which mailer does not "
                "use: sends will mark it failed)"
                if needs_smtputf8(address)
                else ""
            )
            if current is not None and current.status == Status.ACTIVE:
                return f"{address} is already active on {lst.slug} (details updated){warning}"
            store.set_subscription(session, lst.id, sub.id, Status.ACTIVE, "added by operator")
            if rendered is not None and welcome_mail.queue_welcome(
                session, settings, lst, sub, rendered
            ):
                return f"{address} is now active on {lst.slug}; welcome mail queued{warning}"
            return f"{address} is now active on {lst.slug}{warning}"
    outcome = subscribe(db, settings, list_slug, address, source="cli", double_opt_in=True)
    assert outcome is SubscribeOutcome.CONFIRMATION_SENT
    with db.session() as session:
        current = store.get_subscription(session, lst.id, sub.id)
    if current is not None and current.status == Status.ACTIVE:
        return f"{address} is already active on {lst.slug}"
    minutes = settings.lists.confirm_resend_minutes
    return (
        f"confirmation queued for {address} for {lst.slug} (at most one per {minutes} min; "
        "`mailer worker` delivers it)"
    )


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


def unsubscribe(db: Database, email: str, list_slug: str | None, reason: str) -> int:
    """Unsubscribe an address from one list (or all when ``list_slug`` is None)."""
    from mailer.db import email_hash

    digest = email_hash(email)
    with db.session() as session:
        if store.find_subscriber_by_hash(session, digest) is None:
            raise NotFoundError(f"no subscriber {email.strip()}")
        if list_slug is None:
            return store.unsubscribe_all(session, digest, reason)
        return int(store.unsubscribe(session, list_slug, digest, reason))


def suppress(db: Database, email: str, detail: str = "") -> bool:
    """Suppress an address by hand; True if it was not suppressed yet."""
    address = email.strip()
    if "@" not in address:
        raise ConflictError(f"{address!r} is not an email address")
    with db.session() as session:
        return store.suppress(session, address, SuppressionReason.MANUAL, detail)


def unsuppress(db: Database, email: str) -> bool:
    """Lift a suppression; True if there was one. Forgotten addresses stay suppressed."""
    with db.session() as session:
        return store.unsuppress(session, email)


def forget(db: Database, email: str) -> bool:
    """Erase a person's data, keeping only the address hash as a suppression."""
    with db.session() as session:
        return store.forget(session, email)
