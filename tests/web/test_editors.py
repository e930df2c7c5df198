"""Editors: the issues list, the preview and its frames, test sends and scheduling."""

from __future__ import annotations

import email
import os
import re
import time
from email import policy
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mailer.config import Settings
from mailer.db import Database
from tests.support.paths import ROOT
from tests.support.web import admin_csrf

SAMPLE = "ai2x-briefing-2026-01-12"


def test_issues_list_shows_check_status(editor: TestClient) -> None:
    r = editor.get("/admin/issues")
    assert r.status_code == 200
    for folder in (ROOT / "issues").iterdir():
        if (folder / "issue.toml").is_file():
            assert f'href="/admin/issues/{folder.name}"' in r.text
    assert r.text.count("badge-ok") >= 3


def test_issues_list_reports_problems(editor: TestClient, own_issues: Path) -> None:
    toml = own_issues / SAMPLE / "issue.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("title =", "titel ="), "utf-8")
    r = editor.get("/admin/issues")
    assert "badge-error" in r.text
    assert "title: is required" in r.text


def test_preview_page(editor: TestClient) -> None:
    r = editor.get(f"/admin/issues/{SAMPLE}")
    assert r.status_code == 200
    assert "AI to everything in China" in r.text  # subject in the inbox row
    assert "AI-enhanced CT scans" in r.text  # preheader
    assert 'id="frame-desktop"' in r.text and 'id="frame-mobile"' in r.text
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in r.text
    assert "No lint findings" in r.text
    assert 'action="/admin/issues/' + SAMPLE + '/schedule"' in r.text
    assert 'value="Europe/Brussels" selected' in r.text


def test_preview_shows_lint_findings(editor: TestClient, own_issues: Path) -> None:
    toml = own_issues / SAMPLE / "issue.toml"
    text = toml.read_text(encoding="utf-8")
    text = text.replace(
        'file = "stories/traffic-lights-in-the-sky.md"',
        'file = "stories/traffic-lights-in-the-sky.md"\nurl = "http://example.org/drones"',
    )
    toml.write_text(text, "utf-8")
    r = editor.get(f"/admin/issues/{SAMPLE}")
    assert "insecure-link" in r.text and "is not https" in r.text


def test_preview_frame_is_the_email_with_sample_values(editor: TestClient) -> None:
    r = editor.get(f"/admin/issues/{SAMPLE}/frame")
    assert r.status_code == 200
    assert r.headers["x-frame-options"] == "SAMEORIGIN"
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'self'" in csp and "script-src" not in csp
    assert "%%" not in r.text  # every placeholder filled
    assert "#unsubscribe" in r.text
    assert '<base target="_blank">' in r.text


def test_dark_frame_applies_dark_rules(editor: TestClient) -> None:
    light = editor.get(f"/admin/issues/{SAMPLE}/frame").text
    dark = editor.get(f"/admin/issues/{SAMPLE}/frame?dark=1").text
    assert "prefers-color-scheme" in light
    assert "color-scheme:dark" in dark
    assert not re.search(r"@media[^{]*prefers-color-scheme\s*:\s*dark", dark)


def test_text_view(editor: TestClient) -> None:
    r = editor.get(f"/admin/issues/{SAMPLE}?view=text")
    assert r.status_code == 200
    text = r.text.split('id="text-part">', 1)[1].split("</pre>", 1)[0]
    assert "Read more" in text or "read more" in text.lower()
    assert "<table" not in text and "%%" not in text


def test_state_changes_when_a_file_changes(editor: TestClient, own_issues: Path) -> None:
    first = editor.get(f"/admin/issues/{SAMPLE}/state.json").json()["fingerprint"]
    assert editor.get(f"/admin/issues/{SAMPLE}/state.json").json()["fingerprint"] == first
    toml = own_issues / SAMPLE / "issue.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace("AI to everything", "AI into everything"), "utf-8"
    )
    later = time.time() + 5
    os.utime(toml, (later, later))
    second = editor.get(f"/admin/issues/{SAMPLE}/state.json").json()["fingerprint"]
    assert second != first
    assert "AI into everything" in editor.get(f"/admin/issues/{SAMPLE}").text


def test_preview_of_broken_issue_lists_problems(editor: TestClient, own_issues: Path) -> None:
    toml = own_issues / SAMPLE / "issue.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("title =", "titel ="), "utf-8")
    r = editor.get(f"/admin/issues/{SAMPLE}")
    assert r.status_code == 200
    assert "problem" in r.text and "titel" in r.text
    assert 'id="frame-desktop"' not in r.text
    assert "data-state-url" in r.text  # still polls, so it reloads once fixed


@pytest.mark.parametrize("slug", ["nope", "..%2F..%2Fetc", ".hidden", "a b"])
def test_unknown_or_unsafe_issue_is_404(editor: TestClient, slug: str) -> None:
    assert editor.get(f"/admin/issues/{slug}").status_code == 404
    assert editor.get(f"/admin/issues/{slug}/frame").status_code == 404


