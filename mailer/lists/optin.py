"""Subscribing, double opt-in confirmation and unsubscribing by link.

These are what the web app calls; ``unsubscribe_by_token`` is the one
unsubscribe a reader makes, and it credits the send that brought the message.
Two privacy rules shape them: the outcome a visitor sees never reveals whether
an address was already on the list, unsubscribed or suppressed; and nobody but
the address owner can turn an unsubscribed or suppressed address back on. A
subscribe form post for an unsubscribed address therefore only sends a
confirmation (even on single opt-in lists); the owner clicking it is the new
explicit subscribe.

The form itself only queues a request (``request_subscribe``): the worker
handles it and delivers the confirmation, so the form does the same work for
every address and keeps answering while the mail server is down.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from mailer import links
from mailer.clock import utcnow
from mailer.config import Settings
from mailer.db import Database
from mailer.db import subscribers as store
from mailer.db.mailqueue import Claimed
from mailer.db.models import MailingList
from mailer.deliver import queue
from mailer.errors import InvalidToken, NotFoundError
from mailer.lists import welcome
from mailer.lists.addresses import email_hash, normalise_email
from mailer.status import SubscriptionStatus as Status

log = logging.getLogger(__name__)

# "Unsubscribed by mistake?" undoes an unsubscribe at once only this soon after
# it: later, the link (which never expires, and may have been forwarded) only
# gets the owner a confirmation email.
RESUBSCRIBE_WINDOW = timedelta(hours=1)


class SubscribeOutcome(StrEnum):
    """What the subscribe page may tell the visitor; nothing more."""

    CONFIRMATION_SENT = "confirmation_sent"  # "check your inbox"
    SUBSCRIBED = "subscribed"  # single opt-in: "you are subscribed"


@dataclass(frozen=True)
class ConfirmResult:
    list_slug: str
    list_name: str
    already: bool  # the subscription was active before this click


@dataclass(frozen=True)
class UnsubscribeResult:
    list_slug: str
    list_name: str
    changed: bool  # False: was not subscribed (already unsubscribed, forgotten…)
    confirming: bool = False  # a confirmation was needed (and queued) instead


def subscribe(
    db: Database,
    settings: Settings,
    list_slug: str,
    email: str,
    name: str = "",
    attributes: dict[str, Any] | None = None,
    source: str = "web",
    *,
    double_opt_in: bool | None = None,
) -> SubscribeOutcome:
    """Subscribe ``email`` to a list at once (operators' commands, the worker).

    Double opt-in lists (or ``double_opt_in=True``) record an unconfirmed
    subscription and queue a confirmation email for the worker, at most one
    per address per ``lists.confirm_resend_minutes``. Single opt-in lists
    activate at once. Raises ``InvalidEmail`` for a bad address and
    ``NotFoundError`` for an unknown list; every other case returns the same
    outcome for the list's mode, whatever the address's history. The web form
    calls ``request_subscribe`` instead.
    """
    address = normalise_email(email, check_deliverability=settings.lists.check_deliverability)
    with db.session() as session:
        return _subscribe(
            session, settings, list_slug, address, name, attributes, source, double_opt_in
        )


def request_subscribe(
    db: Database, settings: Settings, list_slug: str, email: str, name: str = ""
) -> SubscribeOutcome:
    """What the sign-up form does: check the address, queue the request, nothing else.

    The same single insert whatever the address's history, so neither the
    answer nor its timing tells whether the address was on the list; the
    worker handles the request (``handle_subscribe_request``). Raises
    ``InvalidEmail`` and ``NotFoundError`` like ``subscribe``.
    """
    address = normalise_email(email, check_deliverability=settings.lists.check_deliverability)
    with db.session() as session:
        lst = store.get_list(session, list_slug)
        queue.enqueue_request(
            session,
            kind="subscribe",
            to=address,
            to_name=name,
            list_id=lst.id,
            data={"list": lst.slug, "source": "web"},
        )
        return (
            SubscribeOutcome.CONFIRMATION_SENT if lst.double_opt_in else SubscribeOutcome.SUBSCRIBED
        )


def confirm_lists(
    db: Database, settings: Settings, email_hash_: str, list_slugs: list[str]
) -> list[str]:
    """Queue confirmations for the lists someone ticked on their preferences page.

    Returns the names of the lists now awaiting confirmation. Nothing is
    activated here: the address owner clicks the link (the usual resend
    window and suppression rules apply).
    """
    names: list[str] = []
    with db.session() as session:
        sub = store.find_subscriber_by_hash(session, email_hash_)
        if sub is None:
            return names
        for slug in list_slugs:
            try:
                _subscribe(session, settings, slug, sub.email, "", None, "preferences", True)
            except NotFoundError:
                continue
            names.append(store.get_list(session, slug).name)
    return names


def handle_subscribe_request(session: Session, settings: Settings, row: Claimed) -> None:
    """The worker's side of ``request_subscribe`` (a ``queue.RequestHandler``)."""
    slug = str(row.data.get("list", ""))
    source = str(row.data.get("source", "web"))
    try:
        _subscribe(session, settings, slug, row.to_email, row.to_name, None, source, None)
    except NotFoundError:
        log.info("subscribe request for list %r dropped: the list is gone", slug)


def _subscribe(
    session: Session,
    settings: Settings,
    list_slug: str,
    address: str,
    name: str,
    attributes: dict[str, Any] | None,
    source: str,
    double_opt_in: bool | None,
) -> SubscribeOutcome:
    now = utcnow()
    window = timedelta(minutes=settings.lists.confirm_resend_minutes)
    lst = store.get_list(session, list_slug)
    confirm = lst.double_opt_in if double_opt_in is None else double_opt_in
    quiet = SubscribeOutcome.CONFIRMATION_SENT if confirm else SubscribeOutcome.SUBSCRIBED
    if store.is_suppressed(session, address):
        log.info("subscribe to %s refused: address suppressed", lst.slug)
        return quiet
    # A form never overwrites what we know about an existing person: anyone
    # can type anyone's address.
    sub = store.find_subscriber(session, address)
    if sub is None:
        sub = store.upsert_subscriber(
            session, address, name=name, attributes=attributes, source=source
        )
    current = store.get_subscription(session, lst.id, sub.id)
    if current is not None and current.status == Status.ACTIVE:
        return quiet
    if not confirm and current is None:
        store.set_subscription(session, lst.id, sub.id, Status.ACTIVE, f"subscribed ({source})")
        welcome.queue_welcome(session, settings, lst, sub)
        return SubscribeOutcome.SUBSCRIBED
    if not store.claim_confirmation(session, lst.id, sub.id, now, window):
        log.info("confirmation to %s not resent: sent less than %s ago", lst.slug, window)
        return quiet
    enqueue_confirmation(session, settings, lst, address, sub.id)
    return quiet


def enqueue_confirmation(
    session: Session, settings: Settings, lst: MailingList, address: str, subscriber_id: int
) -> int:
    """Compose the confirmation email with the issue pipeline and queue it for the worker."""
    # Imported here: composing pulls in the MJML/premailer stack, which the
    # rest of this module (and the web app's unsubscribe path) does not need.
    from mailer.compose import render_system_email

    token = links.make_confirm_token(settings, lst.slug, email_hash(address))
    subject, html, text = render_system_email(
        "confirm",
        lst.language,
        {"list_name": lst.name, "confirm_url": links.confirm_url(settings, token)},
        settings,
    )
    return queue.enqueue(
        session,
        kind="confirm",
        to=address,
        from_name=lst.from_name,
        from_email=lst.from_email,
        reply_to=lst.reply_to,
        subject=subject,
        html=html,
        text=text,
        subscriber_id=subscriber_id,
        list_id=lst.id,
    )


def confirm(db: Database, settings: Settings, token: str) -> ConfirmResult:
    """Activate the subscription a confirmation link stands for.

    Raises ``InvalidToken`` for a forged, damaged or expired link, and for
    one that no longer applies: the person was forgotten or suppressed, or
    unsubscribed after the link was sent.
    """
    data = links.read_confirm_token(settings, token)
    gone = InvalidToken("This confirmation link is no longer valid. Please subscribe again.")
    with db.session() as session:
        try:
            lst = store.get_list(session, data.list_slug)
        except NotFoundError:
            raise gone from None
        sub = store.find_subscriber_by_hash(session, data.email_hash)
        if sub is None or store.is_suppressed(session, sub.email):
            raise gone
        current = store.get_subscription(session, lst.id, sub.id)
        if current is None:
            raise gone
        if current.status == Status.ACTIVE:
            return ConfirmResult(lst.slug, lst.name, already=True)
        if current.status == Status.UNSUBSCRIBED and (
            current.confirm_sent_at is None or current.confirm_sent_at < current.status_changed_at
        ):
            raise gone
        store.set_subscription(session, lst.id, sub.id, Status.ACTIVE, "confirmed")
        # In the same transaction: confirmed and welcome queued, or neither.
        welcome.queue_welcome(session, settings, lst, sub)
        return ConfirmResult(lst.slug, lst.name, already=False)


def unsubscribe_by_token(
    db: Database, token: links.ListToken, reason: str = "unsubscribe link"
) -> bool:
    """Unsubscribe the address a signed link names from its list (idempotent).

    The one unsubscribe a reader makes (the unsubscribe page, RFC 8058
    one-click): it also credits the send that brought the message, so the
    send's report counts the unsubscribe. True if the subscription changed;
    an unknown address changes nothing. The caller verifies the token
    (``links.read_token``). Raises ``NotFoundError`` only when the list itself
    no longer exists.
    """
    # A quick session: on PostgreSQL the store makes this one statement
    # outside a transaction, which the one-click endpoint under load needs.
    with db.quick_session() as session:
        return store.unsubscribe_link(session, token.list_slug, token.email_hash, reason, utcnow())


def resubscribe_by_token(
    db: Database, token: links.ListToken, settings: Settings | None = None
) -> UnsubscribeResult:
    """Undo an unsubscribe from the same signed link ("I clicked by mistake").

    Within ``RESUBSCRIBE_WINDOW`` of the unsubscribe, only the holder of the
    link (the address owner, a moment ago) can do this, so it counts as an
    explicit subscribe. Later, the link may be old or forwarded: with
    ``settings`` a confirmation is queued instead (``confirming=True``). A
    suppressed or forgotten address stays off. ``changed=False`` when nothing
    was reactivated.
    """
    with db.session() as session:
        lst = store.get_list(session, token.list_slug)
        sub = store.find_subscriber_by_hash(session, token.email_hash)
        if sub is None or store.is_suppressed(session, sub.email):
            return UnsubscribeResult(lst.slug, lst.name, False)
        current = store.get_subscription(session, lst.id, sub.id)
        if current is None or current.status != Status.UNSUBSCRIBED:
            return UnsubscribeResult(lst.slug, lst.name, False)
        if current.status_changed_at < utcnow() - RESUBSCRIBE_WINDOW:
            if settings is not None:
                _subscribe(session, settings, lst.slug, sub.email, "", None, "resubscribe", True)
            return UnsubscribeResult(lst.slug, lst.name, False, confirming=True)
        store.set_subscription(session, lst.id, sub.id, Status.ACTIVE, "resubscribed by link")
        return UnsubscribeResult(lst.slug, lst.name, True)


def subscription_status(db: Database, token: links.ListToken) -> str | None:
    """The status of the subscription a link names ("active"…), or None if there is none."""
    with db.session() as session:
        lst = store.get_list(session, token.list_slug)
        sub = store.find_subscriber_by_hash(session, token.email_hash)
        if sub is None:
            return None
        current = store.get_subscription(session, lst.id, sub.id)
        return None if current is None else current.status
