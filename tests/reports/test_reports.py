"""Send and list reports on SQLite and PostgreSQL, through the API and the CLI."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

from mailer import reports
from mailer.db import Database
from mailer.db.models import Event
from mailer.errors import NotFoundError, ValidationError
from tests.support.reports import T0, make_list, make_send, mixed_rows


def test_send_report_counts_and_rates(db: Database) -> None:
    send_id = make_send(db, make_list(db), mixed_rows())
    r = reports.send_report(db, send_id)
    expected = {
        "recipients": 100,
        "sent": 90,
        "delivered": 80,
        "bounced": 8,
        "hard_bounced": 6,
        "soft_bounced": 2,
        "complained": 1,
        "unsubscribed": 2,
        "opened": 30,
        "clicked": 10,
        "opens": 45,
        "clicks": 12,
        "failed": 4,
        "skipped": 3,
        "uncertain": 2,
        "pending": 1,
    }
    assert r.counts == expected
    assert r.rates["bounced"] == pytest.approx(8 / 90)
    assert r.rates["hard_bounced"] == pytest.approx(6 / 90)
    assert r.rates["delivered"] == pytest.approx(80 / 90)
    assert r.rates["opened"] == pytest.approx(30 / 80)
    assert r.rates["failed"] == pytest.approx(4 / 100)
    assert r.tracked and r.list_slug == "weekly" and r.issue == "issue-42"
    assert [w.split(" ")[0] for w in r.warnings] == ["bounce", "complaint", "2"]


def test_clean_send_has_no_warnings_and_untracked_opens(db: Database) -> None:
    rows = [{"delivered_at": T0} for _ in range(2000)] + [{"bounced_at": T0, "bounce_type": "hard"}]
    r = reports.send_report(db, make_send(db, make_list(db), rows))
    assert r.warnings == [] and not r.tracked
    assert r.bounce_rate == pytest.approx(1 / 2001)


def test_complaint_threshold_is_a_tenth_of_a_percent(db: Database) -> None:
    rows = [{"delivered_at": T0} for _ in range(999)] + [{"delivered_at": T0, "complained_at": T0}]
    lst = make_list(db)
    assert reports.send_report(db, make_send(db, lst, rows)).warnings == []  # exactly 0.1%
    rows[0]["complained_at"] = T0
    assert "complaint rate" in reports.send_report(db, make_send(db, lst, rows)).warnings[0]


def test_missing_send_is_not_found(db: Database) -> None:
    with pytest.raises(NotFoundError):
        reports.send_report(db, 999)


def test_recipients_behind_a_number(db: Database) -> None:
    send_id = make_send(db, make_list(db), mixed_rows())
    assert len(reports.recipients_for(db, send_id, "hard_bounced")) == 6
    assert len(reports.recipients_for(db, send_id, "hard")) == 6
    failed = reports.recipients_for(db, send_id, "failed")
    assert {r["error"] for r in failed} == {"rejected by SES: Bad content"}
    assert len(reports.recipients_for(db, send_id, "opened", limit=5)) == 5
    with pytest.raises(ValidationError, match="unknown status 'nope'"):
        reports.recipients_for(db, send_id, "nope")


def test_list_report_across_sends(db: Database) -> None:
    lst = make_list(db)
    first = make_send(db, lst, mixed_rows(), issue="issue-41")
    second = make_send(db, lst, [{"delivered_at": T0} for _ in range(10)], issue="issue-42")
    empty = make_send(db, lst, [], issue="issue-43")
    lr = reports.list_report(db, "weekly")
    assert [s.send_id for s in lr.sends] == [empty, second, first]
    assert lr.sends[1].counts["delivered"] == 10
    assert lr.sends[2].counts["hard_bounced"] == 6
    assert lr.sends[0].counts["recipients"] == 0
    assert any(w.startswith(f"send {first} ") for w in lr.warnings)
    assert len(reports.list_report(db, "weekly", limit=1).sends) == 1


def test_timeline_buckets_events_by_hour(db: Database) -> None:
    send_id = make_send(db, make_list(db), [{} for _ in range(3)])
    with db.session() as s:
        for i, (kind, minutes) in enumerate(
            [
                ("delivery", 1),
                ("delivery", 20),
                ("bounce", 30),
                ("delivery", 70),
                ("complaint", 200),
            ]
        ):
            s.add(
                Event(
                    dedupe_key=f"k{i}",
                    source="test",
                    event_type=kind,
                    send_id=send_id,
                    detail="",
                    occurred_at=T0 + timedelta(minutes=minutes),
                    received_at=T0,
                    orphan=False,
                    payload="{}",
                )
            )
    points = reports.timeline(db, send_id)
    got = [
        (p["at"].replace(tzinfo=None), p["delivery"], p["bounce"], p["complaint"]) for p in points
    ]
    assert got == [
        (T0, 2, 1, 0),
        (T0 + timedelta(hours=1), 1, 0, 0),
        (T0 + timedelta(hours=3), 0, 0, 1),
    ]
    days = reports.timeline(db, send_id, "day")
    assert [(p["delivery"], p["complaint"]) for p in days] == [(3, 1)]


def test_cli_report_formats(db: Database, mailer_cli) -> None:
    send_id = make_send(db, make_list(db), mixed_rows())
    table = mailer_cli("report", str(send_id))
    assert table.exit_code == 0, table.output
    assert "Hard bounces" in table.output
    assert f"mailer report {send_id} --recipients uncertain" in table.output
    assert "6.67%" in table.output  # 6 hard bounces of 90 sent
    assert "warning: bounce rate 8.9%" in table.output
    as_json = json.loads(mailer_cli("report", str(send_id), "--format", "json").output)
    assert as_json["counts"]["complained"] == 1 and as_json["tracked"] is True
    rows = list(
        csv.DictReader(io.StringIO(mailer_cli("report", str(send_id), "--format", "csv").output))
    )
    assert {r["measure"]: int(r["count"]) for r in rows}["soft_bounced"] == 2
    listed = mailer_cli("report", str(send_id), "--recipients", "failed", "--format", "csv")
    emails = [r["email"] for r in csv.DictReader(io.StringIO(listed.output))]
    assert len(emails) == 4 and all(e.endswith("@example.org") for e in emails)
    lst = mailer_cli("report", "--list", "weekly")
    assert lst.exit_code == 0 and "issue-42" in lst.output
    assert (
        json.loads(mailer_cli("report", "--list", "weekly", "--format", "json").output)["slug"]
        == "weekly"
    )


def test_cli_report_errors(db: Database, mailer_cli) -> None:
    missing = mailer_cli("report", "12345")
    assert missing.exit_code == 1 and "Error: no send 12345" in missing.output
    bad = mailer_cli("report", "--list", "nolist")
    assert bad.exit_code == 1 and "nolist" in bad.output
    neither = mailer_cli("report")
    assert neither.exit_code == 2


def test_recipients_carry_their_latest_feedback(db: Database) -> None:
    send_id = make_send(db, make_list(db), [{"bounced_at": T0, "bounce_type": "soft"}, {}])
    with db.session() as s:
        from sqlalchemy import select

        from mailer.db.models import Recipient

        rid = s.scalar(
            select(Recipient.id).where(Recipient.send_id == send_id).order_by(Recipient.id)
        )
        for i, (minutes, detail) in enumerate([(1, "4.2.2 mailbox full"), (90, "4.4.7 expired")]):
            s.add(
                Event(
                    dedupe_key=f"b{i}",
                    source="test",
                    event_type="bounce",
                    send_id=send_id,
                    recipient_id=rid,
                    bounce_type="Transient:General",
                    detail=detail,
                    occurred_at=T0 + timedelta(minutes=minutes),
                    received_at=T0,
                    orphan=False,
                    payload="{}",
                )
            )
    (row,) = reports.recipients_for(db, send_id, "soft_bounced")
    assert row["feedback"] == "4.4.7 expired"
    (sent_row, _) = reports.recipients_for(db, send_id, "sent")
    assert sent_row["feedback"] is None


def test_recipient_csv_cells_cannot_become_formulas() -> None:
    from mailer.reports import render

    rows = [
        {"email": "=cmd@example.org", "status": "failed", "error": "-ERR =1+1", "feedback": "@x"},
        {"email": "ok@example.org", "status": "failed", "error": "+4 tries", "feedback": "\tTab"},
        {"email": "fine@example.org", "status": "sent", "error": "", "feedback": "plain"},
    ]
    parsed = list(csv.DictReader(io.StringIO(render.recipients_csv(rows))))
    for row in parsed:
        for value in row.values():
            assert value[:1] not in ("=", "+", "-", "@", "\t", "\r")
    assert [r["email"] for r in parsed] == [
        "'=cmd@example.org",
        "ok@example.org",
        "fine@example.org",
    ]
    assert [r["error"] for r in parsed] == ["'-ERR =1+1", "'+4 tries", ""]
    assert [r["feedback"] for r in parsed] == ["'@x", "'\tTab", "plain"]
