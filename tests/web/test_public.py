"""Subscriber pages: subscribe, confirm, unsubscribe (page and RFC 8058 one-click), preferences."""

from __future__ import annotations

import email
import re
from datetime import timedelta
from email import policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, text
from starlette.testclient import TestClient

from mailer import links
from mailer.clock import utcnow
from mailer.config import Settings
from mailer.db import Database
from mailer.db import subscribers as lists_store
from mailer.db.models import QueuedMail, Recipient, Send
from mailer.deliver.worker import Worker
from mailer.lists.addresses import email_hash
from mailer.lists.optin import unsubscribe_by_token
from mailer.status import RecipientStatus, SendStatus
from mailer.web import create_app
from tests.support.deliver import body_of
from tests.support.peers import free_port
from tests.support.rows import mailing_list
from tests.support.web import add_list, add_subscriber, csrf_of, status_of


def _outbox(settings: Settings, db: Database) -> list[Path]:
    """What the worker delivers from the mail queue (it runs first)."""
    Worker(settings, db).run(once=True)
    folder = settings.path(settings.delivery.outbox_dir)
    return sorted(folder.rglob("*.eml")) if folder.exists() else []


def _token(settings: Settings, purpose: str, address: str, list_slug: str = "news") -> str:
    return links.make_token(settings, purpose, list_slug, email_hash(address))


def _subscribe(client: TestClient, address: str, slug: str = "news", **extra: str):
    page = client.get(f"/subscribe/{slug}")
    data = {"email": address, "name": "Jo", "csrf_token": csrf_of(page.text), **extra}
    return client.post(f"/subscribe/{slug}", data=data)


# --- subscribe and confirm ----------------------------------------------------------------


def test_subscribe_form(client: TestClient) -> None:
    r = client.get("/subscribe/news")
    assert r.status_code == 200
    assert "Subscribe to The News List" in r.text and 'name="email"' in r.text
    assert "We will email you a link to confirm" in r.text


