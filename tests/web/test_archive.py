"""The public archive, feeds, the home page, the SNS webhook and the CLI commands."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from mailer.config import Settings
from mailer.db import Database
from tests.support.web import SAMPLE, add_subscriber, send_sample

ATOM = "{http://www.w3.org/2005/Atom}"


def test_unsent_issue_is_not_published(client: TestClient) -> None:
    r = client.get(f"/issues/{SAMPLE}/")
    assert r.status_code == 404
    assert "no published issue" in r.text


def test_sent_issue_and_its_story_pages(
    client: TestClient, app_db: Database, settings: Settings
) -> None:
    add_subscriber(app_db, "reader@example.org")
    send_sample(settings, app_db)
    r = client.get(f"/issues/{SAMPLE}/")
    assert r.status_code == 200
    assert "AI to everything in China" in r.text
    assert "%%" not in r.text  # no per-recipient placeholder in the public page
    assert "public" in r.headers["cache-control"]
    assert "script-src" not in r.headers["content-security-policy"]
    story = "large-models-to-act-as-traffic-lights-in"
    page = client.get(f"/issues/{SAMPLE}/{story}/")
    assert page.status_code == 200 and "traffic lights" in page.text.lower()
    assert (
        client.get(f"/issues/{SAMPLE}/{story}").headers["location"] == f"/issues/{SAMPLE}/{story}/"
    )
    assert client.get(f"/issues/{SAMPLE}/no-such-story/").status_code == 404
    index = client.get("/issues/")
    assert f'href="/issues/{SAMPLE}/"' in index.text
    home = client.get("/")
    assert "The News List" in home.text and f"/issues/{SAMPLE}/" in home.text


def test_feed_lists_sent_issues(client: TestClient, app_db: Database, settings: Settings) -> None:
    empty = ET.fromstring(client.get("/lists/news/feed.xml").content)
    assert empty.findall(f"{ATOM}entry") == []
    add_subscriber(app_db, "reader@example.org")
    send_sample(settings, app_db)
    r = client.get("/lists/news/feed.xml")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(r.content)
    assert feed.findtext(f"{ATOM}title") == "The News List"
    [entry] = feed.findall(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title", "").startswith("AI to everything in China")
    link = entry.find(f"{ATOM}link")
    assert link is not None and link.get("href") == f"https://news.example.org/issues/{SAMPLE}/"
    assert "CT scans" in (entry.findtext(f"{ATOM}summary") or "")
    assert client.get("/lists/nope/feed.xml").status_code == 404


def test_webhook_refuses_forged_requests(client: TestClient) -> None:
    r = client.post("/webhooks/ses", content=b"not json")
    assert r.status_code == 400 and "not JSON" in r.text
    fake = {
        "Type": "Notification",
        "MessageId": "m1",
        "TopicArn": "arn:aws:sns:eu-west-1:123:evil",
        "Message": "{}",
        "Timestamp": "2026-01-01T00:00:00.000Z",
        "SignatureVersion": "1",
        "Signature": "AAAA",
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/x.pem",
    }
    r = client.post("/webhooks/ses", content=json.dumps(fake).encode())
    assert r.status_code == 403 and "not in events.topic_arns" in r.text
    assert "set-cookie" not in r.headers


def test_webhook_refuses_oversized_body(client: TestClient, settings: Settings) -> None:
    big = b"x" * (settings.events.max_body_bytes + 1)
    r = client.post("/webhooks/ses", content=big)
    assert r.status_code == 413


def test_webhook_only_takes_post(client: TestClient) -> None:
    assert client.get("/webhooks/ses").status_code == 405


def test_users_cli(mailer_cli, web_db: Database) -> None:
    r = mailer_cli("users", "add", "alice", "--password-stdin", input="long enough pw\n")
    assert r.exit_code == 0, r.output
    assert "user alice added" in r.output
    r = mailer_cli("users", "add", "alice", "--password-stdin", input="long enough pw\n")
    assert r.exit_code == 1 and "already exists" in r.output
    r = mailer_cli("users", "add", "bob", "--password-stdin", input="short\n")
    assert r.exit_code == 1 and r.output.startswith("Error: password too short")
    r = mailer_cli("users", "add", "bad name", "--password-stdin", input="long enough pw\n")
    assert r.exit_code == 1 and "not valid" in r.output
    r = mailer_cli("users", "list")
    assert "alice  (database)" in r.output
    r = mailer_cli("users", "remove", "alice")
    assert r.exit_code == 0
    r = mailer_cli("users", "remove", "alice")
    assert r.exit_code == 1 and "no user 'alice'" in r.output


def test_users_hash_cli() -> None:
    from argon2 import PasswordHasher

    from mailer.cli import cli

    r = CliRunner().invoke(cli, ["users", "hash", "--password-stdin"], input="config password\n")
    assert r.exit_code == 0
    digest = r.output.strip()
    assert digest.startswith("$argon2id$")
    assert PasswordHasher().verify(digest, "config password")


def test_serve_help_names_its_options(mailer_cli) -> None:
    r = mailer_cli("serve", "--help")
    assert r.exit_code == 0 and "--host" in r.output and "--port" in r.output


def test_serve_refuses_an_empty_database(mailer_cli, settings: Settings, tmp_path) -> None:
    settings.database.url = f"sqlite:///{tmp_path / 'empty.db'}"
    r = mailer_cli("serve", "--port", "1")
    assert r.exit_code == 1
    assert r.output.strip() == "Error: the database has no tables yet: run mailer db upgrade"


def test_unknown_issue_names_are_not_cached(client: TestClient) -> None:
    for i in range(20):
        assert client.get(f"/issues/random-{i}/").status_code == 404
    cache = client.app.state.web.issues  # type: ignore[attr-defined]
    assert not any("random-" in key for _what, key in cache._data)


def test_webhook_passes_a_signed_notification_through(
    client: TestClient, app_db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import select

    from mailer.db.models import Event
    from mailer.events import sns
    from tests.support.events import CERT_PEM, TOPIC, headers_for, notification

    # The certificate comes from the test's own SNS key, not from the network.
    monkeypatch.setattr(sns, "_default_cache", sns.CertificateCache(fetcher=lambda url: CERT_PEM))
    settings.events.topic_arns = [TOPIC]
    doc = notification("Hello from SNS")
    r = client.post("/webhooks/ses", content=json.dumps(doc).encode(), headers=headers_for(doc))
    assert r.status_code == 200, r.text
    with app_db.session() as s:
        (event,) = s.scalars(select(Event))
    assert event.payload == "Hello from SNS"
    # The header must agree with the body: the mount passes headers through.
    other = notification("again")
    r = client.post(
        "/webhooks/ses",
        content=json.dumps(other).encode(),
        headers={**headers_for(other), "x-amz-sns-message-type": "SubscriptionConfirmation"},
    )
    assert r.status_code == 400
