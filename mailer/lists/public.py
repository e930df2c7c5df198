"""The lists as visitors see them: each list's public face, and a reader's preferences.

The public pages (sign-up, archive, feeds, preferences) may show a list's name,
description and language, nothing about its subscribers. The preferences link
only ever removes: adding a list takes a fresh confirmation (``optin``).
"""

from __future__ import annotations

from dataclasses import dataclass

from mailer.db import Database
from mailer.db import subscribers as store
from mailer.db.models import MailingList
from mailer.status import SubscriptionStatus


@dataclass(frozen=True)
class PublicList:
    """What a public page may show about a list."""

    slug: str
    name: str
    description: str
    language: str
    double_opt_in: bool


def public_list(db: Database, slug: str) -> PublicList:
    """The list ``slug`` as shown to visitors; ``NotFoundError`` if there is none."""
    with db.session() as session:
        return _public(store.get_list(session, slug))


def public_lists(db: Database) -> list[PublicList]:
    """Every list as shown to visitors, in slug order."""
    with db.session() as session:
        return [_public(lst) for lst in store.all_lists(session)]


def _public(lst: MailingList) -> PublicList:
    return PublicList(lst.slug, lst.name, lst.description, lst.language, lst.double_opt_in)


@dataclass(frozen=True)
class Choice:
    """One line of the preferences page: a list and whether the reader gets it."""

    list: PublicList
    subscribed: bool


def preferences(db: Database, email_hash: str) -> list[Choice]:
    """Every list, ticked where the address is subscribed (or awaiting confirmation)."""
    with db.session() as session:
        sub = store.find_subscriber_by_hash(session, email_hash)
        on: set[int] = set()
        if sub is not None:
            on = {
                lst.id
                for lst, subscription in store.subscriptions_of(session, sub.id)
                if subscription.status != SubscriptionStatus.UNSUBSCRIBED
            }
        return [Choice(_public(lst), lst.id in on) for lst in store.all_lists(session)]


def save_preferences(db: Database, email_hash: str, wanted: set[str]) -> list[str]:
    """Unsubscribe the address from the lists not in ``wanted``; return the ones to confirm.

    A preferences link never expires and travels with every forwarded
    newsletter, so it is trusted to remove, never to add: the slugs returned
    (ticked, not yet subscribed or awaiting confirmation) need a fresh
    confirmation, which the caller sends (``optin.confirm_lists``). A
    suppressed address (bounced, complained) gets none: unsubscribing still
    works, lifting the suppression is the operator's call. An address nobody
    knows (forgotten, or never subscribed) changes nothing. Each unsubscribe
    is credited to the send that brought the list's latest message, as an
    unsubscribe link's is.
    """
    to_confirm: list[str] = []
    with db.session() as session:
        sub = store.find_subscriber_by_hash(session, email_hash)
        if sub is None:
            return to_confirm
        suppressed = store.is_suppressed(session, sub.email)
        current = {
            lst.slug: subscription.status
            for lst, subscription in store.subscriptions_of(session, sub.id)
        }
        for lst in store.all_lists(session):
            status = current.get(lst.slug)
            if lst.slug in wanted:
                if status in (None, SubscriptionStatus.UNSUBSCRIBED) and not suppressed:
                    to_confirm.append(lst.slug)
            elif status not in (None, SubscriptionStatus.UNSUBSCRIBED) and store.unsubscribe(
                session, lst.id, sub, "preferences page"
            ):
                store.credit_unsubscribe(session, lst.id, sub.id)
    return to_confirm
