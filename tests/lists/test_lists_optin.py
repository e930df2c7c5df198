"""Subscribing and double opt-in: what the web app relies on."""

from __future__ import annotations

import time
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from mailer import links, reports
from mailer.clock import utcnow
from mailer.config import Settings
from mailer.db import Database
from mailer.db import subscribers as store
from mailer.db.models import Recipient, Send
from mailer.deliver.worker import Worker
from mailer.errors import InvalidEmail, InvalidToken, NotFoundError
from mailer.lists.addresses import email_hash
from mailer.lists.optin import (
    SubscribeOutcome,
    confirm,
    resubscribe_by_token,
    subscribe,
    subscription_status,
    unsubscribe_by_token,
)
from mailer.status import RecipientStatus, SendStatus, SuppressionReason
from tests.support.deliver import body_of

ADDR = "Reader@Example.ORG"


def _status(db: Database, slug: str, email: str) -> str | None:
    return subscription_status(db, links.ListToken(slug, email_hash(email)))


def _sent(db: Database, settings: Settings, outbox: Path) -> list[Path]:
    """The confirmations the worker delivers from the mail queue (it runs first)."""
    Worker(settings, db).run(once=True)
    return sorted(outbox.glob("*.eml")) if outbox.exists() else []


def _confirm_link(path: Path) -> str:
    msg = message_from_bytes(path.read_bytes(), policy=policy.default)
    text = body_of(msg, "plain")
    (url,) = {w for w in text.split() if "/confirm/" in w}
    return url


def test_double_opt_in_sends_a_confirmation_then_activates(
    lists_db: Database, settings: Settings, outbox: Path
) -> None:
    outcome = subscribe(lists_db, settings, "weekly", ADDR, name="Rea")
    assert outcome is SubscribeOutcome.CONFIRMATION_SENT
    assert _status(lists_db, "weekly", ADDR) == "unconfirmed"
    (mail,) = _sent(lists_db, settings, outbox)
    msg = message_from_bytes(mail.read_bytes(), policy=policy.default)
    assert msg["To"] == "Reader@example.org"
    assert "editors@example.org" in msg["From"]
    assert "Weekly Briefing" in msg["Subject"]
    assert msg["Reply-To"] == "reply@example.org"
    url = _confirm_link(mail)
    assert url.startswith("https://news.example.org/confirm/")
    result = confirm(lists_db, settings, url.rsplit("/", 1)[1])
    assert (result.list_slug, result.already) == ("weekly", False)
    assert _status(lists_db, "weekly", ADDR) == "active"
    again = confirm(lists_db, settings, url.rsplit("/", 1)[1])
    assert again.already is True


def test_confirmation_is_not_resent_within_the_window(
    lists_db: Database, settings: Settings, outbox: Path
) -> None:
    for _ in range(3):
        assert subscribe(lists_db, settings, "weekly", ADDR) is SubscribeOutcome.CONFIRMATION_SENT
    assert len(_sent(lists_db, settings, outbox)) == 1
    settings.lists.confirm_resend_minutes = 0
    subscribe(lists_db, settings, "weekly", ADDR)
    assert len(_sent(lists_db, settings, outbox)) == 2


def test_already_active_gets_the_same_answer_and_no_mail(
    lists_db: Database, settings: Settings, outbox: Path
) -> None:
    token = links.make_confirm_token(settings, "weekly", email_hash(ADDR))
    subscribe(lists_db, settings, "weekly", ADDR)
    confirm(lists_db, settings, token)
    settings.lists.confirm_resend_minutes = 0
    assert subscribe(lists_db, settings, "weekly", ADDR) is SubscribeOutcome.CONFIRMATION_SENT
    assert len(_sent(lists_db, settings, outbox)) == 1


