"""Fixtures for the web app: a migrated database, lists, a user, a logged-in client."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from webkit import PASSWORD, ROOT, SAMPLE, add_list, csrf_of

from mailer.accounts import add_user
from mailer.config import Settings
from mailer.db import Database
from mailer.web import create_app


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
        return request.getfixturevalue("db")  # type: ignore[no-any-return]
    return request.getfixturevalue("web_db")  # type: ignore[no-any-return]


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
