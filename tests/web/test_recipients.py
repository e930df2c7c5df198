"""A send's recipients page (paged, filtered, linked from every number) and issue states."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import pytest
from starlette.testclient import TestClient

from mailer.clock import local_time
from mailer.config import Settings
from mailer.db import Database
from mailer.web import report
from tests.support.web import SAMPLE, add_list, add_subscriber, admin_csrf, send_sample

READERS = [f"r{i}@example.org" for i in range(5)]


def _addresses(page: str) -> list[str]:
    return re.findall(r'<td data-label="Address"><a [^>]*>([^<]+)</a>', page)


@pytest.fixture
def sent(editor: TestClient, app_db: Database, settings: Settings) -> int:
    for address in READERS:
        add_subscriber(app_db, address)
    return send_sample(settings, app_db)


def test_recipients_page_pages_through_everyone(
    editor: TestClient, db: Database, sent: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report, "RECIPIENT_PAGE", 2)
    page = editor.get(f"/admin/sends/{sent}/recipients").text
    assert "<h1>Recipients</h1>" in page
    seen = _addresses(page)
    while (nxt := re.search(r'rel="next" href="([^"]+)"', page)) is not None:
        page = editor.get(
            f"/admin/sends/{sent}/recipients{nxt.group(1).replace('&amp;', '&')}"
        ).text
        seen += _addresses(page)
    assert sorted(seen) == READERS and len(seen) == len(set(seen))
    assert 'href="?">First page' in page


def test_recipients_status_filter_and_csv(editor: TestClient, sent: int, app_db: Database) -> None:
    token = admin_csrf(editor, f"/admin/sends/{sent}")
    from mailer.db import subscribers as store

    with app_db.session() as s:
        from mailer.db.models import Recipient

        rid = s.query(Recipient).filter_by(email="r1@example.org").one()
        assert rid.subscriber_id is not None
        store.credit_unsubscribe(s, 1, rid.subscriber_id)
    assert token
    page = editor.get(f"/admin/sends/{sent}/recipients?status=unsubscribed").text
    assert _addresses(page) == ["r1@example.org"]
    assert f'href="/admin/sends/{sent}/recipients.csv?status=unsubscribed"' in page
    assert _addresses(editor.get(f"/admin/sends/{sent}/recipients?status=sent").text) != []
    everyone = editor.get(f"/admin/sends/{sent}/recipients.csv")
    assert (
        everyone.status_code == 200
        and 'filename="send-1-all.csv"' in everyone.headers["content-disposition"]
    )
    rows = list(csv.DictReader(io.StringIO(everyone.text)))
    assert sorted(r["email"] for r in rows) == READERS
    one = list(
        csv.DictReader(
            io.StringIO(editor.get(f"/admin/sends/{sent}/recipients.csv?status=unsubscribed").text)
        )
    )
    assert [r["email"] for r in one] == ["r1@example.org"]


def test_every_number_on_the_report_links_to_its_people(editor: TestClient, sent: int) -> None:
    page = editor.get(f"/admin/sends/{sent}").text
    figures = re.findall(r'<(a|div) class="figure[^"]*" data-figure="(\w+)"', page)
    assert figures and all(tag == "a" for tag, _ in figures), figures
    assert f'href="/admin/sends/{sent}/recipients?status=recipients"' in page
    r = editor.get(f"/admin/sends/{sent}/recipients?status=recipients")
    assert sorted(_addresses(r.text)) == READERS


@pytest.mark.parametrize(
    ("query", "text"), [("status=bogus", "no recipient status"), ("after=x", "no page after")]
)
def test_recipients_refusals(editor: TestClient, sent: int, query: str, text: str) -> None:
    r = editor.get(f"/admin/sends/{sent}/recipients?{query}")
    assert r.status_code == 404 and text in r.text
    assert editor.get("/admin/sends/999/recipients").status_code == 404


def test_issues_table_shows_each_issues_state(
    editor: TestClient, app_db: Database, settings: Settings
) -> None:
    add_subscriber(app_db, "a@example.org")

    def state() -> str:
        page = editor.get("/admin/issues").text
        row = page[page.index(f'href="/admin/issues/{SAMPLE}"') :]
        found = re.search(r'data-state="(\w+)">(.*?)</div>', row, re.S)
        assert found
        return found.group(1) + " " + re.sub(r"<[^>]+>|\s+", " ", found.group(2)).strip()

    assert state() == "draft draft"
    token = admin_csrf(editor, f"/admin/issues/{SAMPLE}")
    r = editor.post(
        f"/admin/issues/{SAMPLE}/schedule",
        data={
            "list": "news",
            "date": "2099-01-01",
            "time": "09:30",
            "timezone": "UTC",
            "when": "later",
            "csrf_token": token,
        },
    )
    assert r.status_code == 303
    # Shown in the site's timezone with its offset, like every admin time.
    due = local_time(datetime(2099, 1, 1, 9, 30), settings.site.timezone)
    assert due.startswith("2099-01-01 10:30 CET")
    assert re.sub(r"\s+", " ", state()) == f"scheduled scheduled to news, {due}"
    add_list(app_db, "team")
    add_subscriber(app_db, "t@example.org", "team")
    send_sample(settings, app_db, "team")
    shown = re.sub(r"\s+", " ", state())
    assert shown == f"sent sent to team scheduled to news, {due}"
    page = editor.get("/admin/issues").text
    assert '<time datetime="2099-01-01T09:30:00Z">' in page
