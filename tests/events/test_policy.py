"""Every kind of payload has its effect on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import copy
import json
from typing import Any

from sqlalchemy import select

from mailer.config import Settings
from mailer.db.models import Event, Suppression
from mailer.events.ingest import ingest
from mailer.events.parse import FeedbackEvent, parse_ses
from mailer.events.policy import IngestResult
from mailer.lists.addresses import email_hash
from mailer.status import RecipientStatus, SubscriptionStatus
from tests.support.events import World, payload

ACTIVE = SubscriptionStatus.ACTIVE
OUT = SubscriptionStatus.UNSUBSCRIBED


def feed(world: World, settings: Settings, *docs: dict[str, Any]) -> IngestResult:
    events: list[FeedbackEvent] = []
    for doc in docs:
        events.extend(parse_ses(doc, json.dumps(doc)))
    return ingest(world.db, settings, events)


def suppression(world: World, email: str) -> Suppression | None:
    with world.db.session() as s:
        return s.get(Suppression, email_hash(email))


def stored(world: World) -> list[Event]:
    with world.db.session() as s:
        return list(s.scalars(select(Event).order_by(Event.id)))


def test_permanent_bounce_suppresses_and_marks_recipient(world: World, settings: Settings) -> None:
    result = feed(world, settings, payload("event-bounce-permanent.json"))
    assert (result.new, result.matched, result.suppressed) == (1, 1, 1)
    rec = world.recipient("alice")
    assert rec.bounce_type == "hard" and rec.bounced_at is not None
    supp = suppression(world, "alice@example.org")
    assert supp is not None and supp.reason == "hard_bounce"
    assert "5.1.1" in supp.detail
    (event,) = stored(world)
    assert event.recipient_id == world.recipients["alice"] and not event.orphan
    assert event.send_id == world.send_id
    assert json.loads(event.payload)["eventType"] == "Bounce"  # raw payload kept for audit


def test_one_transient_bounce_does_not_suppress(world: World, settings: Settings) -> None:
    feed(world, settings, payload("event-bounce-transient.json"))
    rec = world.recipient("bob")
    assert rec.bounce_type == "soft"
    assert suppression(world, "bob@example.org") is None


def _soft(doc: dict[str, Any], n: int, when: str) -> dict[str, Any]:
    d = copy.deepcopy(doc)
    d["bounce"]["feedbackId"] = f"soft-{n}"
    d["bounce"]["timestamp"] = when
    return d


def test_transient_bounces_suppress_at_limit_within_window(
    world: World, settings: Settings
) -> None:
    base = payload("event-bounce-transient.json")
    feed(world, settings, _soft(base, 1, "2026-10-01T10:00:00Z"))
    feed(world, settings, _soft(base, 2, "2026-10-20T10:00:00Z"))
    assert suppression(world, "bob@example.org") is None
    feed(world, settings, _soft(base, 3, "2026-10-25T10:00:00Z"))
    supp = suppression(world, "bob@example.org")
    assert supp is not None and supp.reason == "soft_bounce"
    assert "3 soft bounces" in supp.detail


def test_old_soft_bounces_decay(world: World, settings: Settings) -> None:
    base = payload("event-bounce-transient.json")
    # Three bounces, but the first is more than 30 days before the last.
    feed(world, settings, _soft(base, 1, "2026-08-01T10:00:00Z"))
    feed(world, settings, _soft(base, 2, "2026-10-20T10:00:00Z"))
    feed(world, settings, _soft(base, 3, "2026-10-25T10:00:00Z"))
    assert suppression(world, "bob@example.org") is None
    settings.events.soft_bounce_days = 120  # a longer window counts all three
    feed(world, settings, _soft(base, 4, "2026-10-26T10:00:00Z"))
    assert suppression(world, "bob@example.org") is not None


def test_soft_bounce_limit_is_configurable(world: World, settings: Settings) -> None:
    settings.events.soft_bounce_limit = 1
    feed(world, settings, payload("event-bounce-transient.json"))
    assert suppression(world, "bob@example.org") is not None


def test_complaint_unsubscribes_everywhere_and_suppresses(world: World, settings: Settings) -> None:
    result = feed(world, settings, payload("event-complaint.json"))
    assert result.unsubscribed == 2
    assert set(world.statuses("carol").values()) == {OUT}
    assert world.recipient("carol").complained_at is not None
    supp = suppression(world, "carol@example.org")
    assert supp is not None and supp.reason == "complaint"
    assert set(world.statuses("dave").values()) == {ACTIVE}  # nobody else


def test_delivery_open_click_are_counted(world: World, settings: Settings) -> None:
    feed(world, settings, payload("event-delivery.json"))
    feed(world, settings, payload("event-open.json"))
    second_open = payload("event-open.json")
    second_open["open"]["timestamp"] = "2026-11-02T18:00:00.000Z"
    feed(world, settings, second_open, payload("event-click.json"))
    rec = world.recipient("dave")
    assert rec.delivered_at is not None and rec.delivered_at.isoformat().startswith(
        "2026-11-02T09:15:04"
    )
    assert (rec.opens, rec.clicks) == (2, 1)
    click = next(e for e in stored(world) if e.event_type == "click")
    assert click.detail == "https://news.example.org/issues/42/autumn"


def test_reject_and_rendering_failure_fail_the_recipient(world: World, settings: Settings) -> None:
    feed(world, settings, payload("event-reject.json"), payload("event-rendering-failure.json"))
    bob, carol = world.recipient("bob"), world.recipient("carol")
    assert bob.status == RecipientStatus.FAILED and "Bad content" in bob.error
    assert carol.status == RecipientStatus.FAILED
    assert "first_name" in carol.error and "rendering failure" in carol.error


def test_subscription_unsubscribe_all(world: World, settings: Settings) -> None:
    feed(world, settings, payload("event-subscription.json"))
    assert set(world.statuses("alice").values()) == {OUT}
    assert world.recipient("alice").unsubscribed_at is not None


def test_subscription_topic_opt_out_leaves_only_the_sends_list(
    world: World, settings: Settings
) -> None:
    doc = payload("event-subscription.json")
    doc["subscription"]["newTopicPreferences"]["unsubscribeAll"] = False
    feed(world, settings, doc)
    weekly, offers = world.list_ids
    assert world.statuses("alice") == {weekly: OUT, offers: ACTIVE}


def test_send_and_delay_are_stored_without_changing_the_row(
    world: World, settings: Settings
) -> None:
    before = world.recipient("dave")
    result = feed(world, settings, payload("event-send.json"), payload("event-deliverydelay.json"))
    assert result.by_kind == {"send": 1, "delivery_delay": 1}
    after = world.recipient("dave")
    assert (after.status, after.delivered_at, after.error) == (
        before.status,
        before.delivered_at,
        before.error,
    )
    delay = next(e for e in stored(world) if e.event_type == "delivery_delay")
    assert "4.4.1" in delay.detail


def test_send_event_resolves_an_uncertain_row(world: World, settings: Settings) -> None:
    from mailer.db.models import Recipient

    with world.db.session() as s:
        row = s.get(Recipient, world.recipients["dave"])
        assert row is not None
        row.status = RecipientStatus.UNCERTAIN
        row.provider_message_id = None  # the worker died before recording it
    feed(world, settings, payload("event-send.json"))  # matched through X-Mailer-Send-Id
    assert world.recipient("dave").status == RecipientStatus.SENT


def test_multi_recipient_notification_acts_on_each(world: World, settings: Settings) -> None:
    result = feed(world, settings, payload("notification-bounce-multi.json"))
    assert (result.new, result.matched) == (2, 2)
    assert world.recipient("erin").bounce_type == "hard"
    assert world.recipient("grace").bounce_type == "hard"  # Grace@Example.org matched case-blind
    assert world.recipient("frank").bounced_at is None
    assert suppression(world, "erin@example.org") is not None
    assert suppression(world, "grace@example.org") is not None
    assert suppression(world, "frank@example.org") is None
    result = feed(world, settings, payload("notification-delivery.json"))
    assert result.new == 3
    assert world.recipient("frank").delivered_at is not None
    feed(world, settings, payload("notification-complaint.json"))
    assert set(world.statuses("frank").values()) == {OUT}


def test_same_event_twice_changes_nothing(world: World, settings: Settings) -> None:
    docs = [
        payload("event-open.json"),
        payload("event-complaint.json"),
        payload("event-bounce-permanent.json"),
    ]
    first = feed(world, settings, *docs)
    assert first.new == 3
    snap = world.snapshot()
    again = feed(world, settings, *docs)
    assert (again.new, again.duplicates) == (0, 3)
    assert world.snapshot() == snap
    assert world.recipient("dave").opens == 1
    # Within one batch, too.
    doc = payload("event-click.json")
    assert feed(world, settings, doc, doc).new == 1
    assert world.recipient("dave").clicks == 1


def test_delivery_after_bounce_does_not_undo_it(world: World, settings: Settings) -> None:
    bounce = payload("event-bounce-permanent.json")
    delivery = payload("event-delivery.json")
    delivery["mail"] = bounce["mail"]
    delivery["delivery"]["recipients"] = ["alice@example.org"]
    feed(world, settings, bounce)
    feed(world, settings, delivery)
    rec = world.recipient("alice")
    assert rec.bounce_type == "hard" and rec.bounced_at is not None
    assert suppression(world, "alice@example.org") is not None
    # A soft bounce arriving late never downgrades the hard one.
    soft = payload("event-bounce-transient.json")
    soft["mail"] = bounce["mail"]
    soft["bounce"]["bouncedRecipients"][0]["emailAddress"] = "alice@example.org"
    feed(world, settings, soft)
    assert world.recipient("alice").bounce_type == "hard"


def test_earliest_timestamp_wins_whatever_the_order(world: World, settings: Settings) -> None:
    late = payload("event-complaint.json")
    early = copy.deepcopy(late)
    late["complaint"]["timestamp"] = "2026-11-04T12:00:00.000Z"
    early["complaint"]["feedbackId"] = "another-feedback-report"
    early["complaint"]["timestamp"] = "2026-11-03T07:00:00.000Z"
    feed(world, settings, late)
    feed(world, settings, early)  # arrives second, happened first
    complained = world.recipient("carol").complained_at
    assert complained is not None and (complained.day, complained.hour) == (3, 7)
    feed(world, settings, late)
    assert world.recipient("carol").complained_at == complained


def test_unmatched_events_are_orphans(world: World, settings: Settings) -> None:
    doc = payload("event-bounce-permanent.json")
    doc["mail"]["messageId"] = "unknown-message-id"
    doc["mail"]["headers"] = [h for h in doc["mail"]["headers"] if h["name"] != "X-Mailer-Send-Id"]
    doc["bounce"]["bouncedRecipients"][0]["emailAddress"] = "stranger@example.net"
    result = feed(world, settings, doc)
    assert (result.matched, result.orphans) == (0, 1)
    (event,) = stored(world)
    assert event.orphan and event.recipient_id is None and event.send_id is None
    # The address bounced for good whoever sent it: it is suppressed all the same.
    assert suppression(world, "stranger@example.net") is not None


def test_fallback_match_by_send_id_header(world: World, settings: Settings) -> None:
    doc = payload("event-delivery.json")
    doc["mail"]["messageId"] = "id-the-worker-never-recorded"
    result = feed(world, settings, doc)
    assert result.matched == 1
    assert world.recipient("dave").delivered_at is not None


def test_rematch_attaches_orphans_once(world: World, settings: Settings, mailer_cli) -> None:
    from mailer.db.models import Recipient

    with world.db.session() as s:
        row = s.get(Recipient, world.recipients["dave"])
        assert row is not None
        row.provider_message_id = None  # the worker has not recorded SES's id yet
    open_doc = payload("event-open.json")
    for doc in (open_doc, payload("event-delivery.json")):
        doc["mail"]["headers"] = [
            h for h in doc["mail"]["headers"] if h["name"] != "X-Mailer-Send-Id"
        ]
    delivery = payload("event-delivery.json")
    delivery["mail"]["headers"] = open_doc["mail"]["headers"]
    assert feed(world, settings, open_doc, delivery).orphans == 2
    assert world.recipient("dave").delivered_at is None
    with world.db.session() as s:
        row = s.get(Recipient, world.recipients["dave"])
        assert row is not None
        row.provider_message_id = open_doc["mail"]["messageId"]  # now it has
    result = mailer_cli("events", "rematch")
    assert result.exit_code == 0 and "2 orphans examined, 2 matched now" in result.output
    dave = world.recipient("dave")
    assert dave.delivered_at is not None and dave.opens == 1
    assert all(not e.orphan and e.recipient_id == dave.id for e in stored(world))
    again = mailer_cli("events", "rematch")
    assert "0 orphans examined, 0 matched now" in again.output
    assert world.recipient("dave").opens == 1
