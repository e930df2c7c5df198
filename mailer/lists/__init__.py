"""The lists stage: list files, subscribers, opt-in, suppression, import and export.

- ``files``: ``lists/<slug>.toml`` parsing and ``mailer lists sync``.
- ``addresses``: email validation and normalisation.
- ``optin``: subscribe, confirm and unsubscribe-by-link (what the web app calls).
- ``people``: the operator's actions on one subscriber (``mailer subscribers …``).
- ``importer`` / ``exporter``: CSV in and out.

All SQL is in ``mailer.db.subscribers`` and ``mailer.db.imports``.
"""

from mailer.lists.addresses import InvalidEmail, normalise_email
from mailer.lists.optin import (
    ConfirmResult,
    SubscribeOutcome,
    UnsubscribeResult,
    confirm,
    confirm_lists,
    request_subscribe,
    resubscribe_by_token,
    subscribe,
    subscription_status,
    unsubscribe_by_token,
)

__all__ = [
    "ConfirmResult",
    "InvalidEmail",
    "SubscribeOutcome",
    "UnsubscribeResult",
    "confirm",
    "confirm_lists",
    "normalise_email",
    "request_subscribe",
    "resubscribe_by_token",
    "subscribe",
    "subscription_status",
    "unsubscribe_by_token",
]
