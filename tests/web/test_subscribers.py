"""Subscribers in the browser: browsing, filters, and every action with its refusals."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from mailer.config import Settings
from mailer.db import Database
from mailer.db import subscribers as store
from mailer.deliver.worker import Worker
from mailer.lists import people
from mailer.status import SubscriptionStatus, SuppressionReason
from mailer.web import subscribers as pages
from tests.support.web import add_list, add_subscriber, admin_csrf, status_of

ROW = re.compile(r'<tr data-subscriber="(\d+)">\s*<td data-label="Address"><a [^>]*>([^<]+)</a>')


def shown(html: str) -> list[str]:
    """The addresses in the page's people table, in order."""
    return [m.group(2) for m in ROW.finditer(html)]


def link(html: str, rel: str) -> str | None:
    found = re.search(rf'rel="{rel}" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def status_on(db: Database, email: str, slug: str, status: str, reason: str = "test") -> None:
    with db.session() as s:
        lst = store.get_list(s, slug)
        sub = store.upsert_subscriber(s, email, source="test")
        store.set_subscription(s, lst.id, sub.id, status, reason)


def test_browse_pages_by_keyset_newest_first(
    editor: TestClient, app_db: Database, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "PAGE_SIZE", 4)
    everyone = [f"p{i:02d}@example.org" for i in range(10)]
    for address in everyone:
        add_subscriber(app_db, address)
    page = editor.get("/admin/subscribers").text
    seen = shown(page)
    assert seen == everyone[::-1][:4]
    assert link(page, "prev") is None
    walked = list(seen)
    while (nxt := link(page, "next")) is not None:
        assert "after=" in nxt and "offset" not in nxt
        page = editor.get(nxt).text
        walked += shown(page)
    assert walked == everyone[::-1]  # every person once, in order
    back = link(page, "prev")
    assert back is not None and "before=" in back
    assert shown(editor.get(back).text) == everyone[::-1][4:8]


def test_filtered_pages_walk_forward_and_back(
    editor: TestClient, app_db: Database, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    add_list(app_db, "team")
    wanted = []
    for i in range(9):
        address = f"q{i}@example.org"
        if i % 3 == 0:
            status_on(app_db, address, "team", SubscriptionStatus.UNSUBSCRIBED)
            wanted.append(address)
        else:
            add_subscriber(app_db, address, "team")
    for query in ("status=unsubscribed", "list=team&status=unsubscribed"):
        page = editor.get(f"/admin/subscribers?{query}").text
        walked = shown(page)
        while (nxt := link(page, "next")) is not None:
            page = editor.get(nxt).text
            walked += shown(page)
        assert walked == wanted[::-1], query
        back = link(page, "prev")
        assert back is not None
        assert shown(editor.get(back).text) == wanted[::-1][:2]


def test_browse_filters(editor: TestClient, app_db: Database, db: Database) -> None:
    add_list(app_db, "team")
    add_subscriber(app_db, "ann@example.org", name="Ann Active")
    status_on(app_db, "una@example.org", "news", SubscriptionStatus.UNSUBSCRIBED)
    status_on(app_db, "uma@example.org", "news", SubscriptionStatus.UNCONFIRMED)
    add_subscriber(app_db, "tom@example.org", "team")
    add_subscriber(app_db, "sam@example.org")
    people.suppress(app_db, "sam@example.org", "bounced by hand")

    def emails(query: str) -> set[str]:
        r = editor.get(f"/admin/subscribers?{query}")
        assert r.status_code == 200, r.text
        return set(shown(r.text))

    assert emails("list=team") == {"tom@example.org"}
    assert emails("list=news&status=unsubscribed") == {"una@example.org"}
    assert emails("status=unconfirmed") == {"uma@example.org"}
    assert emails("suppressed=yes") == {"sam@example.org"}
    assert "sam@example.org" not in emails("suppressed=no")
    assert emails("list=news&status=active&suppressed=no") == {"ann@example.org"}
    assert emails("q=active") == {"ann@example.org"}  # by name
    assert emails("q=u") >= {"una@example.org", "uma@example.org"}
    assert emails("q=TOM@example.org") == {"tom@example.org"}  # a whole address
    assert emails("q=100%25") == set()  # LIKE wildcards are literal


@pytest.mark.parametrize(
    ("query", "status", "text"),
    [
        ("status=gone", 422, "status: one of unconfirmed, active, unsubscribed"),
        ("suppressed=maybe", 422, "suppressed: yes or no"),
        ("after=abc", 422, "after: 'abc' is not a subscriber id"),
        ("list=nope", 404, "no list 'nope'"),
    ],
)
def test_browse_refuses_bad_filters(editor: TestClient, query: str, status: int, text: str) -> None:
    r = editor.get(f"/admin/subscribers?{query}")
    assert r.status_code == status and text in html.unescape(r.text)


def test_suppressed_address_never_shows_green_active(editor: TestClient, app_db: Database) -> None:
    add_subscriber(app_db, "held@example.org")
    people.suppress(app_db, "held@example.org", "complained by phone")
    for path in ("/admin/subscribers", "/admin/subscribers/show?email=held@example.org"):
        page = editor.get(path).text
        assert "badge-active" not in page
        assert 'class="badge badge-held"' in page and "active · not mailed" in page
    add_subscriber(app_db, "fine@example.org")
    assert "badge badge-active" in editor.get("/admin/subscribers?q=fine@example.org").text


def test_add_subscriber_active_or_by_confirmation(
    editor: TestClient, app_db: Database, settings: Settings
) -> None:
    token = admin_csrf(editor, "/admin/subscribers/new")
    r = editor.post(
        "/admin/subscribers/new",
        data={
            "email": "New@Example.org",
            "list": "news",
            "name": "Nia",
            "attributes": "city = Ghent\n\nteam=blue",
            "csrf_token": token,
        },
    )
    assert r.status_code == 303
    page = editor.get(r.headers["location"]).text
    assert "New@example.org is now active on news." in page
    assert status_of(app_db, "new@example.org") == "active"
    with app_db.session() as s:
        sub = store.find_subscriber(s, "new@example.org")
        assert sub is not None and sub.attributes == {"city": "Ghent", "team": "blue"}
    assert "added" in page and "web:editor" in page  # in the history

    r = editor.post(
        "/admin/subscribers/new",
        data={
            "email": "c@example.org",
            "list": "news",
            "send_confirmation": "yes",
            "csrf_token": token,
        },
    )
    assert r.status_code == 303
    assert status_of(app_db, "c@example.org") == "unconfirmed"
    Worker(settings, app_db).run(once=True)  # confirmations go through the mail queue
    outbox = settings.path(settings.delivery.outbox_dir)
    assert [p for p in outbox.rglob("*.eml") if "c@example.org" in p.read_text(errors="replace")]


@pytest.mark.parametrize(
    ("setup", "form", "status", "text"),
    [
        ("unsubscribed", {"email": "u@example.org"}, 409, "only they can subscribe again"),
        ("suppressed", {"email": "u@example.org"}, 409, "u@example.org is suppressed (manual)"),
        ("", {"email": "not-an-address"}, 400, "not a valid email address"),
        ("", {"email": ""}, 422, "email: required"),
        (
            "",
            {"email": "a@example.org", "attributes": "no equals sign"},
            422,
            "line 1: expected key = value",
        ),
        ("", {"email": "a@example.org", "list": "nope"}, 404, "no list 'nope'"),
    ],
)
def test_add_subscriber_refusals(
    editor: TestClient, app_db: Database, setup: str, form: dict[str, str], status: int, text: str
) -> None:
    if setup == "unsubscribed":
        status_on(app_db, "u@example.org", "news", SubscriptionStatus.UNSUBSCRIBED)
    elif setup == "suppressed":
        people.suppress(app_db, "u@example.org")
    token = admin_csrf(editor, "/admin/subscribers/new")
    r = editor.post("/admin/subscribers/new", data={"list": "news", **form, "csrf_token": token})
    assert r.status_code == status, r.text
    assert text in html.unescape(r.text)
    assert "flash-error" in r.text  # the form comes back with the error, nothing lost
    if form["email"] and "@" in form["email"]:
        assert f'value="{form["email"]}"' in r.text


def test_every_action_needs_csrf(editor: TestClient, app_db: Database) -> None:
    add_subscriber(app_db, "a@example.org")
    for action in ("new", "edit", "unsubscribe", "suppress", "unsuppress", "forget", "export"):
        r = editor.post(
            f"/admin/subscribers/{action}",
            data={"email": "a@example.org", "list": "news", "confirmed": "yes"},
        )
        assert r.status_code == 403, action
    assert status_of(app_db, "a@example.org") == "active"


def test_pages_need_login(client: TestClient) -> None:
    for path in (
        "/admin/subscribers",
        "/admin/subscribers/new",
        "/admin/lists/news",
        "/admin/lists/news/import",
        "/admin/lists/news/export.csv",
    ):
        r = client.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path


def test_edit_name_and_attributes(editor: TestClient, app_db: Database) -> None:
    add_subscriber(app_db, "e@example.org", name="Old")
    token = admin_csrf(editor, "/admin/subscribers/show?email=e@example.org")
    r = editor.post(
        "/admin/subscribers/edit",
        data={
            "email": "e@example.org",
            "name": "New Name",
            "attributes": "k = v",
            "csrf_token": token,
        },
    )
    page = editor.get(r.headers["location"]).text
    assert "e@example.org updated." in page and "attributes k" in page
    with app_db.session() as s:
        sub = store.find_subscriber(s, "e@example.org")
        assert sub is not None and (sub.name, sub.attributes) == ("New Name", {"k": "v"})
    r = editor.post(
        "/admin/subscribers/edit",
        data={"email": "e@example.org", "name": "x" * 201, "attributes": "", "csrf_token": token},
    )
    page = editor.get(r.headers["location"]).text
    assert "name: longer than 200 characters" in page and "flash-error" in page
    r = editor.post(
        "/admin/subscribers/edit",
        data={"email": "ghost@example.org", "name": "G", "csrf_token": token},
    )
    assert r.status_code == 404


def test_unsubscribe_asks_first_then_records(editor: TestClient, app_db: Database) -> None:
    add_subscriber(app_db, "u@example.org")
    token = admin_csrf(editor, "/admin/subscribers/show?email=u@example.org")
    form = {"email": "u@example.org", "list": "news", "csrf_token": token}
    asked = editor.post("/admin/subscribers/unsubscribe", data=form)
    assert asked.status_code == 200 and "Unsubscribe u@example.org from news?" in asked.text
    assert 'name="confirmed" value="yes"' in asked.text
    assert status_of(app_db, "u@example.org") == "active"  # nothing happened yet
    r = editor.post("/admin/subscribers/unsubscribe", data={**form, "confirmed": "yes"})
    assert r.status_code == 303
    page = editor.get(r.headers["location"]).text
    assert "u@example.org is unsubscribed from news." in page
    assert status_of(app_db, "u@example.org") == "unsubscribed"
    assert [h.action for h in people.history(app_db, "u@example.org")] == ["unsubscribed"]
    r = editor.post("/admin/subscribers/unsubscribe", data={**form, "confirmed": "yes"})
    assert "was not subscribed to news" in editor.get(r.headers["location"]).text
    r = editor.post("/admin/subscribers/unsubscribe", data={**form, "list": "", "confirmed": "yes"})
    assert "list: required" in editor.get(r.headers["location"]).text
    r = editor.post("/admin/subscribers/frobnicate", data=form)
    assert r.status_code == 404


def test_forget_asks_first_and_keeps_only_the_hash(
    editor: TestClient, app_db: Database, db: Database
) -> None:
    add_subscriber(app_db, "f@example.org", name="Fay")
    people.suppress(app_db, "f@example.org", "x")
    token = admin_csrf(editor, "/admin/subscribers/show?email=f@example.org")
    form = {"email": "f@example.org", "csrf_token": token}
    asked = editor.post("/admin/subscribers/forget", data=form)
    assert "Forget f@example.org?" in asked.text and status_of(app_db, "f@example.org") == "active"
    assert "feedback events and queued mail; reports keep their counts" in asked.text
    r = editor.post("/admin/subscribers/forget", data={**form, "confirmed": "yes"})
    assert r.status_code == 303 and r.headers["location"] == "/admin/subscribers"
    assert "f@example.org is forgotten" in editor.get("/admin/subscribers").text
    assert status_of(app_db, "f@example.org") is None
    with app_db.session() as s:
        supp = store.get_suppression(s, "f@example.org")
        assert (
            supp is not None and supp.reason == SuppressionReason.FORGOTTEN and supp.email is None
        )
    lines = people.history(app_db, "f@example.org")
    assert [(h.action, h.actor) for h in lines] == [("forgotten", "web:editor")]
    assert "Fay" not in json.dumps([h.detail for h in lines])
    page = editor.get("/admin/subscribers/show?email=f@example.org").text
    assert "Personal data erased" in page and "Unsuppress" not in page
    r = editor.post("/admin/subscribers/unsuppress", data={**form, "confirmed": "yes"})
    assert "stays suppressed" in editor.get(r.headers["location"]).text


def test_export_person_as_json(editor: TestClient, app_db: Database, settings: Settings) -> None:
    add_subscriber(app_db, "x@example.org", name="Xan")
    people.unsubscribe(app_db, "x@example.org", "news", "asked")
    token = admin_csrf(editor, "/admin/subscribers/show?email=x@example.org")
    r = editor.post(
        "/admin/subscribers/export", data={"email": "x@example.org", "csrf_token": token}
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert 'filename="x_example.org.json"' in r.headers["content-disposition"]
    data: dict[str, Any] = r.json()
    assert data["email"] == "x@example.org" and data["name"] == "Xan"
    assert data["subscriptions"][0]["list"] == "news"
    assert data["subscriptions"][0]["status"] == "unsubscribed"
    assert [h["action"] for h in data["history"]] == ["data exported", "unsubscribed"]
    r = editor.post(
        "/admin/subscribers/export", data={"email": "nobody@example.org", "csrf_token": token}
    )
    assert r.status_code == 404


def test_list_page_counts_match_the_cli(
    editor: TestClient, app_db: Database, db: Database, mailer_cli: Any
) -> None:
    for i in range(3):
        add_subscriber(app_db, f"a{i}@example.org")
    status_on(app_db, "u@example.org", "news", SubscriptionStatus.UNSUBSCRIBED)
    status_on(app_db, "w@example.org", "news", SubscriptionStatus.UNCONFIRMED)
    people.suppress(app_db, "a0@example.org")
    page = editor.get("/admin/lists/news").text
    figures = {
        m.group(1): int(m.group(2).replace(",", ""))
        for m in re.finditer(
            r'data-figure="(\w+)"[^>]*>.*?<div class="value">([\d,]+)</div>', page, re.S
        )
    }
    result = mailer_cli("lists", "show")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if " news " in f" {line} ")
    cli = [int(n) for n in re.findall(r"\b\d+\b", row.split("List", 1)[-1])]
    # active, unconfirmed, unsubscribed, suppressed, mailable
    assert cli == [3, 1, 1, 1, 2]
    assert [
        figures[k] for k in ("active", "unconfirmed", "unsubscribed", "suppressed", "mailable")
    ] == cli
    members = editor.get("/admin/subscribers?list=news&status=active&suppressed=no").text
    assert len(shown(members)) == figures["mailable"]
    assert editor.get("/admin/lists/nope").status_code == 404


def test_export_list_csv(editor: TestClient, app_db: Database) -> None:
    add_subscriber(app_db, "a@example.org")
    add_subscriber(app_db, "s@example.org")
    status_on(app_db, "u@example.org", "news", SubscriptionStatus.UNSUBSCRIBED)
    people.suppress(app_db, "s@example.org")
    r = editor.get("/admin/lists/news/export.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="news-all.csv"' in r.headers["content-disposition"]
    lines = r.text.splitlines()
    assert lines[0].startswith("email,name,status") and len(lines) == 4
    active = editor.get("/admin/lists/news/export.csv?status=active").text.splitlines()
    assert [line.split(",")[0] for line in active[1:]] == ["a@example.org"]  # not the suppressed
    r = editor.get("/admin/lists/news/export.csv?status=gone")
    assert r.status_code == 422 and "status: one of" in r.text
    assert editor.get("/admin/lists/nope/export.csv").status_code == 404
