"""Opens and clicks per story and link, people and machines apart, through real ingest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from mailer import reports
from mailer.config import GuardrailSettings
from mailer.db import Database
from mailer.db.models import Event
from mailer.events.engagement import machine_agent, machine_open, send_engagement
from tests.support.engagement import OTHER, STORY_1, STORY_2, engaged_send


def test_rules_for_single_events() -> None:
    assert machine_open("Mozilla/5.0", "203.0.113.9")  # Apple's proxy agent
    assert machine_open("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1)", "17.1.2.3")  # Apple's network
    assert not machine_open("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1)", "203.0.113.9")
    assert machine_open("Mozilla/5.0 (compatible; Googlebot/2.1)", None)
    assert machine_agent("python-requests/2.31.0") and machine_agent("Barracuda Sentinel")
    assert not machine_agent("Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0")
    assert not machine_agent(None)


def test_clicks_per_story_and_link_set_machines_apart(db: Database) -> None:
    story = engaged_send(db)
    with db.session() as s:
        stored = s.scalars(
            select(Event).where(Event.event_type == "click", Event.email == "leaver@example.org")
        ).one()
    assert stored.link_tags == '{"link": ["unsubscribe"]}'
    assert stored.user_agent and stored.ip_address == "198.51.100.7"

    eng = send_engagement(db, story.send_id)
    assert (eng.opens, eng.machine_opens) == (2, 1)  # reader + gmail; apple
    assert (eng.clicks, eng.machine_clicks) == (3, 2)  # reader, scanned (later), leaver
    links = {link.url: link for link in eng.links}
    assert (links[STORY_1].clicks, links[STORY_1].machine_clicks) == (1, 1)
    assert links[STORY_1].story == "Autumn comes early"
    assert (links[STORY_2].clicks, links[STORY_2].machine_clicks) == (1, 2)  # burst + script
    assert (links[OTHER].clicks, links[OTHER].machine_clicks, links[OTHER].story) == (0, 1, None)
    assert (links["unsubscribe link"].clicks, links["unsubscribe link"].machine_clicks) == (1, 0)
    stories = {s.number: (s.story, s.clicks, s.machine_clicks) for s in eng.stories}
    assert stories == {1: ("Autumn comes early", 1, 1), 2: ("Chips, again", 1, 2)}


def test_a_wider_scanner_rule_changes_the_verdict(db: Database) -> None:
    story = engaged_send(db)
    # Demanding four distinct links in the window: the gateway's three clicks look human.
    eng = send_engagement(
        db,
        story.send_id,
        GuardrailSettings.model_validate({"scanner_seconds": 60, "scanner_links": 4}),
    )
    links = {link.url: link for link in eng.links}
    assert (links[OTHER].clicks, links[OTHER].machine_clicks) == (1, 0)


def test_report_rates_use_people_and_json_lists_links(db: Database, mailer_cli: Any) -> None:
    story = engaged_send(db)
    report = reports.send_report(db, story.send_id)
    assert report.counts["opened"] == 2 and report.counts["machine_opened"] == 1
    assert report.counts["clicked"] == 3 and report.counts["machine_clicked"] == 2
    assert report.rates["opened"] == 2 / 6 and report.rates["clicked"] == 3 / 6
    result = mailer_cli("report", str(story.send_id), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["opens"], data["machine_opens"]) == (2, 1)
    first = next(link for link in data["links"] if link["url"] == STORY_1)
    assert first == {
        "url": STORY_1,
        "story": "Autumn comes early",
        "clicks": 1,
        "machine_clicks": 1,
    }
    assert {link["url"] for link in data["links"]} == {
        STORY_1,
        STORY_2,
        OTHER,
        "unsubscribe link",
    }
    table = mailer_cli("report", str(story.send_id))
    assert "Clicks per story and link" in table.output
    assert "1. Autumn comes early" in table.output and "Opened by machines" in table.output


def test_the_cli_report_uses_the_configured_scanner_rule(
    db: Database, mailer_cli: Any, config_file: Path
) -> None:
    story = engaged_send(db)

    def other_link() -> tuple[int, int]:
        result = mailer_cli("report", str(story.send_id), "--format", "json")
        assert result.exit_code == 0, result.output
        link = next(x for x in json.loads(result.output)["links"] if x["url"] == OTHER)
        return link["clicks"], link["machine_clicks"]

    assert other_link() == (0, 1)  # three links in a minute: the gateway's
    config_file.write_text(
        "[guardrails]\nscanner_links = 4\n" + config_file.read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    assert other_link() == (1, 0)  # four are needed now: its clicks look human
