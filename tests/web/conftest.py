"""Fixtures for the web app: a migrated database, lists, a user, a logged-in client;
for the browser tests, the app on a real uvicorn server and headless Chromium."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.testclient import TestClient

from mailer.accounts import add_user
from mailer.config import Settings
from mailer.db import Database
from mailer.web import create_app
from tests.support.paths import ROOT
from tests.support.peers import chromium, free_port
from tests.support.web import PASSWORD, SAMPLE, add_list, csrf_of


@pytest.fixture
def web_db(settings: Settings, tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database for the in-process web tests."""
    url = f"sqlite:///{tmp_path / 'web.db'}"
    settings.database.url = url
    database = Database(url)
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
def app_db(request: pytest.FixtureRequest) -> Database:
    """``web_db`` by default; tests that take ``db`` get both SQLite and PostgreSQL."""
    if "db" in request.fixturenames:
        return request.getfixturevalue("db")
    return request.getfixturevalue("web_db")


@pytest.fixture
def client(settings: Settings, app_db: Database) -> Iterator[TestClient]:
    add_list(app_db)
    app = create_app(settings, app_db)
    with TestClient(app, base_url="https://news.example.org", follow_redirects=False) as c:
        yield c


@pytest.fixture
def editor(client: TestClient, app_db: Database) -> TestClient:
    """``client`` logged in as user ``editor``."""
    add_user(app_db, "editor", PASSWORD)
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"username": "editor", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
    )
    assert r.status_code == 303, r.text
    return client


@pytest.fixture
def own_issues(settings: Settings, tmp_path: Path) -> Path:
    """A private copy of the sample issue, so tests may edit and break it."""
    root = tmp_path / "issues"
    shutil.copytree(ROOT / "issues" / SAMPLE, root / SAMPLE)
    settings.paths.issues_dir = str(root)
    return root


@pytest.fixture
def live(settings: Settings, web_db: Database) -> Iterator[tuple[str, Settings, Database]]:
    """The web app on a real uvicorn server in a thread, on a free loopback port."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings.site.base_url = base  # links in the delivered messages point here
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
    """Headless Chromium, one per test (skips without it, fails in CI)."""
    with chromium() as instance:
        yield instance
