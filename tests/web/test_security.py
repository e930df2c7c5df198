"""Login, sessions, CSRF, headers, redirects and the error pages."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from mailer.accounts import add_user, hash_password
from mailer.config import Settings
from mailer.db import Database
from mailer.web import create_app
from mailer.web.security import RateLimiter, safe_next
from tests.support.web import PASSWORD, add_list, csrf_of

ADMIN_PAGES = [
    "/admin/",
    "/admin/issues",
    "/admin/issues/ai2x-briefing-2026-01-12",
    "/admin/sends",
    "/admin/lists",
    "/admin/subscribers",
    "/admin/subscribers/show?email=a@example.org",
]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_pages_need_login(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=%2Fadmin")


def test_json_endpoints_answer_401_without_login(client: TestClient) -> None:
    r = client.get("/admin/sends/progress.json")
    assert r.status_code == 401
    assert r.json()["error"] == "Log in first."


def test_admin_posts_need_login(client: TestClient) -> None:
    r = client.post("/admin/sends/1/cancel", data={"csrf_token": "x"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_login_then_next_then_logout(client: TestClient, app_db: Database) -> None:
    add_user(app_db, "editor", PASSWORD)
    page = client.get("/login?next=/admin/lists")
    assert page.status_code == 200 and 'value="/admin/lists"' in page.text
    r = client.post(
        "/login",
        data={
            "username": "editor",
            "password": PASSWORD,
            "next": "/admin/lists",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/admin/lists"
    lists = client.get("/admin/lists")
    assert lists.status_code == 200 and "The News List" in lists.text
    r = client.post("/logout", data={"csrf_token": csrf_of(lists.text)})
    assert r.status_code == 303
    assert client.get("/admin/lists").status_code == 303


def test_wrong_password_is_refused(client: TestClient, app_db: Database) -> None:
    add_user(app_db, "editor", PASSWORD)
    page = client.get("/login")
    for user, pw in (("editor", "wrong password!"), ("nobody", PASSWORD)):
        r = client.post(
            "/login", data={"username": user, "password": pw, "csrf_token": csrf_of(page.text)}
        )
        assert r.status_code == 401
        assert "Wrong username or password." in r.text
    assert client.get("/admin/lists").status_code == 303


def test_login_from_config_users(settings: Settings, web_db: Database) -> None:
    from pydantic import SecretStr

    settings.web.users = {"ops": SecretStr(hash_password("config password 1"))}
    with TestClient(create_app(settings, web_db), follow_redirects=False) as c:
        page = c.get("/login")
        r = c.post(
            "/login",
            data={
                "username": "ops",
                "password": "config password 1",
                "csrf_token": csrf_of(page.text),
            },
        )
        assert r.status_code == 303
        assert c.get("/admin/lists").status_code == 200


def test_login_without_csrf_is_403(client: TestClient, app_db: Database) -> None:
    add_user(app_db, "editor", PASSWORD)
    client.get("/login")
    r = client.post("/login", data={"username": "editor", "password": PASSWORD})
    assert r.status_code == 403
    assert "did not come from this site" in r.text
    assert client.get("/admin/lists").status_code == 303


def test_bad_csrf_on_admin_form_is_403(editor: TestClient) -> None:
    r = editor.post(
        "/admin/subscribers/suppress", data={"email": "a@example.org", "csrf_token": "forged"}
    )
    assert r.status_code == 403
    r = editor.post("/admin/subscribers/suppress", data={"email": "a@example.org"})
    assert r.status_code == 403


def test_csrf_header_works_for_scripts(editor: TestClient) -> None:
    token = csrf_of(editor.get("/admin/subscribers").text)
    r = editor.post(
        "/admin/subscribers/suppress",
        data={"email": "a@example.org", "confirmed": "yes"},
        headers={"x-csrf-token": token},
    )
    assert r.status_code == 303


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        "",
    ],
)
def test_open_redirect_refused(client: TestClient, app_db: Database, target: str) -> None:
    add_user(app_db, "editor", PASSWORD)
    page = client.get("/login")
    r = client.post(
        "/login",
        data={
            "username": "editor",
            "password": PASSWORD,
            "next": target,
            "csrf_token": csrf_of(page.text),
        },
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/"


def test_safe_next_keeps_own_paths() -> None:
    assert safe_next("/admin/sends/3?x=1") == "/admin/sends/3?x=1"
    assert safe_next("/\tadmin") == "/admin/"


def test_login_rate_limit_429(settings: Settings, web_db: Database) -> None:
    settings.web.login_per_minute = 3
    with TestClient(create_app(settings, web_db), follow_redirects=False) as c:
        token = csrf_of(c.get("/login").text)
        codes = [
            c.post(
                "/login", data={"username": "x", "password": "y", "csrf_token": token}
            ).status_code
            for _ in range(4)
        ]
    assert codes == [401, 401, 401, 429]


def test_security_headers(client: TestClient) -> None:
    r = client.get("/login")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    assert "<script>" not in r.text  # nothing inline for the CSP to block


def test_session_cookie_flags(settings: Settings, web_db: Database) -> None:
    settings.web.secure_cookies = True
    with TestClient(create_app(settings, web_db), base_url="https://x.example") as c:
        r = c.get("/login")
        cookie = r.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert "secure" in cookie.lower()


def test_public_pages_set_no_cookie(client: TestClient) -> None:
    r = client.get("/subscribe/news")
    assert r.status_code == 200
    assert "set-cookie" not in r.headers


def test_404_page_and_json(client: TestClient) -> None:
    r = client.get("/no/such/page")
    assert r.status_code == 404
    assert "There is nothing at this address" in r.text
    assert "Traceback" not in r.text
    r = client.get("/no/such/page", headers={"accept": "application/json"})
    assert r.status_code == 404 and r.json()["status"] == 404


def test_405_is_clear(client: TestClient) -> None:
    r = client.delete("/login")
    assert r.status_code == 405
    assert "does not accept DELETE requests" in r.text


def test_mailer_error_is_a_page(client: TestClient) -> None:
    r = client.get("/subscribe/no-such-list")
    assert r.status_code == 404
    assert "There is no newsletter called “no-such-list”." in r.text


def test_unexpected_error_is_500_without_traceback(
    settings: Settings, web_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mailer.lists import public as store

    def boom(*args: object) -> None:
        raise RuntimeError("secret internals")

    add_list(web_db)
    monkeypatch.setattr(store, "public_list", boom)
    with TestClient(create_app(settings, web_db), raise_server_exceptions=False) as c:
        r = c.get("/subscribe/news")
    assert r.status_code == 500
    assert "Something went wrong on our side" in r.text
    assert "secret internals" not in r.text and "Traceback" not in r.text


def test_rate_limiter_window() -> None:
    limiter = RateLimiter(2, window=60)
    assert limiter.hit("a", now=0) == 0
    assert limiter.hit("a", now=1) == 0
    assert limiter.hit("a", now=2) == pytest.approx(58)
    assert limiter.hit("b", now=2) == 0
    assert limiter.hit("a", now=61) == 0


def test_oversized_body_is_413(client: TestClient) -> None:
    r = client.post(
        "/subscribe/news",
        content=b"email=" + b"a" * 2_000_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413
    assert "Traceback" not in r.text


def test_static_files_and_favicon(client: TestClient) -> None:
    css = client.get("/static/mailer.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert css.headers["x-content-type-options"] == "nosniff"
    js = client.get("/static/mailer.js")
    assert js.status_code == 200 and "fetch(" in js.text
    r = client.get("/favicon.ico")
    assert r.status_code == 301 and r.headers["location"] == "/static/favicon.svg"


def test_admin_home_goes_to_issues(editor: TestClient) -> None:
    for path in ("/admin", "/admin/"):
        r = editor.get(path)
        assert r.status_code == 303 and r.headers["location"] == "/admin/issues"


def test_unknown_subscriber_action_is_404(editor: TestClient) -> None:
    token = csrf_of(editor.get("/admin/subscribers").text)
    r = editor.post(
        "/admin/subscribers/delete-everyone", data={"email": "a@x.org", "csrf_token": token}
    )
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:1:2:3", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("testclient", "testclient"),
    ],
)
def test_rate_limit_key_groups_ipv6_by_64(host: str, key: str) -> None:
    from starlette.requests import Request

    from mailer.web.security import client_key

    request = Request({"type": "http", "client": (host, 1234), "headers": []})
    assert client_key(request) == key
