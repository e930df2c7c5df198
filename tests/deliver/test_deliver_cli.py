"""The deliver commands: send, sends (list/show/pause/resume/cancel/retry), worker."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import datetime, timedelta

from sqlalchemy import event
from sqlalchemy.engine import Engine

from mailer.clock import utcnow
from mailer.config import Settings
from mailer.db import Database
from mailer.db import outbox as store
from mailer.status import SendStatus
from tests.support.deliver import body_of, make_list

ISSUE = "ai2x-briefing-2026-01-12"


def eml(settings: Settings, folder: str) -> list[email.message.EmailMessage]:
    files = sorted((settings.path(settings.delivery.outbox_dir) / folder).glob("*.eml"))
    return [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]


def test_send_now_then_refuse_a_repeat(mailer_cli, settings: Settings, db: Database) -> None:
    _, emails = make_list(db, count=3)
    result = mailer_cli("send", ISSUE, "--list", "weekly")
    assert result.exit_code == 0, result.output
    assert "send #1 done: 3 sent" in result.output
    messages = eml(settings, "send-1")
    assert sorted(m["To"].addresses[0].addr_spec for m in messages) == sorted(emails)
    body = body_of(messages[0], "html")
    assert "%%" not in body and "https://news.example.org/u/" in body
    assert messages[0]["Subject"].startswith("AI to everything in China")

    again = mailer_cli("send", ISSUE, "--list", "weekly")
    assert again.exit_code == 1
    assert "Error: issue 'ai2x-briefing-2026-01-12' already went to list 'weekly'" in again.output
    assert "--again" in again.output
    forced = mailer_cli("send", ISSUE, "--list", "weekly", "--again")
    assert forced.exit_code == 0 and "send #2 done: 3 sent" in forced.output

    listing = mailer_cli("sends")
    assert listing.exit_code == 0
    assert ISSUE[:10] in listing.output and "done" in listing.output
    shown = mailer_cli("sends", "show", "1")
    assert "status: done" in shown.output and "recipients: 3 (3 sent)" in shown.output


def test_test_copies_are_marked_and_recorded_nowhere(
    mailer_cli,
    settings: Settings,
    db: Database,
) -> None:
    make_list(db, count=2)
    result = mailer_cli(
        "send", ISSUE, "--list", "weekly", "--test-to", "qa@example.org, ed@example.org"
    )
    assert result.exit_code == 0, result.output
    messages = eml(settings, "single")
    assert sorted(m["To"].addresses[0].addr_spec for m in messages) == [
        "ed@example.org",
        "qa@example.org",
    ]
    assert all(m["Subject"].startswith("[TEST] ") for m in messages)
    assert "no sends yet" in mailer_cli("sends").output
    bad = mailer_cli("send", ISSUE, "--list", "weekly", "--test-to", "not-an-address")
    assert bad.exit_code == 1 and "is not a valid email address" in bad.output


def test_schedule_in_a_timezone(mailer_cli, settings: Settings, db: Database) -> None:
    make_list(db, count=2)
    when = (datetime.now() + timedelta(days=30)).replace(hour=8, minute=0, second=0, microsecond=0)
    at = when.strftime("%Y-%m-%d %H:%M")
    result = mailer_cli("send", ISSUE, "--list", "weekly", "--at", at, "--tz", "Asia/Tokyo")
    assert result.exit_code == 0, result.output
    assert "scheduled" in result.output
    with db.session() as session:
        send = store.get_send(session, 1)
    assert send.status == SendStatus.SCHEDULED
    assert send.scheduled_at == when - timedelta(hours=9)  # Tokyo is UTC+9, no DST
    worker = mailer_cli("worker", "--once")
    assert worker.exit_code == 0 and "0 sends started" in worker.output
    past = mailer_cli("send", ISSUE, "--list", "weekly", "--at", "2001-01-01 08:00", "--again")
    assert past.exit_code == 1 and "is in the past" in past.output
    tz = mailer_cli("send", ISSUE, "--list", "weekly", "--at", at, "--tz", "Mars/Olympus")
    assert tz.exit_code == 1 and "unknown timezone 'Mars/Olympus'" in tz.output
    bad = mailer_cli("send", ISSUE, "--list", "weekly", "--at", "tomorrow-ish")
    assert bad.exit_code == 1 and "is not a date and time" in bad.output


def test_pause_resume_cancel_retry_commands(
    mailer_cli,
    settings: Settings,
    db: Database,
) -> None:
    make_list(db, count=4)
    at = (datetime.now() + timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    assert mailer_cli("send", ISSUE, "--list", "weekly", "--at", at).exit_code == 0
    assert "paused" in mailer_cli("sends", "pause", "1").output
    resumed = mailer_cli("sends", "resume", "1")
    assert resumed.exit_code == 0 and "scheduled again" in resumed.output
    cancelled = mailer_cli("sends", "cancel", "1")
    assert cancelled.exit_code == 0 and "cancelled" in cancelled.output
    # Which states refuse which action is test_deliver_sends's matrix; here, that
    # a refusal reaches the operator as one line and exit code 1.
    refused = mailer_cli("sends", "resume", "1")
    assert refused.exit_code == 1
    assert refused.output.strip().splitlines() == ["Error: send #1 is cancelled, not paused"]
    missing = mailer_cli("sends", "show", "99")
    assert missing.exit_code == 1 and "no send #99" in missing.output
    which = mailer_cli("sends", "retry", "1")
    assert which.exit_code == 1 and "--uncertain or --failed" in which.output


def test_uncertain_recipients_are_listed_and_retried_on_request(
    mailer_cli,
    settings: Settings,
    db: Database,
) -> None:
    _, emails = make_list(db, count=3)
    from types import SimpleNamespace

    from mailer.deliver import sends

    issue = SimpleNamespace(slug="s", subject="S", html="<p>%%subscriber.name%%</p>", text="x")
    send = sends.create_send(settings, db, issue, "weekly")
    now = utcnow()
    with db.session() as session:
        store.start_send(session, send.id, now)
        store.claim(session, send.id, send.list_id, "gone", 1, now, now - timedelta(seconds=5))
    assert mailer_cli("worker", "--once").exit_code == 0
    shown = mailer_cli("sends", "show", str(send.id))
    assert "uncertain (1; `mailer sends retry 1 --uncertain` re-sends):" in shown.output
    assert emails[0] in shown.output
    assert len(eml(settings, "send-1")) == 2
    retried = mailer_cli("sends", "retry", str(send.id), "--uncertain")
    assert retried.exit_code == 0, retried.output
    assert "1 uncertain recipients queued again" in retried.output
    assert "done: 3 sent" in retried.output
    assert len(eml(settings, "send-1")) == 3


def test_unknown_list_is_a_clear_error(mailer_cli, db: Database) -> None:
    result = mailer_cli("send", ISSUE, "--list", "nope")
    assert result.exit_code == 1
    assert "Error: no list 'nope'" in result.output


def test_send_leaves_delivery_to_a_running_sqlite_worker(
    mailer_cli,
    settings: Settings,
    db: Database,
) -> None:
    import pytest

    from mailer.deliver.worker import worker_lock

    if not db.is_sqlite:
        pytest.skip("on PostgreSQL `mailer send` delivers beside running workers")

    make_list(db, count=2)
    with worker_lock(Database(settings.database.url)):
        result = mailer_cli("send", ISSUE, "--list", "weekly")
    assert result.exit_code == 0, result.output
    assert "a worker is running: it will deliver send #1" in result.output
    with db.session() as session:
        assert store.get_send(session, 1).status == SendStatus.SCHEDULED
    assert eml(settings, "send-1") == []


class _ListReads:
    """Counts the SELECTs that read the ``lists`` table, on every engine."""

    PATTERN = re.compile(r"\b(FROM|JOIN)\s+\"?lists\"?(\s|$)", re.IGNORECASE)

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, _conn, _cursor, statement: str, *_args) -> None:
        if statement.lstrip().upper().startswith("SELECT") and self.PATTERN.search(statement):
            self.statements.append(statement)

    def __enter__(self) -> _ListReads:
        event.listen(Engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(Engine, "before_cursor_execute", self)


def test_one_send_reads_its_list_once(mailer_cli, db: Database) -> None:
    # Freezing the issue for the list reads it; creating the send, delivering
    # it in-process (or sending the test copies) use what the freeze read.
    make_list(db, count=2)
    with _ListReads() as now:
        result = mailer_cli("send", ISSUE, "--list", "weekly")
    assert result.exit_code == 0 and "send #1 done: 2 sent" in result.output, result.output
    assert len(now.statements) == 1, now.statements
    with _ListReads() as scheduled:
        result = mailer_cli(
            "send", ISSUE, "--list", "weekly", "--at", "2099-11-24 08:00", "--again"
        )
    assert result.exit_code == 0, result.output
    assert len(scheduled.statements) == 1, scheduled.statements
    with _ListReads() as tested:
        result = mailer_cli("send", ISSUE, "--list", "weekly", "--test-to", "qa@example.org")
    assert result.exit_code == 0, result.output
    assert len(tested.statements) == 1, tested.statements
