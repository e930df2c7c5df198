"""The list's welcome mail page: preview, plain text, test copy, and each refusal."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from mailer.config import Settings
from mailer.db import Database
from mailer.db import subscribers as store
from mailer.db.models import QueuedMail
from tests.support.web import admin_csrf

PAGE = "/admin/lists/news/welcome"


def give_welcome(
    settings: Settings, db: Database, body: str = "Hello %%subscriber.name%%!"
) -> Path:
    folder = settings.path(settings.paths.lists_dir) / "welcome" / "news"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "message.toml").write_text(
        f'subject = "Welcome to the News"\nbody = """\n{body}\n"""\n', encoding="utf-8"
    )
    with db.session() as s:
        store.get_list(s, "news").welcome = "welcome/news"
    return folder


def queued(db: Database) -> list[QueuedMail]:
    with db.session() as s:
        rows = list(s.scalars(select(QueuedMail).order_by(QueuedMail.id)))
        s.expunge_all()
        return rows


def test_page_needs_a_login(client: TestClient) -> None:
    for path in (PAGE, f"{PAGE}/frame"):
        r = client.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    r = client.post(f"{PAGE}/test", data={"address": "a@example.org"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_preview_shows_subject_text_and_frame(
    editor: TestClient, settings: Settings, app_db: Database
) -> None:
    give_welcome(settings, app_db)
    page = editor.get(PAGE)
    assert page.status_code == 200
    doc = lxml.html.document_fromstring(page.text)
    assert doc.get_element_by_id("welcome-subject").text_content() == "Welcome to the News"
    text = doc.get_element_by_id("welcome-text").text_content()
    assert "Hello Reader!" in text and "https://news.example.org/u/" in text
    assert doc.get_element_by_id("welcome-frame").get("src") == f"{PAGE}/frame"
    frame = editor.get(f"{PAGE}/frame")
    assert frame.status_code == 200
    assert "Hello Reader!" in frame.text and "%%" not in frame.text
    assert frame.headers["x-frame-options"] == "SAMEORIGIN"
    assert "default-src 'none'" in frame.headers["content-security-policy"]
    # The lists page links to it.
    assert PAGE in editor.get("/admin/lists").text


def test_list_without_welcome_says_how_to_add_one(editor: TestClient) -> None:
    page = editor.get(PAGE)
    assert page.status_code == 200
    assert 'welcome = "…"' in page.text and "lists/news.toml" in page.text
    assert editor.get(f"{PAGE}/frame").status_code == 404


def test_broken_welcome_is_shown_as_problems(
    editor: TestClient, settings: Settings, app_db: Database
) -> None:
    folder = give_welcome(settings, app_db)
    (folder / "message.toml").write_text('subject = "Hi"\n', encoding="utf-8")
    page = editor.get(PAGE)
    assert page.status_code == 200
    assert "cannot be composed" in page.text
    assert "message.toml: body: give either body or body_file (Markdown)" in page.text


def test_unknown_list_is_404(editor: TestClient) -> None:
    assert editor.get("/admin/lists/nope/welcome").status_code == 404


def test_test_send_queues_a_marked_copy(
    editor: TestClient, settings: Settings, app_db: Database
) -> None:
    give_welcome(settings, app_db)
    token = admin_csrf(editor, PAGE)
    r = editor.post(f"{PAGE}/test", data={"address": "me@example.org", "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == PAGE
    assert "Test copy queued for me@example.org" in editor.get(PAGE).text
    [row] = queued(app_db)
    assert (row.kind, row.to_email, row.subject) == (
        "welcome-test",
        "me@example.org",
        "[TEST] Welcome to the News",
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"address": ""}, "Type an address for the test copy."),
        ({"address": "not-an-address"}, "Test not sent: "),
    ],
)
def test_test_send_refusals(
    editor: TestClient, settings: Settings, app_db: Database, data: dict[str, str], message: str
) -> None:
    give_welcome(settings, app_db)
    token = admin_csrf(editor, PAGE)
    r = editor.post(f"{PAGE}/test", data={**data, "csrf_token": token})
    assert r.status_code == 303
    assert message in editor.get(PAGE).text
    assert queued(app_db) == []


def test_test_send_without_csrf_is_refused(
    editor: TestClient, settings: Settings, app_db: Database
) -> None:
    give_welcome(settings, app_db)
    r = editor.post(f"{PAGE}/test", data={"address": "me@example.org"})
    assert r.status_code == 403
    assert queued(app_db) == []


def test_test_send_on_a_list_without_welcome_is_refused(
    editor: TestClient, app_db: Database
) -> None:
    token = admin_csrf(editor, PAGE)
    r = editor.post(f"{PAGE}/test", data={"address": "me@example.org", "csrf_token": token})
    assert r.status_code == 303
    assert "Test not sent: list news has no welcome message" in editor.get(PAGE).text
    assert queued(app_db) == []


def test_the_lists_page_and_the_lists_table_lead_to_the_welcome(editor: TestClient) -> None:
    for page in ("/admin/lists/news", "/admin/lists"):
        doc = lxml.html.fromstring(editor.get(page).text)
        assert doc.xpath(f'//a[@href="{PAGE}"]'), page
