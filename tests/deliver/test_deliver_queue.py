"""The mail queue: enqueue in a transaction, the worker delivers with retries, never twice."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from mailer.clock import utcnow
from mailer.config import Settings
from mailer.db import Database
from mailer.db import mailqueue as store
from mailer.db.models import QueuedMail
from mailer.deliver import queue
from mailer.deliver.worker import Worker
from mailer.errors import UnsafeHeader
from mailer.status import MailStatus
from tests.support.deliver import SmtpServer, use_smtp
from tests.support.peers import free_port


def _enqueue(db: Database, to: str = "reader@example.org", **extra: object) -> int:
    values: dict[str, object] = {
        "kind": "confirm",
        "to": to,
        "subject": "Please confirm",
        "html": "<p>Confirm: <a href='https://x/confirm/t'>yes</a></p>",
        "text": "Confirm: https://x/confirm/t\n",
        "from_email": "news@example.org",
        "from_name": "Example News",
        "headers": {"X-Mailer-Kind": "confirm"},
        **extra,
    }
    with db.session() as s:
        return queue.enqueue(s, **values)  # type: ignore[arg-type]


def _row(db: Database, row_id: int) -> QueuedMail:
    with db.session() as s:
        row = store.get(s, row_id)
        assert row is not None
        return row


def test_enqueue_commits_with_its_transaction_or_not_at_all(db: Database) -> None:
    with pytest.raises(RuntimeError), db.session() as s:
        queue.enqueue(
            s,
            kind="confirm",
            to="a@example.org",
            subject="s",
            html="h",
            text="t",
            from_email="news@example.org",
        )
        raise RuntimeError("the change that called for the mail failed")
    with db.session() as s:
        assert s.scalars(select(QueuedMail)).all() == []


def test_enqueue_refuses_header_injection(db: Database) -> None:
    with pytest.raises(UnsafeHeader, match="Subject"):
        _enqueue(db, subject="Hi\r\nBcc: victim@example.org")
    with pytest.raises(UnsafeHeader):
        _enqueue(db, headers={"X-Kind": "a\nBcc: victim@example.org"})
    with db.session() as s:
        assert store.counts(s)[MailStatus.QUEUED] == 0


def test_worker_once_delivers_queued_mail_over_smtp(
    settings: Settings, db: Database, smtp_server: SmtpServer
) -> None:
    use_smtp(settings, smtp_server)
    first = _enqueue(db, "one@example.org")
    second = _enqueue(db, "two@example.org", to_name="Zoë Two")
    stats = Worker(settings, db).run(once=True)
    assert stats.queued_mail == 2
    assert smtp_server.handler.count_by_recipient() == {"one@example.org": 1, "two@example.org": 1}
    rows = [_row(db, first), _row(db, second)]
    assert [r.status for r in rows] == [MailStatus.SENT, MailStatus.SENT]
    raw = next(m.data for m in smtp_server.handler.messages if "two@example.org" in m.recipients)
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["To"].addresses[0].display_name == "Zoë Two"
    assert msg["Subject"] == "Please confirm"
    assert msg["X-Mailer-Kind"] == "confirm"
    assert msg["Message-ID"] == rows[1].message_id
    # Run again: nothing is sent twice.
    assert Worker(settings, db).run(once=True).queued_mail == 0
    assert len(smtp_server.handler.messages) == 2


def test_mail_server_down_is_retried_with_backoff_then_fails(
    settings: Settings, db: Database
) -> None:
    settings.delivery.transport = "smtp"
    settings.smtp.port = free_port()  # nobody listens there
    settings.smtp.timeout = 2
    settings.delivery.max_attempts = 3
    settings.delivery.retry_seconds = 60
    row_id = _enqueue(db)
    before = utcnow()
    Worker(settings, db).run(once=True)
    row = _row(db, row_id)
    assert row.status == MailStatus.QUEUED and row.attempts == 1 and row.error
    assert row.next_attempt_at is not None
    wait = (row.next_attempt_at - before).total_seconds()
    assert 60 * 0.8 - 1 <= wait <= 60 * 1.2 + 5
    # Not due yet: a second run leaves it alone.
    Worker(settings, db).run(once=True)
    assert _row(db, row_id).attempts == 1
    for tries in (2, 3):
        with db.session() as s:
            s.execute(update(QueuedMail).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        Worker(settings, db).run(once=True)
        row = _row(db, row_id)
        assert row.attempts == tries
    assert row.status == MailStatus.FAILED and row.error.startswith("gave up after 3 tries")


def test_5xx_fails_at_once_and_4xx_is_retried(
    settings: Settings, db: Database, smtp_server: SmtpServer
) -> None:
    use_smtp(settings, smtp_server)
    smtp_server.handler.rcpt_replies = {
        "gone@example.org": ["550 5.1.1 no such user"],
        "busy@example.org": ["451 4.3.0 try later"],
    }
    gone, busy = _enqueue(db, "gone@example.org"), _enqueue(db, "busy@example.org")
    Worker(settings, db).run(once=True)
    assert _row(db, gone).status == MailStatus.FAILED and "550" in _row(db, gone).error
    assert _row(db, busy).status == MailStatus.QUEUED and _row(db, busy).attempts == 1
    with db.session() as s:
        s.execute(update(QueuedMail).values(next_attempt_at=None))
    Worker(settings, db).run(once=True)
    assert _row(db, busy).status == MailStatus.SENT
    assert smtp_server.handler.count_by_recipient() == {"busy@example.org": 1}


def test_lost_reply_is_uncertain_and_never_resent(
    settings: Settings, db: Database, smtp_server: SmtpServer
) -> None:
    use_smtp(settings, smtp_server)
    smtp_server.handler.lose_reply_for = {"maybe@example.org"}
    row_id = _enqueue(db, "maybe@example.org")
    Worker(settings, db).run(once=True)
    assert _row(db, row_id).status == MailStatus.UNCERTAIN
    Worker(settings, db).run(once=True)
    assert smtp_server.handler.count_by_recipient() == {"maybe@example.org": 1}


def test_a_row_left_in_flight_by_a_dead_worker_is_uncertain_not_resent(
    settings: Settings, db: Database, smtp_server: SmtpServer
) -> None:
    use_smtp(settings, smtp_server)
    row_id = _enqueue(db, "inflight@example.org")
    request = None
    with db.session() as s:
        # A sign-up request claimed by the dead worker never reached a transport.
        request = queue.enqueue_request(s, kind="subscribe", to="x@example.org", data={})
        now = utcnow()
        store.claim_one(s, "dead-worker", now, now + timedelta(seconds=300))
        store.claim_one(s, "dead-worker", now, now + timedelta(seconds=300))
    if db.is_sqlite:
        # The next worker holds the SQLite lock: the old one is gone.
        stats = Worker(settings, db).run(once=True)
    else:
        # PostgreSQL: only once the dead worker's lease has run out.
        assert Worker(settings, db).run(once=True).uncertain_found == 0
        assert _row(db, row_id).status == MailStatus.SENDING
        with db.session() as s:
            s.execute(update(QueuedMail).values(lease_until=utcnow() - timedelta(seconds=1)))
        stats = Worker(settings, db).run(once=True)
    assert stats.uncertain_found == 1
    row = _row(db, row_id)
    assert row.status == MailStatus.UNCERTAIN and "may or may not" in row.error
    assert smtp_server.handler.messages == []
    # The request was handled again (its list is unknown: it is simply done).
    assert _row(db, request).status == MailStatus.DONE


def test_two_workers_never_claim_the_same_row(db: Database) -> None:
    ids = {_enqueue(db, f"r{i}@example.org") for i in range(5)}
    now = utcnow()
    lease = now + timedelta(seconds=60)
    claimed: list[int] = []
    for worker in ("a", "b", "a", "b", "a", "b"):
        with db.session() as s:
            row = store.claim_one(s, worker, now, lease)
        if row is not None:
            claimed.append(row.id)
    assert sorted(claimed) == sorted(ids)


def test_outbox_transport_writes_queued_mail_under_single(settings: Settings, db: Database) -> None:
    row_id = _enqueue(db, "out@example.org")
    Worker(settings, db).run(once=True)
    files = list((settings.path(settings.delivery.outbox_dir) / "single").glob("*.eml"))
    assert len(files) == 1 and files[0].name.startswith("out@example.org")
    assert _row(db, row_id).provider_message_id == f"single/{files[0].name}"


def test_queue_command_shows_what_went_wrong_and_retries_failed_ones(
    settings: Settings,
    db: Database,
    smtp_server: SmtpServer,
    mailer_cli,
) -> None:
    use_smtp(settings, smtp_server)
    smtp_server.handler.rcpt_replies = {"full@example.org": ["552 5.2.2 mailbox full"]}
    smtp_server.handler.lose_reply_for = {"maybe@example.org"}
    failed, uncertain = _enqueue(db, "full@example.org"), _enqueue(db, "maybe@example.org")
    Worker(settings, db).run(once=True)
    shown = mailer_cli("queue")
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0] == "1 failed, 1 uncertain"
    assert any(f"#{failed} confirm to full@example.org failed" in line for line in lines)
    assert any(f"#{uncertain} confirm to maybe@example.org uncertain" in line for line in lines)
    assert "mailer queue retry --uncertain" in lines[-1]
    refused = mailer_cli("queue", "retry")
    assert refused.exit_code == 1 and refused.output.startswith("Error: say which")
    assert mailer_cli("queue", "retry", "--failed").output.startswith("1 failed messages queued")
    Worker(settings, db).run(once=True)
    assert _row(db, failed).status == MailStatus.SENT  # the mailbox had room again
    assert _row(db, uncertain).status == MailStatus.UNCERTAIN  # never re-sent on its own
    assert smtp_server.handler.count_by_recipient() == {
        "maybe@example.org": 1,
        "full@example.org": 1,
    }
