"""Parsing every payload kind, and `mailer events ingest` replaying files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailer.db.models import Event, Suppression
from mailer.errors import ParseError
from mailer.events.parse import Kind, parse_document, parse_ses
from mailer.lists.addresses import email_hash
from tests.support.events import AWS_EXAMPLES, PAYLOADS, World, payload

EXPECTED = {
    "event-bounce-permanent.json": (Kind.BOUNCE, ["alice@example.org"]),
    "event-bounce-transient.json": (Kind.BOUNCE, ["bob@example.org"]),
    "event-complaint.json": (Kind.COMPLAINT, ["carol@example.org"]),
    "event-delivery.json": (Kind.DELIVERY, ["dave@example.org"]),
    "event-send.json": (Kind.SEND, ["dave@example.org"]),
    "event-reject.json": (Kind.REJECT, ["bob@example.org"]),
    "event-deliverydelay.json": (Kind.DELIVERY_DELAY, ["dave@example.org"]),
    "event-open.json": (Kind.OPEN, ["dave@example.org"]),
    "event-click.json": (Kind.CLICK, ["dave@example.org"]),
    "event-rendering-failure.json": (Kind.RENDERING_FAILURE, ["carol@example.org"]),
    "event-subscription.json": (Kind.SUBSCRIPTION, ["alice@example.org"]),
    "notification-bounce-multi.json": (Kind.BOUNCE, ["erin@example.org", "grace@example.org"]),
    "notification-complaint.json": (Kind.COMPLAINT, ["frank@example.org"]),
    "notification-delivery.json": (
        Kind.DELIVERY,
        ["erin@example.org", "frank@example.org", "grace@example.org"],
    ),
}


def test_every_fixture_is_covered() -> None:
    assert sorted(p.name for p in PAYLOADS.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses(name: str) -> None:
    kind, emails = EXPECTED[name]
    events = parse_ses(payload(name))
    assert [e.kind for e in events] == [kind] * len(emails)
    assert [e.email for e in events] == emails
    # From the X-Mailer-Send-Id header; rendering failures carry no headers in SES's shape.
    assert all(e.send_id == (None if "rendering" in name else 1) for e in events)
    assert len({e.dedupe_key for e in events}) == len(events)


AWS_EXPECTED = {
    "notification-bounce-with-dsn.json": (Kind.BOUNCE, 1),
    "notification-bounce-without-dsn.json": (Kind.BOUNCE, 2),
    "notification-complaint-with-feedback-report.json": (Kind.COMPLAINT, 1),
    "notification-complaint-without-feedback-report.json": (Kind.COMPLAINT, 1),
    "notification-delivery.json": (Kind.DELIVERY, 1),
    "event-bounce.json": (Kind.BOUNCE, 1),
    "event-click.json": (Kind.CLICK, 1),
    "event-complaint.json": (Kind.COMPLAINT, 1),
    "event-delivery.json": (Kind.DELIVERY, 1),
    "event-deliverydelay.json": (Kind.DELIVERY_DELAY, 1),
    "event-open.json": (Kind.OPEN, 1),
    "event-reject.json": (Kind.REJECT, 1),
    "event-rendering-failure.json": (Kind.RENDERING_FAILURE, 1),
    "event-send.json": (Kind.SEND, 1),
    "event-subscription.json": (Kind.SUBSCRIPTION, 1),
}


@pytest.mark.parametrize("name", sorted(AWS_EXPECTED))
def test_published_aws_examples_parse(name: str) -> None:
    path = AWS_EXAMPLES / name
    kind, count = AWS_EXPECTED[name]
    events = parse_ses(json.loads(path.read_text()))
    assert [e.kind for e in events] == [kind] * count


def test_published_sqs_envelope_with_text_message_is_not_feedback() -> None:
    path = AWS_EXAMPLES / "sns-to-sqs-body-example.json"
    with pytest.raises(ParseError, match="Message: not JSON"):
        parse_document(json.loads(path.read_text()), path.read_text(), "test")


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda d: d.pop("eventType"), "payload"),
        (lambda d: d.update(eventType="Teleport"), "eventType"),
        (lambda d: d.pop("mail"), "mail"),
        (lambda d: d["mail"].pop("messageId"), "mail.messageId"),
        (lambda d: d["bounce"].pop("feedbackId"), "bounce.feedbackId"),
        (lambda d: d["bounce"].update(bouncedRecipients=[]), "bounce.bouncedRecipients"),
        (
            lambda d: d["bounce"].update(bouncedRecipients=[{"status": "5.1.1"}]),
            "bounce.bouncedRecipients[0]",
        ),
        (lambda d: d["bounce"].update(timestamp="yesterday"), "bounce.timestamp"),
    ],
)
def test_broken_payloads_name_the_field(mutate, where: str) -> None:
    doc = payload("event-bounce-permanent.json")
    mutate(doc)
    with pytest.raises(ParseError) as err:
        parse_ses(doc)
    assert err.value.path == where


def test_cli_ingest_files_and_json_lines(world: World, mailer_cli, tmp_path: Path) -> None:
    lines = tmp_path / "backfill.jsonl"
    lines.write_text(
        "\n".join(json.dumps(payload(n)) for n in ["event-open.json", "event-click.json"]) + "\n\n"
    )
    result = mailer_cli("events", "ingest", str(PAYLOADS / "event-complaint.json"), str(lines))
    assert result.exit_code == 0, result.output
    assert "3 events: 3 new, 0 duplicates, 3 matched" in result.output
    assert world.recipient("dave").clicks == 1
    again = mailer_cli("events", "ingest", str(lines))
    assert "0 new, 2 duplicates" in again.output
    listed = mailer_cli("events", "list", "--format", "json")
    assert {e["type"] for e in json.loads(listed.output)} == {"complaint", "open", "click"}


def test_cli_ingest_refuses_a_bad_line_and_stores_nothing(
    world: World, mailer_cli, tmp_path: Path
) -> None:
    bad = tmp_path / "mixed.jsonl"
    broken = payload("event-delivery.json")
    del broken["delivery"]["timestamp"]
    bad.write_text(
        json.dumps(payload("event-complaint.json")) + "\n{not json\n" + json.dumps(broken) + "\n"
    )
    result = mailer_cli("events", "ingest", str(bad))
    assert result.exit_code == 1
    assert f"Error: {bad}:2: not valid JSON" in result.output
    assert "(and 1 more problem)" in result.output
    with world.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == 0
    missing = mailer_cli("events", "ingest", str(tmp_path / "nope.json"))
    assert missing.exit_code == 1 and "nope.json: no such file" in missing.output


def test_cli_ingest_names_the_field(world: World, mailer_cli, tmp_path: Path) -> None:
    f = tmp_path / "one.json"
    doc = payload("event-click.json")
    doc["mail"]["destination"] = "dave@example.org"
    f.write_text(json.dumps(doc, indent=2))
    result = mailer_cli("events", "ingest", str(f))
    assert result.exit_code == 1
    assert f"{f}: mail.destination: missing or empty recipient list" in result.output


def test_published_examples_ingest_as_orphans_with_policy(world: World, mailer_cli) -> None:
    files = [str(AWS_EXAMPLES / n) for n in sorted(AWS_EXPECTED)]
    result = mailer_cli("events", "ingest", *files)
    assert result.exit_code == 0, result.output
    assert "0 matched, 16 orphans" in result.output
    with world.db.session() as s:
        suppressed = set(s.scalars(select(Suppression.email_hash)))
    # Hard bounces and complaints in AWS's examples: jane, richard, recipient@example.com.
    for email in ("jane@example.com", "richard@example.com", "recipient@example.com"):
        assert email_hash(email) in suppressed
    assert email_hash("mary@example.com") not in suppressed
