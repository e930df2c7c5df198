"""End to end in headless Chromium: a new subscriber signs up, confirms, and is welcomed.

A real uvicorn server, the real worker draining the mail queue into the
outbox, and the shipped sample welcome folder of ``china-ai2x``. Screenshots
go to test-artifacts/web/.
"""

from __future__ import annotations

import email
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from webkit import ROOT, need, status_of

from mailer.config import Settings
from mailer.db import Database
from mailer.deliver.worker import Worker
from mailer.lists.files import sync_lists
from mailer.web import create_app
from tests.support.aws import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]  # fmt: skip
ARTIFACTS = ROOT / "test-artifacts" / "web"
READER = "mei.chen@example.org"

pytestmark = pytest.mark.chromium


@pytest.fixture
def live(settings: Settings, web_db: Database) -> Iterator[tuple[str, Settings, Database]]:
    """The web app on a real uvicorn server, with the shipped sample lists synced."""
    lists = settings.path(settings.paths.lists_dir)
    shutil.rmtree(lists)
    shutil.copytree(ROOT / "lists", lists)
    sync_lists(web_db, settings)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings.site.base_url = base
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, web_db), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield base, settings, web_db
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def browser() -> Iterator[Any]:
    need(os.path.exists(CHROMIUM), f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def outbox(settings: Settings) -> list[tuple[Path, EmailMessage]]:
    folder = settings.path(settings.delivery.outbox_dir)
    found = []
    for path in sorted(folder.rglob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(msg, EmailMessage)
        found.append((path, msg))
    return found


def part(msg: EmailMessage, kind: str) -> str:
    body = msg.get_body(preferencelist=(kind,))
    assert body is not None
    return str(body.get_content())


def test_new_subscriber_confirms_and_gets_the_welcome_mail(
    live: tuple[str, Settings, Database], browser: Any, tmp_path: Path
) -> None:
    base, settings, db = live
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

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
    (confirm_url,) = {w for w in part(confirmation, "plain").split() if "/confirm/" in w}
    assert status_of(db, READER, "china-ai2x") == "unconfirmed"

    # 3. The subscriber opens the link and presses the button.
    page.goto(confirm_url)
    page.get_by_role("button").click()
    page.wait_for_load_state()
    assert status_of(db, READER, "china-ai2x") == "active"
    page.screenshot(path=str(ARTIFACTS / "welcome-confirmed-390.png"), full_page=True)

    # 4. The worker delivers the welcome mail to the outbox.
    Worker(settings, db).run(once=True)
    messages = outbox(settings)
    assert len(messages) == 2
    path, welcome = messages[-1]
    assert welcome["Subject"] == "Welcome to the China AI2X Briefing"
    assert welcome["To"] == f"Mei Chen <{READER}>"
    assert welcome["List-Unsubscribe"].startswith(f"<{base}/u/")
    assert "Thank you for subscribing to the China AI2X Briefing" in " ".join(
        part(welcome, "plain").split()
    )

    # 5. The delivered HTML reads well on a phone: no sideways scrolling.
    html_file = tmp_path / "welcome.html"
    html_file.write_text(part(welcome, "html"), encoding="utf-8")
    mail = browser.new_context(viewport={"width": 375, "height": 800}).new_page()
    mail.goto(html_file.as_uri())
    assert mail.locator("h1").first.inner_text() == "Welcome aboard"
    width = mail.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1]
    mail.screenshot(path=str(ARTIFACTS / "welcome-mail-375.png"), full_page=True)

    # 6. Confirming again (a second click on the old link) welcomes nobody twice.
    page.goto(confirm_url)
    page.get_by_role("button").click()
    page.wait_for_load_state()
    Worker(settings, db).run(once=True)
    assert len(outbox(settings)) == 2
    assert path.exists()
