"""A list's health on the lists page: rates over its recent sends, or its first warning."""

from __future__ import annotations

from mailer.db import Database
from mailer.reports.health import list_health, lists_health
from tests.support.reports import T0, make_list, make_send


def test_a_list_without_started_sends_has_no_health_yet(db: Database) -> None:
    make_list(db, "quiet")
    assert list_health(db, "quiet") is None
    assert lists_health(db, ["quiet"]) == {}


def test_healthy_list_shows_its_rates_over_the_recent_sends(db: Database) -> None:
    list_id = make_list(db)
    make_send(db, list_id, [{} for _ in range(100)], issue="one")
    make_send(db, list_id, [{} for _ in range(99)] + [{"bounced_at": T0}], issue="two")
    health = list_health(db, "weekly")
    assert health is not None
    assert (health.level, health.label) == ("ok", "healthy")
    assert health.detail == "last 2 sends: 0.5% bounces, 0.00% complaints"


def test_a_warning_of_the_list_report_makes_it_need_attention(db: Database) -> None:
    list_id = make_list(db)
    rows = [{"bounced_at": T0, "bounce_type": "hard"} for _ in range(10)] + [{} for _ in range(90)]
    send_id = make_send(db, list_id, rows)
    found = lists_health(db, ["weekly"])
    assert list(found) == ["weekly"]
    health = found["weekly"]
    assert (health.level, health.label) == ("warning", "needs attention")
    assert health.detail.startswith(f"send {send_id} (issue-42): bounce rate 10.0% is above 5%")
