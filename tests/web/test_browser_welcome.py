"""End to end in headless Chromium: a new subscriber signs up, confirms, and is welcomed.

A real uvicorn server, the real worker draining the mail queue into the
outbox, and the shipped sample welcome folder of ``china-ai2x``. Screenshots
go to test-artifacts/web/.
"""

from __future__ import annotations

import email
import re
import shutil
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from mailer.config import Settings
from mailer.db import Database
from mailer.deliver.worker import Worker
from mailer.lists.files import sync_lists
from tests.support.deliver import body_of
from tests.support.paths import ROOT
from tests.support.web import shot, status_of

READER = "mei.chen@example.org"

pytestmark = pytest.mark.chromium


@pytest.fixture
def site(live: tuple[str, Settings, Database]) -> tuple[str, Settings, Database]:
    """``live``, with the shipped sample lists synced (``china-ai2x`` has a welcome folder)."""
    _, settings, db = live
    lists = settings.path(settings.paths.lists_dir)
    shutil.rmtree(lists)
    shutil.copytree(ROOT / "lists", lists)
    sync_lists(db, settings)
    return live


def outbox(settings: Settings) -> list[tuple[Path, EmailMessage]]:
    folder = settings.path(settings.delivery.outbox_dir)
    found = []
    for path in sorted(folder.rglob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(msg, EmailMessage)
        found.append((path, msg))
    return found


def test_new_subscriber_confirms_and_gets_the_welcome_mail(
    site: tuple[str, Settings, Database], browser: Any, tmp_path: Path
) -> None:
    base, settings, db = site
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()

    # 1. Sign up on the public form, on a phone.
    page.goto(f"{base}/subscribe/china-ai2x")
    page.fill("input[name=email]", READER)
    page.fill("input[name=name]", "Mei Chen")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/thanks$"))
    assert outbox(settings) == []  # the form only queues; the worker mails

    # 2. The worker handles the request and delivers the confirmation: no welcome yet.
    Worker(settings, db).run(once=True)
    [(_, confirmation)] = outbox(settings)
    assert "confirm" in str(confirmation["Subject"]).lower()
    (confirm_url,) = {w for w in body_of(confirmation, "plain").split() if "/confirm/" in w}
    assert status_of(db, READER, "china-ai2x") == "unconfirmed"

    # 3. The subscriber opens the link and presses the button.
    page.goto(confirm_url)
    page.get_by_role("button").click()
    page.wait_for_load_state()
    assert status_of(db, READER, "china-ai2x") == "active"
    shot(page, "welcome-confirmed-390")

    # 4. The worker delivers the welcome mail to the outbox.
    Worker(settings, db).run(once=True)
    messages = outbox(settings)
    assert len(messages) == 2
    path, welcome = messages[-1]
    assert welcome["Subject"] == "Welcome to the China AI2X Briefing"
    assert welcome["To"] == f"Mei Chen <{READER}>"
    assert welcome["List-Unsubscribe"].startswith(f"<{base}/u/")
    assert "Thank you for subscribing to the China AI2X Briefing" in " ".join(
        body_of(welcome, "plain").split()
    )

    # 5. The delivered HTML reads well on a phone: no sideways scrolling.
    html_file = tmp_path / "welcome.html"
    html_file.write_text(body_of(welcome, "html"), encoding="utf-8")
    mail = browser.new_context(viewport={"width": 375, "height": 800}).new_page()
    mail.goto(html_file.as_uri())
    assert mail.locator("h1").first.inner_text() == "Welcome aboard"
    width = mail.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1]
    shot(mail, "welcome-mail-375")

    # 6. Confirming again (a second click on the old link) welcomes nobody twice.
    page.goto(confirm_url)
    page.get_by_role("button").click()
    page.wait_for_load_state()
    Worker(settings, db).run(once=True)
    assert len(outbox(settings)) == 2
    assert path.exists()
