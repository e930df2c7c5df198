"""A person's history, edits and data export (``mailer.lists.people``), on both databases."""

from __future__ import annotations

import json

import pytest

from mailer.config import Settings
from mailer.db import Database
from mailer.errors import NotFoundError, ValidationError
from mailer.lists import people


def test_every_action_is_in_the_history(mailer_cli, lists_db: Database, settings: Settings) -> None:
    people.add(lists_db, settings, "daily", "Ann@Example.org", name="Ann", actor="web:ops")
    people.edit(lists_db, "ann@example.org", name="Ann B", attributes={"city": "Ghent"})
    people.unsubscribe(lists_db, "ann@example.org", "daily", "asked by mail")
    people.suppress(lists_db, "ann@example.org", "bounced by hand")
    people.unsuppress(lists_db, "ann@example.org")
    lines = people.history(lists_db, "ANN@example.org")
    assert [(h.action, h.list_slug, h.actor) for h in lines] == [
        ("unsuppressed", None, "cli"),
        ("suppressed", None, "cli"),
        ("unsubscribed", "daily", "cli"),
        ("edited", None, "cli"),
        ("added", "daily", "web:ops"),
    ]
    assert lines[2].detail == "asked by mail" and lines[3].detail == "name; attributes city"
    shown = mailer_cli("subscribers", "show", "ann@example.org").output
    assert "history:" in shown and "unsubscribed daily: asked by mail (cli)" in shown
    # Nothing changed, nothing recorded.
    assert (
        people.edit(lists_db, "ann@example.org", name="Ann B", attributes={"city": "Ghent"})
        is False
    )
    assert people.unsuppress(lists_db, "ann@example.org") is False
    assert len(people.history(lists_db, "ann@example.org")) == 5


def test_forget_erases_the_history_but_records_the_erasure(
    lists_db: Database, settings: Settings
) -> None:
    people.add(lists_db, settings, "daily", "bo@example.org", name="Bo Secret")
    people.edit(lists_db, "bo@example.org", name="Bo Secret-Name", attributes={"phone": "123"})
    assert people.forget(lists_db, "bo@example.org") is True
    lines = people.history(lists_db, "bo@example.org")
    assert [(h.action, h.detail) for h in lines] == [("forgotten", "erased on request")]
    data = people.export_data(lists_db, "bo@example.org")
    assert data["email"] is None and data["subscriptions"] == []
    assert data["suppression"]["reason"] == "forgotten"
    assert "Secret" not in json.dumps(data) and "123" not in json.dumps(data)


def test_edit_refuses_bad_fields(lists_db: Database, settings: Settings) -> None:
    people.add(lists_db, settings, "daily", "cy@example.org")
    with pytest.raises(ValidationError, match="name: longer than 200"):
        people.edit(lists_db, "cy@example.org", name="x" * 201, attributes={})
    with pytest.raises(ValidationError, match="attributes: key ' '"):
        people.edit(lists_db, "cy@example.org", name="", attributes={" ": "v"})
    with pytest.raises(NotFoundError):
        people.edit(lists_db, "nobody@example.org", name="N", attributes={})
    assert [h.action for h in people.history(lists_db, "cy@example.org")] == ["added"]


def test_export_data_holds_everything_and_is_recorded(
    lists_db: Database, settings: Settings
) -> None:
    people.add(lists_db, settings, "daily", "di@example.org", name="Di", attributes={"team": "x"})
    people.add(lists_db, settings, "weekly", "di@example.org")
    people.suppress(lists_db, "di@example.org", "complained by phone")
    data = people.export_data(lists_db, "di@example.org", actor="web:ops")
    json.dumps(data)  # JSON-ready as it is
    assert (data["email"], data["name"], data["attributes"]) == (
        "di@example.org",
        "Di",
        {"team": "x"},
    )
    assert {s["list"]: s["status"] for s in data["subscriptions"]} == {
        "daily": "active",
        "weekly": "active",
    }
    assert data["suppression"]["detail"] == "complained by phone"
    assert data["history"][0] == {
        "at": data["history"][0]["at"],
        "action": "data exported",
        "list": None,
        "detail": "",
        "by": "web:ops",
    }
    assert data["history"][0]["at"].endswith("Z")