def test_expired_and_forged_tokens_are_refused(lists_db: Database, settings: Settings) -> None:
    subscribe(lists_db, settings, "weekly", ADDR)
    real_time = time.time
    old = real_time() - (settings.lists.confirm_ttl_hours * 3600 + 60)
    try:
        time.time = lambda: old  # itsdangerous stamps tokens with time.time()
        expired = links.make_confirm_token(settings, "weekly", email_hash(ADDR))
    finally:
        time.time = real_time
    with pytest.raises(InvalidToken, match="expired"):
        confirm(lists_db, settings, expired)
    good = links.make_confirm_token(settings, "weekly", email_hash(ADDR))
    forged = good[:-3] + ("aaa" if not good.endswith("aaa") else "bbb")
    with pytest.raises(InvalidToken):
        confirm(lists_db, settings, forged)
    other_key = settings.model_copy(deep=True)
    other_key.site.secret_key = "someone-else-0123456789-abcdefghijkl"  # type: ignore[assignment]
    with pytest.raises(InvalidToken):
        confirm(lists_db, settings, links.make_confirm_token(other_key, "weekly", email_hash(ADDR)))
    # An unsubscribe link is not a confirmation link.
    with pytest.raises(InvalidToken):
        confirm(
            lists_db,
            settings,
            links.make_token(settings, "unsubscribe", "weekly", email_hash(ADDR)),
        )
    assert _status(lists_db, "weekly", ADDR) == "unconfirmed"


def test_single_opt_in_activates_at_once(
    lists_db: Database, settings: Settings, outbox: Path
) -> None:
    assert subscribe(lists_db, settings, "daily", ADDR) is SubscribeOutcome.SUBSCRIBED
    assert _status(lists_db, "daily", ADDR) == "active"
    assert _sent(lists_db, settings, outbox) == []


def test_unsubscribed_is_not_resurrected_by_a_form_post(
    lists_db: Database, settings: Settings, outbox: Path
) -> None:
    subscribe(lists_db, settings, "daily", ADDR)
    assert unsubscribe_by_token(lists_db, links.ListToken("daily", email_hash(ADDR)))
    assert not unsubscribe_by_token(lists_db, links.ListToken("daily", email_hash(ADDR)))
    # Anyone can type this address into the form: it stays unsubscribed until
    # the owner clicks the confirmation link.
    assert subscribe(lists_db, settings, "daily", ADDR) is SubscribeOutcome.SUBSCRIBED
    assert _status(lists_db, "daily", ADDR) == "unsubscribed"
    (mail,) = _sent(lists_db, settings, outbox)
    confirm(lists_db, settings, _confirm_link(mail).rsplit("/", 1)[1])
    assert _status(lists_db, "daily", ADDR) == "active"


def test_old_confirmation_link_does_not_undo_a_later_unsubscribe(
    lists_db: Database, settings: Settings, outbox: Path
) -> None:
    subscribe(lists_db, settings, "weekly", ADDR)
    token = _confirm_link(_sent(lists_db, settings, outbox)[0]).rsplit("/", 1)[1]
    confirm(lists_db, settings, token)
    unsubscribe_by_token(lists_db, links.ListToken("weekly", email_hash(ADDR)))
    with pytest.raises(InvalidToken, match="no longer valid"):
        confirm(lists_db, settings, token)
    assert _status(lists_db, "weekly", ADDR) == "unsubscribed"
    assert resubscribe_by_token(lists_db, links.ListToken("weekly", email_hash(ADDR))).changed
    assert _status(lists_db, "weekly", ADDR) == "active"


def test_suppressed_address_is_never_activated_nor_mailed(
    lists_db: Database, settings: Settings, outbox: Path
) -> None:
    with lists_db.session() as s:
        store.suppress(s, ADDR, SuppressionReason.COMPLAINT)
    assert subscribe(lists_db, settings, "weekly", ADDR) is SubscribeOutcome.CONFIRMATION_SENT
    assert subscribe(lists_db, settings, "daily", ADDR) is SubscribeOutcome.SUBSCRIBED
    assert _sent(lists_db, settings, outbox) == []
    assert _status(lists_db, "weekly", ADDR) is None
    assert _status(lists_db, "daily", ADDR) is None
    token = links.make_confirm_token(settings, "weekly", email_hash(ADDR))
    with pytest.raises(InvalidToken):
        confirm(lists_db, settings, token)
    assert not resubscribe_by_token(lists_db, links.ListToken("weekly", email_hash(ADDR))).changed


