"""Forgetting a person erases their address from every table, and the reports
keep their counts (``mailer.lists.erasure``), on both databases."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from mailer.db import Database, mailqueue
from mailer.db import engagement as engagement_store
from mailer.db import events as events_store
from mailer.db import outbox as outbox_store
from mailer.db import reports as report_store
from mailer.db.models import Base, Event, Recipient
from mailer.lists import people
from mailer.lists.addresses import email_hash
from mailer.lists.erasure import erase_traces, network_of, scrub
from mailer.status import RecipientStatus
from tests.support.events import PAYLOADS, World, make_world, payload
from tests.support.plans import plan_of

OPENED_FROM = "198.51.100.7"  # event-open.json: dave's reader


def _everything(db: Database) -> str:
    """Every value of every row of every table, as one lower-cased text."""
    with db.engine.connect() as conn:
        return "\n".join(
            repr(tuple(row)).lower()
            for table in Base.metadata.sorted_tables
            for row in conn.execute(select(table))
        )


def _counts(db: Database, world: World) -> dict[str, Any]:
    """What the send's report counts: outcomes, feedback per kind, openers."""
    with db.session() as s:
        kinds = s.execute(
            select(Event.event_type, func.count())
            .where(Event.send_id == world.send_id, Event.recipient_id.is_not(None))
            .group_by(Event.event_type)
        )
        return {
            "outcomes": outbox_store.counts(s, world.send_id),
            "feedback": dict(kinds.all()),
            "openers": engagement_store.count_openers(s, world.send_id, [], "17."),
            "opens": s.scalar(select(func.sum(Recipient.opens))),
            "clicks": s.scalar(select(func.sum(Recipient.clicks))),
        }


def _ingest(mailer_cli, tmp_path: Path) -> None:
    names = ["event-bounce-permanent.json", "event-delivery.json", "event-open.json"]
    files = [str(PAYLOADS / name) for name in names]
    # A click SES could not match to a send yet: stored as an orphan, by address.
    stray = payload("event-click.json")
    stray["mail"]["messageId"] = "0102019-unknown-000000"
    stray["mail"]["headers"] = []
    (tmp_path / "stray.json").write_text(json.dumps(stray), encoding="utf-8")
    files.append(str(tmp_path / "stray.json"))
    result = mailer_cli("events", "ingest", *files)
    assert result.exit_code == 0, result.output
    assert "3 matched, 1 orphan" in result.output


def test_forget_leaves_the_address_nowhere_and_the_report_unchanged(
    db: Database, mailer_cli, tmp_path: Path
) -> None:
    world = make_world(db)
    _ingest(mailer_cli, tmp_path)
    with db.session() as s:
        mailqueue.add(s, kind="confirmation", to_email="Dave@Example.org", to_name="Dave")
    everything = _everything(db)
    assert "dave@example.org" in everything and OPENED_FROM in everything
    assert "smtp; 550 5.1.1 <alice@example.org>" in everything
    before = _counts(db, world)
    assert before["feedback"] == {"bounce": 1, "delivery": 1, "open": 1}

    assert people.forget(db, "Dave@example.org") is True
    assert people.forget(db, "alice@example.org") is True

    everything = _everything(db)
    for trace in ("dave@example.org", "alice@example.org", OPENED_FROM):
        assert trace not in everything, trace
    assert "bob@example.org" in everything  # nobody else's data went
    assert _counts(db, world) == before
    with db.session() as s:
        dave = s.get(Recipient, world.recipients["dave"])
        assert dave is not None
        assert (dave.email, dave.subscriber_id, dave.status) == ("", None, RecipientStatus.SENT)
        bounce = s.scalar(select(Event).where(Event.event_type == "bounce"))
        assert bounce is not None and bounce.payload == "" and bounce.email is None
        assert "(erased)" in bounce.detail and "550 5.1.1" in bounce.detail
        opened = s.scalar(select(Event).where(Event.event_type == "open"))
        assert opened is not None and opened.ip_address == "198.51.100.0"
        assert s.scalar(select(func.count()).select_from(Event).where(Event.orphan)) == 0
        # The send's report lists the row, with a word where the address was.
        listed = {r["id"]: r for r in report_store.recipients_matching(s, world.send_id, None)}
        assert listed[dave.id]["email"] == "(erased)" and listed[dave.id]["opens"] == 1
        assert listed[world.recipients["bob"]]["email"] == "bob@example.org"
    # The ops page still shows that a message went to that address (found by
    # its hash), with nothing personal in it.
    deliveries, events = people.mail_history(db, "dave@example.org")
    assert [(d.send_id, d.status, d.opens) for d in deliveries] == [
        (world.send_id, RecipientStatus.SENT, 1)
    ]
    assert events == []


