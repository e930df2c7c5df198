"""Helpers for the web tests (a uniquely named module: test folders have no packages)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from mailer.db import Database
from mailer.db import subscribers as store
from mailer.status import SubscriptionStatus

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.conftest import need  # noqa: E402

__all__ = ["need"]

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_list(
    db: Database, slug: str = "news", *, double_opt_in: bool = True, name: str = ""
) -> None:
    with db.session() as s:
        store.upsert_list(
            s,
            slug,
            {
                "name": name or f"The {slug.title()} List",
                "description": f"All about {slug}.",
                "from_name": "Example News",
                "from_email": "news@example.org",
                "reply_to": "",
                "language": "en",
                "template": "default",
                "double_opt_in": double_opt_in,
                "postal_address": "Example Media, Street 1, 1000 Brussels",
            },
        )


def add_subscriber(db: Database, email: str, list_slug: str = "news", name: str = "") -> None:
    with db.session() as s:
        lst = store.get_list(s, list_slug)
        sub = store.upsert_subscriber(s, email, name=name, attributes={}, source="test")
        store.set_subscription(s, lst.id, sub.id, SubscriptionStatus.ACTIVE, "test")


def status_of(db: Database, email: str, list_slug: str = "news") -> str | None:
    with db.session() as s:
        lst = store.get_list(s, list_slug)
        sub = store.find_subscriber(s, email)
        if sub is None:
            return None
        found = store.get_subscription(s, lst.id, sub.id)
        return None if found is None else found.status


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = CSRF_RE.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def admin_csrf(client: Any, path: str = "/admin/subscribers") -> str:
    return csrf_of(client.get(path).text)


SAMPLE = "ai2x-briefing-2026-01-12"


def send_sample(settings: Any, db: Database, list_slug: str = "news") -> int:
    """Send the English sample to ``list_slug`` now, through the worker; return the send id."""
    from mailer.compose import compose_issue
    from mailer.content import load_issue
    from mailer.deliver.sends import create_send
    from mailer.deliver.worker import Worker

    issue = load_issue(ROOT / "issues" / SAMPLE, settings)
    send = create_send(settings, db, compose_issue(issue, settings), list_slug)
    Worker(settings, db).run(once=True)
    return int(send.id)
