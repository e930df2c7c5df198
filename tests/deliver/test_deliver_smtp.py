"""SMTP delivery against a real aiosmtpd server: pool, drops, 4xx and 5xx replies."""

from __future__ import annotations

import email
import email.policy
from types import SimpleNamespace

import pytest

from mailer.config import Settings
from mailer.db import Database
from mailer.db import outbox as store
from mailer.deliver import sends
from mailer.deliver.transports.base import OutgoingMessage
from mailer.deliver.transports.smtp import SmtpTransport
from mailer.deliver.worker import Worker
from mailer.errors import PermanentFailure, TemporaryFailure
from mailer.status import RecipientStatus
from tests.support.deliver import SmtpServer, make_list, use_smtp
from tests.support.peers import free_port

RS = RecipientStatus
ISSUE = SimpleNamespace(
    slug="smtp-issue",
    subject="Über SMTP",
    html="<p>Hi %%subscriber.name%%</p><a href='%%unsubscribe_url%%'>u</a>",
    text="Hi %%subscriber.name%%\n%%unsubscribe_url%%\n",
)


def deliver(settings: Settings, db: Database) -> tuple[int, dict[str, int]]:
    send = sends.create_send(settings, db, ISSUE, "weekly")
    Worker(settings, db).run(only_send=send.id)
    with db.session() as session:
        return send.id, {k: v for k, v in store.counts(session, send.id).items() if v}


def test_pool_delivers_each_recipient_exactly_once(
    settings: Settings, db: Database, smtp_server: SmtpServer
) -> None:
    use_smtp(settings, smtp_server, connections=3)
    settings.delivery.batch_size = 16
    _, emails = make_list(db, count=50)
    _, counts = deliver(settings, db)
    assert counts == {RS.SENT: 50}
    got = smtp_server.handler.count_by_recipient()
    assert got == dict.fromkeys(emails, 1)
    first = smtp_server.handler.messages[0]
    assert first.sender == "news@weekly.example.org"
    msg = email.message_from_bytes(first.data, policy=email.policy.default)
    assert msg["Subject"] == "Über SMTP"
    assert msg["To"].addresses[0].addr_spec == first.recipients[0]


def test_dropped_connections_are_reopened_without_duplicates(
    settings: Settings, db: Database, smtp_server: SmtpServer
) -> None:
    use_smtp(settings, smtp_server, connections=2)
    smtp_server.handler.drop_every = 7
    _, emails = make_list(db, count=40)
    _, counts = deliver(settings, db)
    assert counts == {RS.SENT: 40}
    assert smtp_server.handler.count_by_recipient() == dict.fromkeys(emails, 1)
    assert smtp_server.handler.transactions > 40  # the drops really happened


def test_4xx_is_retried_later_and_5xx_fails_with_the_reply(
    settings: Settings, db: Database, smtp_server: SmtpServer
) -> None:
    use_smtp(settings, smtp_server, connections=2)
    settings.delivery.retry_seconds = 1
    _, emails = make_list(db, count=6)
    later, refused = emails[1], emails[4]
    smtp_server.handler.rcpt_replies = {
        later: ["451 4.7.1 Greylisted, try again", "452 4.2.2 Mailbox busy"],
        refused: ["550 5.1.1 No such user here"],
    }
    send_id, counts = deliver(settings, db)
    assert counts == {RS.SENT: 5, RS.FAILED: 1}
    got = smtp_server.handler.count_by_recipient()
    assert got[later] == 1 and refused not in got
    with db.session() as session:
        [(address, error, attempts)] = store.recipients_with_status(session, send_id, RS.FAILED)
    assert address == refused
    assert "550 5.1.1 No such user here" in error and attempts == 1


def test_lost_reply_after_data_is_uncertain_never_resent(
    settings: Settings, db: Database, smtp_server: SmtpServer
) -> None:
    use_smtp(settings, smtp_server, connections=1)
    _, emails = make_list(db, count=5)
    smtp_server.handler.lose_reply_for = {emails[2]}
    send_id, counts = deliver(settings, db)
    assert counts == {RS.SENT: 4, RS.UNCERTAIN: 1}
    assert smtp_server.handler.count_by_recipient() == dict.fromkeys(emails, 1)
    with db.session() as session:
        [(address, error, _)] = store.recipients_with_status(session, send_id, RS.UNCERTAIN)
    assert address == emails[2] and "may have gone out" in error


def test_unreachable_server_fails_after_max_attempts(settings: Settings, db: Database) -> None:
    settings.delivery.transport = "smtp"
    settings.smtp.port = free_port()  # nothing listens there
    settings.delivery.retry_seconds = 1
    settings.delivery.max_attempts = 2
    make_list(db, count=2)
    send_id, counts = deliver(settings, db)
    assert counts == {RS.FAILED: 2}
    with db.session() as session:
        errors = [e for _, e, _ in store.recipients_with_status(session, send_id, RS.FAILED)]
    assert all("gave up after 2 tries: cannot connect to SMTP server" in e for e in errors)


def test_transport_maps_replies(settings: Settings, smtp_server: SmtpServer) -> None:
    use_smtp(settings, smtp_server, connections=1)
    smtp_server.handler.rcpt_replies = {"a@x.org": ["421 4.3.2 Shutting down", "452 full"]}
    transport = SmtpTransport(settings.smtp)
    message = OutgoingMessage("n@x.org", "a@x.org", b"Subject: x\r\n\r\nbody\r\n")
    try:
        # 421 closes the connection: reopened and tried once more, then 452.
        with pytest.raises(TemporaryFailure, match="452 full"):
            transport.send(message)
        smtp_server.handler.rcpt_replies = {"b@x.org": ["554 5.7.1 Rejected"]}
        with pytest.raises(PermanentFailure, match=r"554 5\.7\.1 Rejected"):
            transport.send(OutgoingMessage("n@x.org", "b@x.org", message.data))
        transport.send(OutgoingMessage("n@x.org", "c@x.org", message.data))
        assert smtp_server.handler.count_by_recipient() == {"c@x.org": 1}
    finally:
        transport.close()
