"""The web tests' kit: lists, subscribers and sends made directly, CSRF tokens, screenshots."""

from __future__ import annotations

import re
from typing import Any

from mailer.db import Database
from mailer.db import subscribers as store
from mailer.status import SubscriptionStatus
from tests.support.paths import ARTIFACTS, ROOT

PASSWORD = "correct horse battery"
SAMPLE = "ai2x-briefing-2026-01-12"
SHOTS = ARTIFACTS / "web"  # the browser tests' screenshots
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


def post_schedule(
    editor: Any,
    list_slug: str = "news",
    date: str = "2099-11-24",
    time: str = "08:00",
    timezone: str = "Europe/Brussels",
) -> Any:
    """Post the issue page's schedule form for the English sample; the response."""
    token = admin_csrf(editor, f"/admin/issues/{SAMPLE}")
    return editor.post(
        f"/admin/issues/{SAMPLE}/schedule",
        data={
            "list": list_slug,
            "date": date,
            "time": time,
            "timezone": timezone,
            "when": "later",
            "csrf_token": token,
        },
    )


def schedule_sample(editor: Any, list_slug: str = "news") -> int:
    """Schedule the English sample to ``list_slug`` for 2099 through the web form; its send id."""
    r = post_schedule(editor, list_slug, date="2099-01-01", time="09:30", timezone="UTC")
    return int(r.headers["location"].rsplit("/", 1)[1])


def shot(page: Any, name: str) -> None:
    """Save a full-page screenshot of ``page`` as ``test-artifacts/web/<name>.png``."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
