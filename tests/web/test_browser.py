"""End to end in real headless Chromium against a real uvicorn server.

An editor logs in, previews the English sample at mobile width and schedules
a send to a small list; the worker delivers it to the outbox; a subscriber
opens the unsubscribe link of one delivered .eml and confirms in the browser;
another's mailbox provider POSTs the RFC 8058 one-click from its
List-Unsubscribe header; the report page shows both unsubscribes.
Screenshots go to test-artifacts/web/.
"""

from __future__ import annotations

import email
import re
import shutil
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from mailer.accounts import add_user
from mailer.config import Settings
from mailer.db import Database
from tests.support.deliver import body_of
from tests.support.paths import ROOT
from tests.support.web import PASSWORD, SAMPLE, add_list, add_subscriber, shot, status_of

READERS = ["ada@example.org", "grace@example.org", "linus@example.org"]

pytestmark = pytest.mark.chromium


def _messages(settings: Settings) -> list[EmailMessage]:
    folder = settings.path(settings.delivery.outbox_dir)
    found = []
    for path in sorted(folder.rglob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(msg, EmailMessage)
        found.append(msg)
    return found


def test_editor_to_subscriber_round_trip(
    live: tuple[str, Settings, Database], browser: Any
) -> None:
    base, settings, db = live
    add_list(db, "team", name="Team Briefing")
    for address in READERS:
        add_subscriber(db, address, "team")
    add_user(db, "editor", PASSWORD)

    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    # 1. Log in (the admin page sends us to the login form and back).
    page.goto(f"{base}/admin/issues")
    assert "/login" in page.url
    shot(page, "01-login")
    page.fill("input[name=username]", "editor")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/admin/issues")
    shot(page, "02-issues")

    # 2. Preview the English sample; the mobile frame is 375 px and does not overflow.
    page.click(f"a[href='/admin/issues/{SAMPLE}']")
    page.wait_for_url(f"{base}/admin/issues/{SAMPLE}")
    mobile = page.frame_locator("#frame-mobile")
    mobile.locator("body").wait_for()
    frame_el = page.locator("#frame-mobile")
    assert frame_el.evaluate("el => el.getBoundingClientRect().width") == 375
    # The frame is sandboxed (its own origin): measure from inside it.
    content = frame_el.element_handle().content_frame()
    assert content is not None
    content.wait_for_load_state()
    widths = content.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1] == 375, f"mobile preview overflows: {widths}"
    assert "AI to everything in China" in page.inner_text(".inbox-row")
    shot(page, "03-preview")
    page.click("text=Dark mode")
    page.locator("#frame-desktop").wait_for()
    shot(page, "04-preview-dark")
    page.click("text=Plain text")
    assert (
        "Read more" in page.inner_text("#text-part")
        or "read more" in page.inner_text("#text-part").lower()
    )
    page.goto(f"{base}/admin/issues/{SAMPLE}")

    # 3. Schedule for tomorrow morning, see it on the sends page, then cancel it.
    page.select_option("#schedule-form select[name=list]", "team")
    page.fill("#schedule-form input[name=date]", "2099-06-01")
    page.fill("#schedule-form input[name=time]", "08:00")
    page.select_option("#schedule-form select[name=timezone]", "Europe/Brussels")
    page.click("#schedule-form button[value=later]")
    page.wait_for_url(re.compile(r".*/admin/sends/\d+$"))
    assert "scheduled" in page.inner_text(".pagehead")
    shot(page, "05-scheduled")
    page.on("dialog", lambda d: d.accept())
    page.click("button[value=cancel], form[action$='/cancel'] button")
    assert "cancelled" in page.inner_text(".pagehead")

    # 4. Send now (again: the cancelled send counts as a send of this issue to this list).
    page.goto(f"{base}/admin/issues/{SAMPLE}")
    page.select_option("#schedule-form select[name=list]", "team")
    page.check("#schedule-form input[name=again]")
    page.click("#schedule-form button[value=now]")
    page.wait_for_url(re.compile(r".*/admin/sends/\d+$"))
    send_path = re.sub(r"^https?://[^/]+", "", page.url)

    # 5. The worker delivers to the outbox; the send page's counters catch up by themselves.
    from mailer.deliver.worker import Worker

    Worker(settings, db).run(once=True)
    page.wait_for_function(
        "() => document.querySelector('[data-field=sent]').textContent.trim() === '3'",
        timeout=10000,
    )
    messages = _messages(settings)
    assert sorted(str(m["To"]) for m in messages) == READERS

    # 6. Reader one opens the unsubscribe link from the message body and confirms.
    first = next(m for m in messages if str(m["To"]) == READERS[0])
    text = body_of(first, "plain")
    link = re.search(re.escape(base) + r"/u/[A-Za-z0-9._-]+", text)
    assert link, text
    reader = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    reader.goto(link.group(0))
    shot(reader, "06-unsubscribe")
    reader.click("#unsubscribe")
    reader.wait_for_selector("text=You are unsubscribed")
    shot(reader, "07-unsubscribed")
    assert status_of(db, READERS[0], "team") == "unsubscribed"

    # 7. Reader two's mailbox provider uses the List-Unsubscribe header (RFC 8058).
    second = next(m for m in messages if str(m["To"]) == READERS[1])
    assert second["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.search(r"<(https?://[^>]+)>", str(second["List-Unsubscribe"]))
    assert url and url.group(1).startswith(base + "/u/")
    r = httpx.post(
        url.group(1),
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert r.status_code == 200
    assert status_of(db, READERS[1], "team") == "unsubscribed"
    assert status_of(db, READERS[2], "team") == "active"

    # 8. The report shows both unsubscribes, and who they are.
    page.goto(base + send_path)
    figure = page.locator("[data-figure=unsubscribed] .value")
    assert figure.inner_text().strip() == "2"
    shot(page, "08-report")
    page.click("[data-figure=unsubscribed]")
    listed = page.inner_text("table.recipients")
    assert READERS[0] in listed and READERS[1] in listed and READERS[2] not in listed
    shot(page, "09-recipients")

    # 9. The other pages look right too (screenshots for a human eye).
    page.goto(f"{base}/admin/sends")
    assert "done" in page.inner_text("table.data")
    shot(page, "11-sends")
    page.goto(f"{base}/admin/lists")
    assert "Team Briefing" in page.inner_text("table.data")
    shot(page, "12-lists")
    page.goto(f"{base}/admin/subscribers/show?email={READERS[0]}")
    assert "unsubscribed" in page.inner_text("main")
    shot(page, "13-subscriber")
    reader.goto(f"{base}/subscribe/team")
    shot(reader, "14-subscribe-form")
    reader.goto(f"{base}/issues/{SAMPLE}/")
    assert "AI to everything in China" in reader.inner_text("body")
    shot(reader, "15-archive-issue")
    assert not errors, errors  # no CSP violation or script error on any page
    context.close()


def test_preview_reloads_when_the_issue_changes(
    live: tuple[str, Settings, Database], browser: Any, tmp_path: Path
) -> None:

    base, settings, db = live
    folder = tmp_path / "issues" / SAMPLE
    shutil.copytree(ROOT / "issues" / SAMPLE, folder)
    settings.paths.issues_dir = str(tmp_path / "issues")
    add_user(db, "editor", PASSWORD)
    page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    page.goto(f"{base}/login?next=/admin/issues/{SAMPLE}")
    page.fill("input[name=username]", "editor")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/admin/issues/{SAMPLE}")
    assert "AI to everything in China" in page.inner_text("h1")

    toml = folder / "issue.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace('title = "AI to everything in China"', 'title = "Edited on disk"'))
    # No click, no reload by the test: the page notices and reloads itself.
    page.wait_for_function(
        "() => document.querySelector('h1').textContent.includes('Edited on disk')",
        timeout=15000,
    )
    frame = page.locator("#frame-desktop").element_handle().content_frame()
    assert frame is not None
    frame.wait_for_load_state()
    assert "Edited on disk" in frame.inner_text("body")
    shot(page, "10-preview-reloaded")
