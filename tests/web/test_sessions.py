"""Sessions hold while their user exists with the same credentials; logins back off per account."""

from __future__ import annotations

import json
from base64 import b64encode

from itsdangerous import TimestampSigner
from pydantic import SecretStr
from starlette.testclient import TestClient

from mailer.accounts import add_user, hash_password, remove_user
from mailer.config import Settings
from mailer.db import Database
from mailer.keys import site_key
from mailer.web import create_app
from mailer.web.app import SESSION_COOKIE
from mailer.web.security import LoginBackoff
from tests.support.web import PASSWORD, csrf_of


def _forged_cookie(settings: Settings, data: dict[str, str]) -> str:
    """A session cookie made the way Starlette makes one, by someone who holds the key."""
    payload = b64encode(json.dumps(data).encode())
    return TimestampSigner(site_key(settings)).sign(payload).decode()


def _login(client: TestClient, user: str, password: str) -> int:
    page = client.get("/login")
    r = client.post(
        "/login", data={"username": user, "password": password, "csrf_token": csrf_of(page.text)}
    )
    return r.status_code


def test_a_cookie_for_a_user_who_does_not_exist_opens_nothing(
    client: TestClient, settings: Settings
) -> None:
    client.cookies.set(SESSION_COOKIE, _forged_cookie(settings, {"user": "ghost", "csrf": "x"}))
    r = client.get("/admin/lists")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    r = client.post("/admin/sends/1/cancel", data={"csrf_token": "x"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_a_cookie_without_the_current_stamp_opens_nothing(
    client: TestClient, app_db: Database, settings: Settings
) -> None:
    add_user(app_db, "editor", PASSWORD)
    # Right user name, but no proof of the credentials the session began with.
    client.cookies.set(SESSION_COOKIE, _forged_cookie(settings, {"user": "editor"}))
    assert client.get("/admin/lists").status_code == 303


def test_removing_a_user_ends_their_session(editor: TestClient, app_db: Database) -> None:
    assert editor.get("/admin/lists").status_code == 200
    remove_user(app_db, "editor")
    r = editor.get("/admin/lists")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    # The same name added again later does not inherit the old session.
    add_user(app_db, "editor", "another password 2")
    assert editor.get("/admin/lists").status_code == 303


def test_a_password_change_ends_sessions(editor: TestClient, app_db: Database) -> None:
    assert editor.get("/admin/lists").status_code == 200
    add_user(app_db, "editor", "a brand new password", replace=True)
    assert editor.get("/admin/lists").status_code == 303
    assert _login(editor, "editor", "a brand new password") == 303
    assert editor.get("/admin/lists").status_code == 200


def test_logout_all_ends_sessions(
    editor: TestClient,
    app_db: Database,
    mailer_cli,
) -> None:
    add_user(app_db, "other", PASSWORD)
    assert editor.get("/admin/lists").status_code == 200
    result = mailer_cli("users", "logout-all", "other")
    assert result.exit_code == 0 and "sessions of user other ended" in result.output
    assert editor.get("/admin/lists").status_code == 200  # someone else's sessions
    result = mailer_cli("users", "logout-all")
    assert result.exit_code == 0 and "sessions of 2 database users ended" in result.output
    assert editor.get("/admin/lists").status_code == 303
    missing = mailer_cli("users", "logout-all", "nobody")
    assert missing.exit_code == 1
    assert missing.output.strip() == "Error: no user 'nobody' in the database"


def test_a_config_user_session_ends_when_the_hash_changes(
    settings: Settings, web_db: Database
) -> None:
    settings.web.users = {"ops": SecretStr(hash_password("config password 1"))}
    with TestClient(create_app(settings, web_db), follow_redirects=False) as c:
        assert _login(c, "ops", "config password 1") == 303
        assert c.get("/admin/lists").status_code == 200
        settings.web.users = {"ops": SecretStr(hash_password("config password 2"))}
        assert c.get("/admin/lists").status_code == 303
        settings.web.users = {}
        assert _login(c, "ops", "config password 1") == 401


def test_logins_back_off_per_account(settings: Settings, web_db: Database) -> None:
    settings.web.login_per_minute = 1000  # the per-client limit is not what is tested here
    settings.web.login_account_failures = 3
    add_user(web_db, "editor", PASSWORD)
    with TestClient(create_app(settings, web_db), follow_redirects=False) as c:
        assert [_login(c, "editor", f"wrong guess {i}") for i in range(3)] == [401, 401, 401]
        # Now even the right password waits: the account is being guessed at.
        page = c.get("/login")
        r = c.post(
            "/login",
            data={"username": "editor", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        )
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert "Too many attempts for this account" in r.text
        # A name that does not exist backs off the same way (nothing to learn).
        assert [_login(c, "nobody", f"guess {i}") for i in range(4)] == [401, 401, 401, 429]
        # Other accounts are not affected.
        add_user(web_db, "second", PASSWORD)
        assert _login(c, "second", PASSWORD) == 303


def test_backoff_doubles_and_a_success_clears_it() -> None:
    backoff = LoginBackoff(free=2, cap=10)
    for _ in range(2):
        backoff.failed("a", now=100.0)
    assert backoff.wait("a", now=100.0) == 1.0
    backoff.failed("a", now=101.0)
    assert backoff.wait("a", now=101.0) == 2.0
    for _ in range(10):
        backoff.failed("a", now=200.0)
    assert backoff.wait("a", now=200.0) == 10.0  # capped
    assert backoff.wait("b", now=200.0) == 0.0
    backoff.succeeded("a")
    assert backoff.wait("a", now=200.0) == 0.0
