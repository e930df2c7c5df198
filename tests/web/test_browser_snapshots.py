"""End to end in Chromium: the archive keeps the sent version, test-copy links open, charts add up.

Screenshots go to test-artifacts/web/.
"""

from __future__ import annotations

import email
import itertools
import re
import shutil
from datetime import datetime, timedelta
from email import policy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from mailer.accounts import add_user
from mailer.config import Settings
from mailer.db import Database
from mailer.db.models import Recipient
from tests.support.deliver import body_of
from tests.support.paths import ROOT
from tests.support.web import PASSWORD, SAMPLE, add_list, add_subscriber, shot

pytestmark = pytest.mark.chromium
TITLE = "AI to everything in China"
STORY = "large-models-to-act-as-traffic-lights-in"


def _own_copy(settings: Settings, tmp_path: Path) -> Path:
    root = tmp_path / "issues"
    shutil.copytree(ROOT / "issues" / SAMPLE, root / SAMPLE)
    settings.paths.issues_dir = str(root)
    return root / SAMPLE


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_archive_shows_the_sent_version_after_edits_and_breakage(
    live: tuple[str, Settings, Database],
    browser: Any,
    tmp_path: Path,
) -> None:
    from mailer.compose.snapshot import freeze_issue
    from mailer.content import load_issue
    from mailer.deliver.sends import create_send
    from mailer.deliver.worker import Worker

    base, settings, db = live
    folder = _own_copy(settings, tmp_path)
    add_list(db, "team")
    add_subscriber(db, "ada@example.org", "team")
    composed, snapshot = freeze_issue(load_issue(folder, settings), settings)
    create_send(settings, db, composed, "team", snapshot=snapshot)
    Worker(settings, db).run(once=True)
    # Edit the title and a story, then break the issue file altogether.
    _edit(folder / "issue.toml", f'title = "{TITLE}"', 'title = "Edited after the send"')
    _edit(folder / "stories" / "traffic-lights-in-the-sky.md", "traffic lights", "stop signs")
    _edit(folder / "issue.toml", "[newsletter]", "[newsletter")
    page = browser.new_context(viewport={"width": 1024, "height": 900}).new_page()
    r = page.goto(f"{base}/issues/{SAMPLE}/")
    assert r is not None and r.status == 200
    body = page.inner_text("body")
    assert TITLE in body and "Edited after the send" not in body
    assert str(folder) not in page.content()
    shot(page, "21-archive-after-edit-and-breakage")
    story = page.get_attribute(f"a[href$='/issues/{SAMPLE}/{STORY}/']", "href")
    assert story == f"{base}/issues/{SAMPLE}/{STORY}/"  # "Read more" in the archived page
    r = page.goto(story)
    assert r is not None and r.status == 200
    assert "traffic lights" in page.inner_text("body").lower()
    assert "stop signs" not in page.inner_text("body").lower()
    shot(page, "22-archive-story-after-edit")


def test_every_link_of_a_test_copy_opens(
    live: tuple[str, Settings, Database],
    browser: Any,
) -> None:
    from mailer.compose import compose_issue
    from mailer.content import load_issue
    from mailer.deliver.sends import send_test

    base, settings, db = live
    add_list(db, "team")
    issue = load_issue(ROOT / "issues" / SAMPLE, settings)
    send_test(settings, db, compose_issue(issue, settings), "team", ["me@example.org"])
    [eml] = sorted(settings.path(settings.delivery.outbox_dir).rglob("*.eml"))
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    html = body_of(msg, "html")
    host = urlsplit(base).netloc
    links = sorted({u.replace("&amp;", "&") for u in re.findall(r'href="([^"]+)"', html)} - {"#"})
    own = [u for u in links if urlsplit(u).netloc == host]
    assert len(own) >= 5 and any("/drafts/" in u for u in own), own
    page = browser.new_context().new_page()
    for url in own:
        r = page.goto(url)
        assert r is not None and r.status == 200, f"{url}: {r.status if r else 'no answer'}"
    page.goto(next(u for u in own if u.endswith(f"/{STORY}/")))
    assert page.locator("[data-draft]").count() == 1
    shot(page, "23-test-copy-read-more-draft")