def test_double_opt_in_subscribe_then_confirm(
    client: TestClient, db: Database, settings: Settings
) -> None:
    app_db = db
    r = _subscribe(client, "new@example.org")
    assert r.status_code == 303 and r.headers["location"] == "/subscribe/news/thanks"
    assert "Please check your inbox" in client.get(r.headers["location"]).text
    assert status_of(app_db, "new@example.org") is None  # the worker handles the request
    [eml] = _outbox(settings, app_db)
    assert status_of(app_db, "new@example.org") == "unconfirmed"
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    body = body_of(msg, "plain")
    url = re.search(r"https://news\.example\.org(/confirm/\S+)", body)
    assert url, body
    path = url.group(1)
    # GET only shows a button: link scanners must not confirm on their own.
    page = client.get(path)
    assert page.status_code == 200 and "Yes, subscribe me" in page.text
    assert status_of(app_db, "new@example.org") == "unconfirmed"
    done = client.post(path, data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 200 and "You are subscribed" in done.text
    assert status_of(app_db, "new@example.org") == "active"


def test_confirm_needs_csrf(client: TestClient, settings: Settings) -> None:
    token = links.make_confirm_token(settings, "news", email_hash("x@example.org"))
    r = client.post(f"/confirm/{token}", data={"csrf_token": "nope"})
    assert r.status_code == 403


def test_forged_confirm_link_is_400(client: TestClient) -> None:
    r = client.get("/confirm/not-a-real-token")
    assert r.status_code == 400
    assert "This confirmation link is not valid." in r.text


def test_single_opt_in_list(settings: Settings, web_db: Database) -> None:
    add_list(web_db, "open", double_opt_in=False)
    with TestClient(create_app(settings, web_db), follow_redirects=False) as c:
        r = _subscribe(c, "open@example.org", "open")
        assert r.status_code == 303
        assert "Your subscription to The Open List is recorded" in c.get(r.headers["location"]).text
    assert _outbox(settings, web_db) == []
    assert status_of(web_db, "open@example.org", "open") == "active"


def test_same_answer_whether_or_not_subscribed(client: TestClient, app_db: Database) -> None:
    add_subscriber(app_db, "old@example.org")
    first = _subscribe(client, "old@example.org")
    second = _subscribe(client, "fresh@example.org")
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert client.get(first.headers["location"]).text == client.get(second.headers["location"]).text


def test_one_confirmation_per_address_per_hour(
    client: TestClient, settings: Settings, app_db: Database
) -> None:
    for _ in range(3):
        assert _subscribe(client, "twice@example.org").status_code == 303
    assert len(_outbox(settings, app_db)) == 1


def test_bad_address_is_explained_and_kept(
    client: TestClient, settings: Settings, app_db: Database
) -> None:
    r = _subscribe(client, "not an address")
    assert r.status_code == 422
    assert 'value="not an address"' in r.text  # what was typed is kept
    assert "flash-error" in r.text
    assert _outbox(settings, app_db) == []


def test_honeypot_gets_the_same_answer_and_no_mail(
    client: TestClient, settings: Settings, app_db: Database
) -> None:
    r = _subscribe(client, "bot@example.org", website="http://spam.example")
    assert r.status_code == 303 and r.headers["location"] == "/subscribe/news/thanks"
    assert _outbox(settings, app_db) == []


def test_subscribe_without_csrf_is_403(
    client: TestClient, settings: Settings, app_db: Database
) -> None:
    r = client.post("/subscribe/news", data={"email": "a@example.org"})
    assert r.status_code == 403
    page_of_other_list = csrf_of(client.get("/subscribe/news").text)
    r = client.post(
        "/subscribe/other", data={"email": "a@example.org", "csrf_token": page_of_other_list}
    )
    assert r.status_code in (403, 404)
    assert _outbox(settings, app_db) == []


def test_subscribe_rate_limit_429(settings: Settings, web_db: Database) -> None:
    settings.web.subscribe_per_minute = 3
    add_list(web_db)
    with TestClient(create_app(settings, web_db), follow_redirects=False) as c:
        codes = [_subscribe(c, f"r{i}@example.org").status_code for i in range(4)]
        last = _subscribe(c, "r9@example.org")
    assert codes == [303, 303, 303, 429]
    assert last.status_code == 429 and int(last.headers["retry-after"]) >= 1
    assert "Too many attempts" in last.text
    assert len(_outbox(settings, web_db)) == 3


# --- unsubscribe ---------------------------------------------------------------------------


def test_unsubscribe_page_then_button(
    client: TestClient, app_db: Database, settings: Settings
) -> None:
    add_subscriber(app_db, "leave@example.org")
    path = f"/u/{_token(settings, 'unsubscribe', 'leave@example.org')}"
    page = client.get(path)
    assert page.status_code == 200 and "Unsubscribe from The News List?" in page.text
    assert status_of(app_db, "leave@example.org") == "active"  # a GET changes nothing
    assert "set-cookie" not in page.headers
    done = client.post(path, data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    assert status_of(app_db, "leave@example.org") == "unsubscribed"
    # "Subscribe me again" undoes a mistaken click.
    again = client.post(f"{path}/resubscribe", data={"csrf_token": csrf_of(done.text)})
    assert again.status_code == 200 and "Welcome back" in again.text
    assert status_of(app_db, "leave@example.org") == "active"


def test_an_old_unsubscribe_link_cannot_resubscribe_without_confirmation(
    client: TestClient, app_db: Database, settings: Settings
) -> None:
    from sqlalchemy import update

    from mailer.db.models import Subscription

    add_subscriber(app_db, "gone-a-while@example.org")
    path = f"/u/{_token(settings, 'unsubscribe', 'gone-a-while@example.org')}"
    done = client.post(path, data={"csrf_token": csrf_of(client.get(path).text)})
    with app_db.session() as s:  # the unsubscribe was two hours ago
        s.execute(update(Subscription).values(status_changed_at=utcnow() - timedelta(hours=2)))
    again = client.post(f"{path}/resubscribe", data={"csrf_token": csrf_of(done.text)})
    assert again.status_code == 200 and "we have sent it a link to confirm" in again.text
    assert status_of(app_db, "gone-a-while@example.org") == "unsubscribed"
    [eml] = _outbox(settings, app_db)
    assert "gone-a-while@example.org" in eml.name


def test_one_click_post(client: TestClient, db: Database, settings: Settings) -> None:
    add_subscriber(db, "oneclick@example.org")
    token = _token(settings, "unsubscribe", "oneclick@example.org")
    client.cookies.clear()
    r = client.post(
        f"/u/{token}",
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200  # no redirect, no login, no CSRF
    assert "set-cookie" not in r.headers
    assert status_of(db, "oneclick@example.org") == "unsubscribed"
    # Idempotent: a second POST (providers retry) answers the same.
    again = client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200 and again.text == r.text


def test_one_click_multipart(client: TestClient, app_db: Database, settings: Settings) -> None:
    add_subscriber(app_db, "multi@example.org")
    token = _token(settings, "unsubscribe", "multi@example.org")
    r = client.post(f"/u/{token}", files={"List-Unsubscribe": (None, "One-Click")})
    assert r.status_code == 200
    assert status_of(app_db, "multi@example.org") == "unsubscribed"


def test_unknown_address_gets_the_same_answer(
    client: TestClient, app_db: Database, settings: Settings
) -> None:
    add_subscriber(app_db, "known@example.org")
    known = client.post(
        f"/u/{_token(settings, 'unsubscribe', 'known@example.org')}",
        data={"List-Unsubscribe": "One-Click"},
    )
    unknown = client.post(
        f"/u/{_token(settings, 'unsubscribe', 'nobody@example.org')}",
        data={"List-Unsubscribe": "One-Click"},
    )
    assert (known.status_code, known.text) == (unknown.status_code, unknown.text)


@pytest.mark.parametrize(
    "token",
    [
        "forged",
        "WyJuZXdzIiwiYWJjIl0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ],
)
def test_forged_unsubscribe_token_is_400(client: TestClient, app_db: Database, token: str) -> None:
    add_subscriber(app_db, "victim@example.org")
    for r in (
        client.get(f"/u/{token}"),
        client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"}),
    ):
        assert r.status_code == 400
        assert "This link is not valid" in r.text
    assert status_of(app_db, "victim@example.org") == "active"


def test_token_for_another_purpose_is_refused(
    client: TestClient, app_db: Database, settings: Settings
) -> None:
    add_subscriber(app_db, "p@example.org")
    prefs = _token(settings, "preferences", "p@example.org")
    r = client.post(f"/u/{prefs}", data={"List-Unsubscribe": "One-Click"})
    assert r.status_code == 400
    assert status_of(app_db, "p@example.org") == "active"


def test_token_cannot_be_edited_to_target_someone_else(
    client: TestClient, app_db: Database, settings: Settings
) -> None:
    add_subscriber(app_db, "me@example.org")
    add_subscriber(app_db, "them@example.org")
    mine = _token(settings, "unsubscribe", "me@example.org")
    theirs = _token(settings, "unsubscribe", "them@example.org")
    payload_of_theirs, sig_of_mine = theirs.split(".")[0], mine.split(".")[1]
    r = client.post(f"/u/{payload_of_theirs}.{sig_of_mine}", data={"List-Unsubscribe": "One-Click"})
    assert r.status_code == 400
    assert status_of(app_db, "them@example.org") == "active"


def test_unsubscribe_form_without_csrf_is_403(
    client: TestClient, app_db: Database, settings: Settings
) -> None:
    add_subscriber(app_db, "f@example.org")
    r = client.post(f"/u/{_token(settings, 'unsubscribe', 'f@example.org')}", data={"x": "1"})
    assert r.status_code == 403
    assert status_of(app_db, "f@example.org") == "active"


# --- preferences ---------------------------------------------------------------------------


def test_preferences_choose_lists(client: TestClient, db: Database, settings: Settings) -> None:
    app_db = db
    add_list(app_db, "weekly", name="Weekly Digest")
    add_subscriber(app_db, "pref@example.org")
    path = f"/preferences/{_token(settings, 'preferences', 'pref@example.org')}"
    page = client.get(path)
    assert page.status_code == 200
    assert 'value="news" checked' in page.text and 'value="weekly" >' in page.text
    r = client.post(path, data={"csrf_token": csrf_of(page.text), "lists": ["weekly"]})
    assert r.status_code == 200 and "Your choices are saved." in r.text
    assert status_of(app_db, "pref@example.org") == "unsubscribed"  # leaving takes effect at once
    # Adding does not: the link may be old or forwarded. The mailbox confirms.
    assert "please click the confirmation link we have emailed you for: Weekly Digest" in r.text
    assert status_of(app_db, "pref@example.org", "weekly") == "unconfirmed"
    [eml] = _outbox(settings, app_db)
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert msg["To"] == "pref@example.org" and "Weekly Digest" in msg["Subject"]
    body = body_of(msg, "plain")
    confirm_path = re.search(r"https://news\.example\.org(/confirm/\S+)", body).group(1)  # type: ignore[union-attr]
    done = client.post(confirm_path, data={"csrf_token": csrf_of(client.get(confirm_path).text)})
    assert done.status_code == 200
    assert status_of(app_db, "pref@example.org", "weekly") == "active"
    assert 'value="weekly" checked' in client.get(path).text


def test_an_old_preferences_link_cannot_resubscribe_without_confirmation(
    client: TestClient, app_db: Database, settings: Settings
) -> None:
    add_subscriber(app_db, "left@example.org")
    path = f"/preferences/{_token(settings, 'preferences', 'left@example.org')}"
    page = client.get(path)
    client.post(path, data={"csrf_token": csrf_of(page.text)})  # unticks everything: leaves
    assert status_of(app_db, "left@example.org") == "unsubscribed"
    # Whoever holds the link later (a forwarded newsletter) ticks the list again.
    r = client.post(path, data={"csrf_token": csrf_of(page.text), "lists": ["news"]})
    assert r.status_code == 200
    assert status_of(app_db, "left@example.org") == "unsubscribed"
    assert len(_outbox(settings, app_db)) == 1  # only the owner's confirmation can undo it


def test_preferences_never_reactivate_a_suppressed_address(
    client: TestClient, db: Database, settings: Settings
) -> None:
    from mailer.db import subscribers as store

    add_list(db, "weekly", name="Weekly Digest")
    add_subscriber(db, "gone@example.org")
    with db.session() as s:
        store.suppress(s, "gone@example.org", "complaint", "test")
    path = f"/preferences/{_token(settings, 'preferences', 'gone@example.org')}"
    page = client.get(path)
    r = client.post(path, data={"csrf_token": csrf_of(page.text), "lists": ["weekly"]})
    assert r.status_code == 200
    assert status_of(db, "gone@example.org", "weekly") is None  # not subscribed to the new list
    assert status_of(db, "gone@example.org") == "unsubscribed"  # leaving still works


def test_forged_preferences_token_is_400(client: TestClient) -> None:
    assert client.get("/preferences/forged.token").status_code == 400


def test_form_answers_while_the_mail_server_is_down(
    client: TestClient, app_db: Database, settings: Settings
) -> None:
    settings.delivery.transport = "smtp"
    settings.smtp.port = free_port()  # nobody listens there
    settings.smtp.timeout = 2
    r = _subscribe(client, "later@example.org")
    assert r.status_code == 303 and r.headers["location"] == "/subscribe/news/thanks"
    Worker(settings, app_db).run(once=True)
    with app_db.session() as s:
        [mail] = s.scalars(select(QueuedMail).where(QueuedMail.kind == "confirm")).all()
    # Queued for a retry with backoff, nothing lost.
    assert mail.status == "queued" and mail.attempts == 1 and mail.next_attempt_at is not None
    assert mail.to_email == "later@example.org" and "/confirm/" in mail.text


def _statements(db: Database, client: TestClient, address: str) -> list[str]:
    """Every SQL statement the subscribe POST runs (the GET for its form not included)."""
    page = client.get("/subscribe/news")
    seen: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        r = client.post(
            "/subscribe/news",
            data={"email": address, "name": "Jo", "csrf_token": csrf_of(page.text)},
        )
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert r.status_code == 303
    return seen


def _people(db: Database) -> tuple[object, ...]:
    with db.session() as s:
        return (
            s.execute(text("SELECT id, email, name FROM subscribers ORDER BY id")).all(),
            s.execute(
                text("SELECT list_id, subscriber_id, status, confirm_sent_at FROM subscriptions")
            ).all(),
        )


def test_form_does_the_same_database_work_for_every_address(
    client: TestClient, db: Database, settings: Settings
) -> None:
    add_subscriber(db, "old@example.org", name="Old Reader")
    people = _people(db)
    known = _statements(db, client, "old@example.org")
    fresh = _statements(db, client, "fresh@example.org")
    assert known == fresh
    writes = [st for st in known if not st.upper().startswith(("SELECT", "BEGIN", "COMMIT"))]
    assert len(writes) == 1 and writes[0].upper().startswith("INSERT INTO MAIL_QUEUE"), writes
    # The form touched nobody's subscription: that is the worker's job.
    assert _people(db) == people
    with db.session() as s:
        rows = s.scalars(select(QueuedMail).order_by(QueuedMail.id)).all()
        shapes = [(r.kind, r.status, r.list_id, sorted(r.data)) for r in rows]
    assert shapes[0] == shapes[1] == ("subscribe", "queued", shapes[0][2], ["list", "source"])
    # The worker then mails only the new address, and keeps no address in the requests.
    Worker(settings, db).run(once=True)
    with db.session() as s:
        rows = s.scalars(select(QueuedMail).order_by(QueuedMail.id)).all()
    assert [(r.kind, r.status, r.to_email) for r in rows] == [
        ("subscribe", "done", ""),
        ("subscribe", "done", ""),
        ("confirm", "sent", "fresh@example.org"),
    ]
    assert status_of(db, "old@example.org") == "active"
    assert status_of(db, "fresh@example.org") == "unconfirmed"


def test_one_click_for_a_list_that_is_gone(
    client: TestClient, db: Database, settings: Settings
) -> None:
    add_subscriber(db, "stay@example.org")
    token = _token(settings, "unsubscribe", "stay@example.org", list_slug="deleted-list")
    r = client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"})
    assert r.status_code == 200  # nobody is mailed from a list that does not exist
    assert status_of(db, "stay@example.org") == "active"
    from mailer.errors import NotFoundError

    with pytest.raises(NotFoundError):
        unsubscribe_by_token(db, links.ListToken("deleted-list", email_hash("stay@example.org")))


def test_one_click_is_one_statement_outside_a_transaction_on_postgresql(
    client: TestClient, db: Database, settings: Settings
) -> None:
    """The one-click path under load: PostgreSQL one statement in autocommit, SQLite two."""
    add_subscriber(db, "quick@example.org")
    token = _token(settings, "unsubscribe", "quick@example.org")
    seen: list[tuple[str, object]] = []

    def record(conn: Any, cursor: object, statement: str, *args: object) -> None:
        seen.append(
            (statement.split()[0].upper(), conn.get_execution_options().get("isolation_level"))
        )

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        r = client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"})
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert r.status_code == 200
    assert status_of(db, "quick@example.org") == "unsubscribed"
    if db.is_sqlite:
        assert [kind for kind, _ in seen] == ["UPDATE", "UPDATE"]
    else:
        assert seen == [("WITH", "AUTOCOMMIT")]


def test_one_click_credits_the_latest_message_from_that_list_once(
    client: TestClient, db: Database, settings: Settings
) -> None:
    """The send whose message carried the link counts the unsubscribe in its report."""
    add_subscriber(db, "credit@example.org")
    add_subscriber(db, "other@example.org")
    now = utcnow()
    rows = {}
    with db.session() as s:
        sub = lists_store.find_subscriber(s, "credit@example.org")
        assert sub is not None
        offers = mailing_list("offers")
        s.add(offers)
        s.flush()
        news_id = lists_store.get_list(s, "news").id
        # An older and a newer message from "news", and a newer one still from "offers".
        for label, list_id, days in (
            ("old", news_id, 9),
            ("new", news_id, 2),
            ("offers", offers.id, 1),
        ):
            send = Send(
                issue_slug=f"issue-{label}",
                list_id=list_id,
                subject=label,
                status=SendStatus.DONE,
                status_reason="",
                created_at=now,
                total=1,
            )
            s.add(send)
            s.flush()
            row = Recipient(
                send_id=send.id,
                subscriber_id=sub.id,
                email=sub.email,
                email_hash=sub.email_hash,
                status=RecipientStatus.SENT,
                attempts=1,
                error="",
                sent_at=now - timedelta(days=days),
                opens=0,
                clicks=0,
            )
            s.add(row)
            s.flush()
            rows[label] = row.id

    def credited() -> dict[str, bool]:
        with db.session() as s:
            found = {r.id: r.unsubscribed_at for r in s.scalars(select(Recipient))}
            return {label: found[rid] is not None for label, rid in rows.items()}

    token = _token(settings, "unsubscribe", "credit@example.org")
    r = client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"})
    assert r.status_code == 200
    assert status_of(db, "credit@example.org") == "unsubscribed"
    assert credited() == {"old": False, "new": True, "offers": False}
    # A repeat changes nothing; an address nobody knows changes nothing.
    assert not unsubscribe_by_token(db, links.ListToken("news", email_hash("credit@example.org")))
    assert not unsubscribe_by_token(db, links.ListToken("news", email_hash("nobody@example.org")))
    assert credited() == {"old": False, "new": True, "offers": False}
    assert status_of(db, "other@example.org") == "active"