def test_feedback_after_forgetting_counts_but_brings_no_address_back(
    db: Database, mailer_cli, tmp_path: Path
) -> None:
    world = make_world(db)
    _ingest(mailer_cli, tmp_path)
    assert people.forget(db, "dave@example.org") is True
    assert people.forget(db, "alice@example.org") is True
    # SES reports a click on the message after the erasure, one it cannot
    # match to a send, and a second bounce whose diagnostic names the address.
    stray = payload("event-click.json")
    stray["mail"]["messageId"] = "0102019-later-000000"
    stray["mail"]["headers"] = []
    (tmp_path / "later.json").write_text(json.dumps(stray), encoding="utf-8")
    bounce = payload("event-bounce-permanent.json")
    bounce["bounce"]["feedbackId"] = "0102019-second-bounce-000000"
    (tmp_path / "bounce.json").write_text(json.dumps(bounce), encoding="utf-8")
    late_files = [tmp_path / "later.json", tmp_path / "bounce.json"]
    files = [str(PAYLOADS / "event-click.json"), *map(str, late_files)]
    late = mailer_cli("events", "ingest", *files)
    assert late.exit_code == 0, late.output
    assert "3 new, 0 duplicates, 2 matched, 1 orphans" in late.output
    everything = _everything(db)
    assert "dave@example.org" not in everything and "alice@example.org" not in everything
    assert world.recipient("dave").clicks == 1  # the report counts it
    assert world.recipient("alice").bounce_type == "hard"
    with db.session() as s:
        # Nothing left to match it by: the orphan is not retried for ever.
        assert events_store.orphan_events(s, 10) == []


def test_forget_reports_traces_of_an_address_with_no_subscriber_left(
    db: Database, mailer_cli, tmp_path: Path
) -> None:
    make_world(db)
    _ingest(mailer_cli, tmp_path)
    assert people.forget(db, "dave@example.org") is True
    # Forgotten twice: nothing personal is left the second time.
    assert people.forget(db, "dave@example.org") is False
    result = mailer_cli("subscribers", "forget", "dave@example.org", "--yes")
    assert "nothing stored" in result.output


def test_a_persons_rows_are_found_through_indexes(db: Database) -> None:
    # The subscriber page and erasure look a person up in the outbox of every
    # send ever made: reading it whole would grow with each send.
    world = make_world(db)
    plan = plan_of(db, lambda s: people.mail_history(db, "dave@example.org"), "send_recipients")
    assert "ix_send_recipients_unlinked_hash" in plan, plan
    assert "ix_send_recipients_subscriber_id" in plan, plan
    dave = world.recipient("dave").subscriber_id
    erase = partial(erase_traces, email="dave@example.org", digest=email_hash("dave@example.org"))
    plan = plan_of(db, lambda s: erase(s, subscriber_id=dave), "SELECT events.id")
    assert "ix_events_email" in plan and "ix_events_recipient_id" in plan, plan


def test_scrub_and_network_keep_what_reports_need() -> None:
    assert scrub("550 <Dave@Example.ORG>: unknown", "dave@example.org") == "550 <(erased)>: unknown"
    assert scrub("", "dave@example.org") == ""
    # Apple's proxies stay inside 17.0.0.0/8: machine opens stay machine opens.
    assert network_of("17.58.7.12") == "17.58.7.0"
    assert network_of("2001:db8:1:2::5") == "2001:db8:1::"
    assert network_of("not an address") is None and network_of(None) is None