def test_short_send_chart_never_shows_delivered_above_sent(
    live: tuple[str, Settings, Database],
    browser: Any,
) -> None:
    from mailer.db import outbox
    from mailer.db.subscribers import get_list

    base, _settings, db = live
    add_list(db, "team")
    add_user(db, "editor", PASSWORD)
    start = datetime(2026, 3, 2, 8, 0, 10)
    with db.session() as s:
        send = outbox.create_send(
            s, issue_slug=SAMPLE, list_id=get_list(s, "team").id, subject="Short",
            html="h", text="t", scheduled_at=None,
        )  # fmt: skip
        send_id = send.id
        for i in range(30):
            sent = start + timedelta(seconds=10 * i)
            # A provider clock 40 s fast: deliveries stamped before their send.
            s.add(
                Recipient(
                    send_id=send_id, email=f"r{i}@example.org", email_hash=f"{i:064d}",
                    status="sent", sent_at=sent, delivered_at=sent - timedelta(seconds=40),
                )
            )  # fmt: skip
        outbox.set_status(
            s, send_id, "done", started_at=start, finished_at=start + timedelta(minutes=5)
        )
    page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    page.goto(f"{base}/admin/sends/{send_id}")
    page.fill("input[name=username]", "editor")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/admin/sends/{send_id}")
    points = page.evaluate(
        """() => ['sent', 'delivered'].map(name =>
            Array.from(document.querySelector('polyline.s-' + name).points).map(p => p.y))"""
    )
    sent_y, delivered_y = points
    assert len(sent_y) == len(delivered_y) >= 5
    # SVG y grows downwards: delivered at or below sent at every point.
    assert all(d >= s for s, d in zip(sent_y, delivered_y, strict=True)), points
    boxes = page.evaluate(
        """() => Array.from(document.querySelectorAll('svg.chart text.tick'))
            .map(t => { const b = t.getBBox(); return [b.x, b.x + b.width]; })"""
    )
    assert len(boxes) >= 2
    for (_, right), (left, _) in itertools.pairwise(boxes):
        assert right < left, f"axis labels overlap: {boxes}"
    shot(page, "24-short-send-chart")


def test_scheduled_send_page_shows_the_change_and_refreezes(
    live: tuple[str, Settings, Database],
    browser: Any,
    tmp_path: Path,
) -> None:
    from mailer.compose.snapshot import freeze_issue
    from mailer.content import load_issue
    from mailer.deliver.sends import create_send

    base, settings, db = live
    folder = _own_copy(settings, tmp_path)
    add_list(db, "team")
    add_subscriber(db, "ada@example.org", "team")
    add_user(db, "editor", PASSWORD)
    composed, snapshot = freeze_issue(load_issue(folder, settings), settings)
    send = create_send(
        settings, db, composed, "team", at=datetime(2099, 1, 1, 8), snapshot=snapshot
    )
    _edit(folder / "issue.toml", 'subject = "AI to', 'subject = "Edited: AI to')
    page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    page.goto(f"{base}/admin/sends/{send.id}")
    page.fill("input[name=username]", "editor")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/admin/sends/{send.id}")
    notice = page.inner_text("[data-changed]")
    assert "changed since this send was frozen" in notice and "Edited: AI to" in notice
    assert "Will reach 1 subscriber" in page.inner_text("main")
    shot(page, "25-scheduled-send-changed")
    page.on("dialog", lambda d: d.accept())
    page.click("form[action$='/refreeze'] button")
    page.wait_for_url(f"{base}/admin/sends/{send.id}")
    assert page.locator("[data-changed]").count() == 0
    assert page.inner_text("h1").startswith("Edited: AI to")
    shot(page, "26-scheduled-send-refrozen")