def _outbox(settings: Settings) -> list[Path]:
    folder = settings.path(settings.delivery.outbox_dir)
    return sorted(folder.rglob("*.eml")) if folder.exists() else []


def test_send_test_copy(editor: TestClient, settings: Settings) -> None:
    token = admin_csrf(editor, f"/admin/issues/{SAMPLE}")
    r = editor.post(
        f"/admin/issues/{SAMPLE}/test",
        data={
            "addresses": "ed@example.org, chief@example.org",
            "list": "news",
            "csrf_token": token,
        },
    )
    assert r.status_code == 303
    page = editor.get(r.headers["location"]).text
    assert "Test copy sent to 2 addresses." in page
    files = _outbox(settings)
    assert len(files) == 2
    msg = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert msg["Subject"].startswith("[TEST] ")


def test_send_test_refuses_bad_address(editor: TestClient, settings: Settings) -> None:
    token = admin_csrf(editor, f"/admin/issues/{SAMPLE}")
    r = editor.post(
        f"/admin/issues/{SAMPLE}/test",
        data={"addresses": "not-an-address", "csrf_token": token},
    )
    page = editor.get(r.headers["location"]).text
    assert "Test not sent" in page and "not-an-address" in page
    assert _outbox(settings) == []


def test_schedule_a_send(editor: TestClient, app_db: Database) -> None:
    token = admin_csrf(editor, f"/admin/issues/{SAMPLE}")
    form = {
        "list": "news",
        "date": "2099-11-24",
        "time": "08:00",
        "timezone": "Europe/Brussels",
        "when": "later",
        "csrf_token": token,
    }
    r = editor.post(f"/admin/issues/{SAMPLE}/schedule", data=form)
    assert r.status_code == 303 and re.fullmatch(r"/admin/sends/\d+", r.headers["location"])
    from mailer.deliver import overview as store

    [row] = store.sends_overview(app_db)
    assert row.status == "scheduled" and row.list_slug == "news"
    assert row.scheduled_at is not None and row.scheduled_at.isoformat() == "2099-11-24T07:00:00"
    # The same issue to the same list again needs the "again" box.
    r = editor.post(f"/admin/issues/{SAMPLE}/schedule", data=form)
    assert r.headers["location"] == f"/admin/issues/{SAMPLE}"
    assert "Send again" in editor.get(r.headers["location"]).text
    r = editor.post(f"/admin/issues/{SAMPLE}/schedule", data={**form, "again": "1"})
    assert r.headers["location"].startswith("/admin/sends/")
    assert len(store.sends_overview(app_db)) == 2


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"date": "2001-01-01", "time": "08:00"}, "is in the past"),
        ({"date": "tomorrow", "time": "08:00"}, "is not a date and time"),
        ({"date": "2099-01-01", "time": "08:00", "timezone": "Mars/Olympus"}, "unknown timezone"),
        ({"date": "", "time": ""}, "give a date and a time"),
        ({"list": "nope", "date": "2099-01-01", "time": "08:00"}, "no list"),
    ],
)
def test_schedule_refusals(editor: TestClient, fields: dict[str, str], message: str) -> None:
    token = admin_csrf(editor, f"/admin/issues/{SAMPLE}")
    form = {"list": "news", "timezone": "UTC", "when": "later", "csrf_token": token, **fields}
    r = editor.post(f"/admin/issues/{SAMPLE}/schedule", data=form)
    assert r.status_code == 303 and r.headers["location"] == f"/admin/issues/{SAMPLE}"
    page = editor.get(r.headers["location"]).text
    assert "Not scheduled" in page and message in page


def test_preview_links_to_signed_draft_pages(editor: TestClient) -> None:
    frame = editor.get(f"/admin/issues/{SAMPLE}/frame").text
    story = "large-models-to-act-as-traffic-lights-in"
    found = re.search(rf'href="(/drafts/[^/"]+/){story}/"', frame)  # "Read more", unpublished
    assert found, "the preview's Read more does not open a draft page"
    draft = found.group(1)
    editor.cookies.clear()  # a draft link works without a login: test copies go to anyone
    page = editor.get(f"{draft}{story}/")
    assert page.status_code == 200 and "traffic lights" in page.text.lower()
    assert page.headers["x-robots-tag"] == "noindex, nofollow"
    assert '<meta name="robots" content="noindex, nofollow">' in page.text
    assert 'data-draft="1"' in page.text and "not published" in page.text
    assert "no-store" in page.headers["cache-control"]
    index = editor.get(draft)
    assert index.status_code == 200 and f'href="{draft}{story}/"' in index.text
    assert editor.get(f"{draft}nope/").status_code == 404
    forged = editor.get(draft.replace("/drafts/", "/drafts/x"))
    assert forged.status_code == 400 and "not valid" in forged.text
