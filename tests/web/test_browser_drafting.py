"""End to end in headless Chromium: paste seed 000, create the issue, edit a
headline in the browser editor, see the preview change, and send a test.
Screenshots go to test-artifacts/web/.
"""

from __future__ import annotations

import email
import re
from email import policy
from pathlib import Path
from typing import Any

import pytest

from mailer.accounts import add_user
from mailer.config import Settings
from mailer.db import Database
from tests.support.deliver import body_of
from tests.support.draft import seed
from tests.support.web import PASSWORD, add_list, shot

pytestmark = pytest.mark.chromium
SEED_000 = seed(0)
OLD = "Large models to act as traffic lights in the sky for China's drones"
NEW = "Large models will direct the drones over China's cities"


def _preview_text(page: Any) -> str:
    frame = page.frame_locator("#edit-preview")
    frame.locator("body").wait_for()
    return str(frame.locator("body").inner_text())


def test_paste_create_edit_preview_and_send_a_test(
    live: tuple[str, Settings, Database],
    browser: Any,
    tmp_path: Path,
) -> None:
    base, settings, db = live
    settings.paths.issues_dir = str(tmp_path / "issues")
    (tmp_path / "issues").mkdir()
    add_list(db, "ai2x", name="China AI2X Briefing")
    add_user(db, "editor", PASSWORD)
    page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    page.goto(f"{base}/login?next=/admin/new")
    page.fill("input[name=username]", "editor")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/admin/new")

    # 1. Paste the seed and look at what is recognised; nothing is written yet.
    page.fill("#draft-text", SEED_000.read_text(encoding="utf-8"))
    page.select_option("select[name=list]", "ai2x")
    page.fill("input[name=date]", "2026-01-19")
    page.click("#draft-check")
    report = page.inner_text("#draft-report")
    for label in ("AI + Mobility", "AI + Manufacturing", "AI + Electronics", "AI + Healthcare"):
        assert label in report
    assert f"feature: {OLD}" in report
    assert not any((tmp_path / "issues").iterdir())
    shot(page, "21-new-issue-recognised")

    # 2. Create it: the editor opens on issue.toml with line numbers beside the text.
    page.fill("input[name=slug]", "ai2x-browser")
    page.click("#draft-create")
    page.wait_for_url(f"{base}/admin/issues/ai2x-browser/edit")
    text = page.input_value("#editor")
    lines = text.count("\n") + 1
    gutter = page.inner_text("#gutter").split()
    assert gutter[0] == "1" and int(gutter[-1]) == lines
    assert OLD in _preview_text(page)
    shot(page, "22-editor")

    # 3. An invalid save is refused with file, line and field; nothing changes on disk.
    toml = tmp_path / "issues/ai2x-browser/issue.toml"
    before = toml.read_bytes()
    page.fill("#editor", text.replace("headline = ", "hedline = ", 1))
    page.click("#save")
    problems = page.inner_text("#save-problems")
    found = re.search(r"issue\.toml:(\d+)\s+sections\[0\]\.stories\[0\]\.hedline", problems)
    assert found, problems
    assert text.splitlines()[int(found.group(1)) - 1].startswith("headline = ")
    assert toml.read_bytes() == before
    shot(page, "23-editor-refused")
    # The refusal is a 422 page, which Chromium logs as a failed load: expected here.
    errors[:] = [e for e in errors if "status of 422" not in e]

    # 4. Edit the headline and save: the preview beside the editor shows the new one.
    page.fill("#editor", text.replace(OLD, NEW))
    page.click("#save")
    page.wait_for_selector("text=Saved issue.toml.")
    preview = _preview_text(page)
    assert NEW in preview and OLD not in preview
    shot(page, "24-editor-saved")

    # 5. Send a test from the preview page; the copy carries the new headline.
    page.click("text=Preview, test and send")
    page.wait_for_url(f"{base}/admin/issues/ai2x-browser")
    page.fill("input[name=addresses]", "editor@example.org")
    page.click("text=Send test")
    page.wait_for_selector("text=Test copy sent to 1 address.")
    outbox = settings.path(settings.delivery.outbox_dir)
    (eml,) = sorted(outbox.rglob("*.eml"))
    message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert str(message["To"]) == "editor@example.org"
    html = body_of(message, "html")
    assert "Large models will direct the drones over China" in html
    assert "[TEST]" in str(message["Subject"])
    shot(page, "25-test-sent")
    assert not errors, errors
