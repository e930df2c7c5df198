"""Migration 0004 gives sends made before snapshots their published web version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from mailer.config import Settings
from mailer.db import Database

SAMPLE = "ai2x-briefing-2026-01-12"
SUBJECT = "AI to everything in China: drones, factories, chips, cancer care and coal"


def test_existing_sends_get_a_snapshot(db_url: str, settings: Settings) -> None:
    database = Database(db_url)
    database.upgrade("0001")
    now = datetime(2026, 1, 12, 8, 0)
    html = (
        '<a href="%%web_url%%">web</a> Hi %%subscriber.name%% <a href="%%unsubscribe_url%%">u</a>'
    )
    with database.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO lists (id, slug, name, description, from_name, from_email, reply_to,"
                " language, template, double_opt_in, postal_address, created_at, updated_at)"
                " VALUES (1, 'news', 'News', '', 'News', 'n@example.org', '', 'en', 'default',"
                " false, '', :now, :now)"
            ),
            {"now": now},
        )
        for send_id, slug, subject in (
            (1, SAMPLE, SUBJECT),  # files still there and unchanged
            (2, "gone-issue", "A gone issue"),  # files deleted since
            (3, SAMPLE, "An older subject"),  # files changed since: keep what was mailed
        ):
            conn.execute(
                text(
                    "INSERT INTO sends (id, issue_slug, list_id, subject, status, status_reason,"
                    " created_at, started_at, html, text, total)"
                    " VALUES (:id, :slug, 1, :subject, 'done', '', :now, :now, :html, 't', 1)"
                ),
                {"id": send_id, "slug": slug, "subject": subject, "now": now, "html": html},
            )
    database.upgrade("head", settings=settings)
    with database.engine.connect() as conn:
        pages = conn.execute(text("SELECT send_id, path, body FROM send_pages")).all()
        frozen = conn.execute(text("SELECT id, frozen_at FROM sends ORDER BY id")).all()
    database.dispose()
    by_send: dict[int, dict[str, str]] = {}
    for send_id, path, body in pages:
        by_send.setdefault(send_id, {})[path] = body
    assert "large-models-to-act-as-traffic-lights-in/index.html" in by_send[1]
    assert "AI to everything in China" in by_send[1]["index.html"]
    for send_id in (2, 3):
        assert list(by_send[send_id]) == ["index.html"]
        page = by_send[send_id]["index.html"]
        assert "%%" not in page and "Hi " in page
        assert 'href="https://news.example.org/"' in page  # no personal unsubscribe link
    assert all(at is not None for _, at in frozen)