def test_form_post_does_not_overwrite_a_known_person(
    lists_db: Database, settings: Settings
) -> None:
    subscribe(lists_db, settings, "daily", ADDR, name="Real Name", attributes={"city": "Gent"})
    subscribe(lists_db, settings, "weekly", ADDR, name="Prankster", attributes={"city": "X"})
    with lists_db.session() as s:
        sub = store.find_subscriber(s, ADDR)
        assert sub is not None
        assert (sub.name, sub.attributes, sub.source) == ("Real Name", {"city": "Gent"}, "web")


def test_bad_address_and_unknown_list(lists_db: Database, settings: Settings, outbox: Path) -> None:
    with pytest.raises(InvalidEmail, match="not a valid email"):
        subscribe(lists_db, settings, "weekly", "nobody@@example.org")
    with pytest.raises(NotFoundError):
        subscribe(lists_db, settings, "nope", ADDR)
    assert _sent(lists_db, settings, outbox) == []


def test_subscription_and_its_confirmation_commit_together(
    lists_db: Database, settings: Settings, outbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mailer.deliver import queue

    def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(queue, "enqueue", broken)
    with pytest.raises(RuntimeError):
        subscribe(lists_db, settings, "weekly", ADDR)
    # Nothing half-done: no unconfirmed subscription blocking a retry for an hour.
    assert _status(lists_db, "weekly", ADDR) is None
    monkeypatch.undo()
    subscribe(lists_db, settings, "weekly", ADDR)
    assert len(_sent(lists_db, settings, outbox)) == 1


def test_confirmation_mail_carries_look_alike_names_as_text(
    lists_db: Database, settings: Settings, outbox: Path
) -> None:
    from sqlalchemy import update

    from mailer.db.models import MailingList

    evil = "=?utf-8?q?A=0D=0ABcc:_x@evil.example?="
    with lists_db.session() as session:
        session.execute(
            update(MailingList)
            .where(MailingList.slug == "weekly")
            .values(name=evil, from_name=evil)
        )
    subscribe(lists_db, settings, "weekly", "reader@bücher.example")
    (mail,) = _sent(lists_db, settings, outbox)
    data = mail.read_bytes()
    head = data.split(b"\r\n\r\n", 1)[0]
    assert b"Bcc" not in head and b"=0D=0A" not in head
    msg = message_from_bytes(data, policy=policy.default)
    assert msg["Bcc"] is None
    assert evil in msg["Subject"]
    assert msg["To"] == "reader@xn--bcher-kva.example"
    assert "".join(msg["From"].addresses[0].display_name.split()) == evil


def _sent_to(db: Database, list_slug: str, email: str) -> int:
    """A finished send to ``list_slug`` whose one message went to ``email``; its id."""
    with db.session() as s:
        lst = store.get_list(s, list_slug)
        sub = store.find_subscriber(s, email)
        assert sub is not None
        send = Send(
            issue_slug="issue-1",
            list_id=lst.id,
            subject="Issue 1",
            status=SendStatus.DONE,
            status_reason="",
            created_at=utcnow(),
            started_at=utcnow(),
            total=1,
        )
        s.add(send)
        s.flush()
        s.add(
            Recipient(
                send_id=send.id,
                subscriber_id=sub.id,
                email=sub.email,
                email_hash=sub.email_hash,
                status=RecipientStatus.SENT,
                attempts=1,
                error="",
                sent_at=utcnow(),
                opens=0,
                clicks=0,
            )
        )
        return send.id


def test_an_unsubscribe_by_link_counts_in_the_report_of_the_send_that_brought_it(
    lists_db: Database, settings: Settings
) -> None:
    """The one unsubscribe path (page, one-click) credits the send, once."""
    subscribe(lists_db, settings, "daily", ADDR)
    send_id = _sent_to(lists_db, "daily", ADDR)
    assert reports.send_report(lists_db, send_id).counts["unsubscribed"] == 0
    token = links.ListToken("daily", email_hash(ADDR))
    assert unsubscribe_by_token(lists_db, token)
    assert _status(lists_db, "daily", ADDR) == "unsubscribed"
    assert reports.send_report(lists_db, send_id).counts["unsubscribed"] == 1
    # A second click changes nothing, and counts nothing twice.
    assert not unsubscribe_by_token(lists_db, token)
    assert reports.send_report(lists_db, send_id).counts["unsubscribed"] == 1
    with pytest.raises(NotFoundError):
        unsubscribe_by_token(lists_db, links.ListToken("gone", email_hash(ADDR)))
