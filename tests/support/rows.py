"""Database rows that many tests need, built with the models directly."""

from __future__ import annotations

from typing import Any

from mailer.clock import utcnow
from mailer.db.models import MailingList


def mailing_list(slug: str, **fields: Any) -> MailingList:
    """A list row named after ``slug`` (add it to a session yourself); ``fields`` override."""
    now = utcnow()
    values: dict[str, Any] = {
        "slug": slug,
        "name": slug.title(),
        "description": "",
        "from_name": "News",
        "from_email": "news@example.org",
        "reply_to": "",
        "language": "en",
        "template": "default",
        "double_opt_in": True,
        "postal_address": "",
        "created_at": now,
        "updated_at": now,
    }
    values.update(fields)
    return MailingList(**values)
