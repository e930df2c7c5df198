"""Operators: sends with live counts, pause/resume/cancel, the report, lists, subscribers."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta

import pytest
from starlette.testclient import TestClient

from mailer import links
from mailer.config import Settings
from mailer.db import Database
from mailer.lists.addresses import email_hash
from mailer.reports.activity import chart_unit
from mailer.web.charts import Panel, nice_max, timeline
from tests.support.web import (
    add_subscriber,
    admin_csrf,
    schedule_sample,
    send_sample,
    status_of,
)


def test_sends_page_and_progress_json(editor: TestClient, app_db: Database) -> None:
    add_subscriber(app_db, "a@example.org")
    send_id = schedule_sample(editor)
    page = editor.get("/admin/sends")
    assert page.status_code == 200
    assert f'data-send="{send_id}"' in page.text and "scheduled" in page.text
    data = editor.get("/admin/sends/progress.json").json()
    assert data["active"] is True
    [row] = data["sends"]
    assert row["id"] == send_id and row["status"] == "scheduled" and row["percent"] == 0


def test_scheduled_send_page(editor: TestClient, app_db: Database) -> None:
    add_subscriber(app_db, "a@example.org")
    add_subscriber(app_db, "b@example.org")
    send_id = schedule_sample(editor)
    page = editor.get(f"/admin/sends/{send_id}").text
    assert "Not started yet" in page
    # The site's timezone (Europe/Brussels), with its offset; not "0 of 0 handled".
    assert "due 2099-01-01 10:30 CET (UTC+01:00)" in page
    assert 'data-audience="2"' in page and "0 of 0" not in page
    assert 'data-figure="sent"' not in page  # no report before the send starts


def test_pause_resume_cancel(editor: TestClient, app_db: Database) -> None:
    send_id = schedule_sample(editor)
    token = admin_csrf(editor, f"/admin/sends/{send_id}")

    def act(action: str) -> str:
        r = editor.post(f"/admin/sends/{send_id}/{action}", data={"csrf_token": token})
        assert r.status_code == 303 and r.headers["location"] == f"/admin/sends/{send_id}"
        return editor.get(r.headers["location"]).text

    assert f"Send #{send_id} paused." in act("pause")
    assert editor.get(f"/admin/sends/{send_id}/progress.json").json()["status"] == "paused"
    assert f"Send #{send_id} resumed (scheduled)." in act("resume")
    assert f"Send #{send_id} cancelled" in act("cancel")
    # Which states refuse which action is tests/deliver's matrix; here, that a
    # refusal comes back to the send's page as an error.
    flash = (
        f'<p class="flash flash-error" role="status">send #{send_id} is cancelled, not paused</p>'
    )
    assert flash in act("resume")


def test_send_actions_refusals(editor: TestClient) -> None:
    token = admin_csrf(editor)
    assert editor.post("/admin/sends/999/pause", data={"csrf_token": token}).status_code == 404
    assert editor.post("/admin/sends/abc/pause", data={"csrf_token": token}).status_code == 404
    send_id = schedule_sample(editor)
    assert (
        editor.post(f"/admin/sends/{send_id}/explode", data={"csrf_token": token}).status_code
        == 404
    )
    assert (
        editor.post(f"/admin/sends/{send_id}/cancel", data={"csrf_token": "bad"}).status_code == 403
    )
    assert editor.get(f"/admin/sends/{send_id}/progress.json").json()["status"] == "scheduled"


def test_report_page_numbers_recipients_and_csv(
    editor: TestClient, db: Database, settings: Settings
) -> None:
    app_db = db
    for address in ("a@example.org", "b@example.org", "c@example.org"):
        add_subscriber(app_db, address)
    send_id = send_sample(settings, app_db)
    token = links.make_token(settings, "unsubscribe", "news", email_hash("b@example.org"))
    assert editor.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"}).status_code == 200

    page = editor.get(f"/admin/sends/{send_id}")
    assert page.status_code == 200
    figure = re.search(r'data-figure="unsubscribed".*?class="value">([^<]+)<', page.text, re.S)
    assert figure and figure.group(1) == "1"
    sent = re.search(r'data-figure="sent".*?class="value">([^<]+)<', page.text, re.S)
    assert sent and sent.group(1) == "3"
    assert "<svg" in page.text and 'class="s-unsubscribed"' in page.text
    assert "33.3% of sent" in page.text

    people = editor.get(f"/admin/sends/{send_id}/recipients?status=unsubscribed")
    assert "b@example.org" in people.text and "a@example.org" not in people.text

    r = editor.get(f"/admin/sends/{send_id}/report.csv")
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = {row[0]: row[1:] for row in csv.reader(io.StringIO(r.text))}
    assert any("nsubscribe" in k for k in rows)

    r = editor.get(f"/admin/sends/{send_id}/recipients.csv?status=sent")
    emails = [row["email"] for row in csv.DictReader(io.StringIO(r.text))]
    assert sorted(emails) == ["a@example.org", "b@example.org", "c@example.org"]

    assert editor.get(f"/admin/sends/{send_id}/recipients?status=nope").status_code == 404
    assert editor.get("/admin/sends/424242").status_code == 404


def test_lists_page_counts_and_health(
    editor: TestClient, app_db: Database, settings: Settings
) -> None:
    add_subscriber(app_db, "a@example.org")
    add_subscriber(app_db, "b@example.org")
    page = editor.get("/admin/lists")
    assert "no sends yet" in page.text
    send_sample(settings, app_db)
    page = editor.get("/admin/lists")
    assert page.status_code == 200
    row = page.text.split("The News List", 1)[1].split("</tr>", 1)[0]
    assert re.search(r'class="num"><strong>2</strong>', row)  # mailable
    assert "healthy" in row and "0.0% bounces" in row


def test_subscriber_search_history_suppress(
    editor: TestClient, app_db: Database, settings: Settings
) -> None:
    add_subscriber(app_db, "jane.doe@example.org", name="Jane Doe")
    send_sample(settings, app_db)
    found = editor.get("/admin/subscribers?q=jane")
    assert "jane.doe@example.org" in found.text
    assert "Nobody matches" in editor.get("/admin/subscribers?q=zzz").text

    page = editor.get("/admin/subscribers/show?email=jane.doe@example.org")
    assert page.status_code == 200
    assert "Jane Doe" in page.text and "The News List" in page.text
    assert "AI to everything in China" in page.text  # the message she got
    token = admin_csrf(editor, "/admin/subscribers/show?email=jane.doe@example.org")
    form = {"email": "jane.doe@example.org", "detail": "asked by phone", "csrf_token": token}
    asked = editor.post("/admin/subscribers/suppress", data=form)
    assert asked.status_code == 200 and "Suppress jane.doe@example.org everywhere?" in asked.text
    r = editor.post("/admin/subscribers/suppress", data={**form, "confirmed": "yes"})
    assert r.status_code == 303
    shown = editor.get(r.headers["location"]).text
    assert "is suppressed." in shown and "asked by phone" in shown and "Unsuppress" in shown
    r = editor.post(
        "/admin/subscribers/unsuppress",
        data={"email": "jane.doe@example.org", "csrf_token": token, "confirmed": "yes"},
    )
    shown = editor.get(r.headers["location"]).text
    assert "Suppression of jane.doe@example.org lifted." in shown
    assert status_of(app_db, "jane.doe@example.org") == "active"


def test_unknown_subscriber_is_404(editor: TestClient) -> None:
    r = editor.get("/admin/subscribers/show?email=ghost@example.org")
    assert r.status_code == 404 and "no subscriber ghost@example.org" in r.text


@pytest.mark.parametrize(
    ("minutes", "unit"), [(30, "minute"), (180, "minute"), (600, "hour"), (60 * 24 * 10, "day")]
)
def test_chart_unit(minutes: int, unit: str) -> None:
    start = datetime(2026, 1, 1)
    assert chart_unit(start, start + timedelta(minutes=minutes)) == unit


def test_grid_labels_sit_at_their_values() -> None:
    from mailer.web.charts import grid_steps

    for peak in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000):
        steps = grid_steps(peak)
        assert 1 <= steps <= 5
        assert peak % steps == 0, peak  # every label is exact, none rounded down


def test_nice_max() -> None:
    assert [nice_max(v) for v in (0, 1, 3, 7, 12, 150, 999)] == [1, 1, 5, 10, 20, 200, 1000]


def test_timeline_svg_positions_by_time() -> None:
    t0 = datetime(2026, 1, 1, 8)
    times = [t0, t0 + timedelta(hours=1), t0 + timedelta(hours=4)]
    svg = str(timeline(times, [Panel("Sent", {"sent": [10, 0, 10]})], "A <chart>"))
    assert svg.startswith("<svg") and "A &lt;chart&gt;" in svg
    points = re.search(r'class="s-sent" points="([^"]+)"', svg)
    assert points
    xs = [float(p.split(",")[0]) for p in points.group(1).split()]
    ys = [float(p.split(",")[1]) for p in points.group(1).split()]
    assert xs[1] - xs[0] == pytest.approx((xs[2] - xs[0]) / 4)  # 1 h of 4 h
    assert ys[0] > ys[2] and ys[1] == ys[0]  # cumulative: flat, then up
    assert "<title>sent: 20</title>" in svg
