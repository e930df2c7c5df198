"""Sends on both databases: freeze, deliver, skip, refuse repeats, pause, cancel, retry."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from mailer import links
from mailer.clock import utcnow
from mailer.config import Settings
from mailer.db import Database
from mailer.db import outbox as store
from mailer.db.guardrails import SendFeedback
from mailer.db.models import Recipient, Send, Subscription, Suppression
from mailer.deliver import sends
from mailer.deliver.guardrails import Thresholds, verdict
from mailer.deliver.worker import Worker, worker_lock
from mailer.errors import ConflictError, Hint, WorkerBusy
from mailer.lists.addresses import email_hash
from mailer.status import RecipientStatus, SendStatus, SubscriptionStatus
from tests.support.deliver import body_of, make_list

RS = RecipientStatus
HTML = (
    "<p>Hello %%subscriber.name%% from %%subscriber.attributes.city%%</p>"
    "<a href='%%unsubscribe_url%%'>unsubscribe</a> <a href='%%preferences_url%%'>prefs</a>"
    " <a href='%%web_url%%'>web</a>"
)
TEXT = "Hello %%subscriber.name%%\nUnsubscribe: %%unsubscribe_url%%\n"


def issue(slug: str = "issue-7", subject: str = "Issue 7: news") -> SimpleNamespace:
    return SimpleNamespace(slug=slug, subject=subject, html=HTML, text=TEXT)


def outbox_files(settings: Settings, send_id: int) -> list[Path]:
    return sorted((settings.path(settings.delivery.outbox_dir) / f"send-{send_id}").glob("*.eml"))


def run(settings: Settings, db: Database, send_id: int) -> None:
    Worker(settings, db).run(only_send=send_id)


def counts(db: Database, send_id: int) -> dict[str, int]:
    with db.session() as session:
        return {k: v for k, v in store.counts(session, send_id).items() if v}


def test_send_delivers_every_active_subscriber_once_personalised(
    settings: Settings, db: Database
) -> None:
    settings.delivery.batch_size = 7
    _, emails = make_list(db, count=23)
    send = sends.create_send(settings, db, issue(), "weekly")
    run(settings, db, send.id)
    assert counts(db, send.id) == {RS.SENT: 23}
    files = outbox_files(settings, send.id)
    assert len(files) == 23
    seen: dict[str, str] = {}
    for path in files:
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        to = msg["To"].addresses[0]
        seen[to.addr_spec] = msg["Message-ID"]
        i = emails.index(to.addr_spec)
        assert to.display_name == f"Reader {i}"
        assert msg["X-Mailer-Send-Id"] == str(send.id)
        assert msg["From"].addresses[0].addr_spec == "news@weekly.example.org"
        assert msg["Reply-To"] == "editor@weekly.example.org"
        assert "weekly.news.example.org" in msg["List-Id"]
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        body = body_of(msg, "plain")
        assert f"Hello Reader {i}\n" in body.replace("\r\n", "\n")
        html = body_of(msg, "html")
        assert f"from City {i}</p>" in html
        assert "https://news.example.org/issues/issue-7/" in html
        # The unsubscribe link is signed, names the list and the address hash only.
        url = msg["List-Unsubscribe"].split(">")[0].lstrip("<")
        token = url.rsplit("/", 1)[1]
        assert url == links.unsubscribe_url(settings, token)
        read = links.read_token(settings, "unsubscribe", token)
        assert (read.list_slug, read.email_hash) == ("weekly", email_hash(to.addr_spec))
        assert to.addr_spec not in url
    assert set(seen) == set(emails)
    assert len(set(seen.values())) == 23  # unique Message-IDs
    with db.session() as session:
        stored = dict(session.execute(select(Recipient.email, Recipient.message_id)).all())
        send_row = store.get_send(session, send.id)
    assert stored == seen
    assert send_row.status == SendStatus.DONE and send_row.total == 23
    assert send_row.finished_at is not None


def test_recipients_are_frozen_without_inactive_or_suppressed(
    settings: Settings, db: Database
) -> None:
    list_id, emails = make_list(db, count=6)
    make_list(db, slug="other", count=2, status=SubscriptionStatus.UNCONFIRMED)
    now = utcnow()
    with db.session() as session:
        session.add(
            Suppression(email_hash=email_hash(emails[0]), reason="complaint", created_at=now)
        )
        first = session.scalars(
            select(Subscription.subscriber_id).where(Subscription.list_id == list_id)
        ).all()
        session.execute(
            update(Subscription)
            .where(Subscription.list_id == list_id, Subscription.subscriber_id == max(first))
            .values(status=SubscriptionStatus.UNCONFIRMED)
        )
    send = sends.create_send(settings, db, issue(), "weekly")
    with db.session() as session:
        # 6 on the list: one suppressed, one unconfirmed; the other list is not included.
        assert store.start_send(session, send.id, utcnow()) == 4
        # After the freeze: one unsubscribes, one gets suppressed.
        frozen = {
            r.email: r.subscriber_id
            for r in session.scalars(select(Recipient).where(Recipient.send_id == send.id))
        }
        assert emails[0] not in frozen and len(frozen) == 4
        session.execute(
            update(Subscription)
            .where(Subscription.list_id == list_id, Subscription.subscriber_id == frozen[emails[2]])
            .values(status=SubscriptionStatus.UNSUBSCRIBED)
        )
        session.add(
            Suppression(email_hash=email_hash(emails[1]), reason="hard_bounce", created_at=now)
        )
    run(settings, db, send.id)
    assert counts(db, send.id) == {RS.SENT: 2, RS.SKIPPED: 2}
    with db.session() as session:
        errors = {e for e, _, _ in store.recipients_with_status(session, send.id, RS.SKIPPED)}
        reasons = [err for _, err, _ in store.recipients_with_status(session, send.id, RS.SKIPPED)]
    assert emails[1] in errors
    assert any("suppressed (hard_bounce)" in r for r in reasons)
    assert any("no longer subscribed (unsubscribed)" in r for r in reasons)
    assert len(outbox_files(settings, send.id)) == 2


def test_same_issue_to_same_list_needs_again(settings: Settings, db: Database) -> None:
    make_list(db, count=2)
    first = sends.create_send(settings, db, issue(), "weekly")
    with pytest.raises(ConflictError, match=r"already went to list 'weekly'") as refused:
        sends.create_send(settings, db, issue(), "weekly")
    assert refused.value.hint is Hint.SEND_AGAIN and "again" not in refused.value.message
    again = sends.create_send(settings, db, issue(), "weekly", again=True)
    assert again.id != first.id
    # A send cancelled before it started does not count.
    make_list(db, slug="fresh", count=1)
    cancelled = sends.create_send(settings, db, issue(), "fresh", at=utcnow() + timedelta(days=1))
    sends.cancel(db, cancelled.id)
    assert sends.create_send(settings, db, issue(), "fresh").id > cancelled.id


def test_header_injection_through_subject_is_refused(settings: Settings, db: Database) -> None:
    make_list(db, count=1)
    from mailer.errors import UnsafeHeader

    with pytest.raises(UnsafeHeader):
        sends.create_send(settings, db, issue(subject="Hi\r\nBcc: all@example.org"), "weekly")
    with db.session() as session:
        assert store.all_sends(session) == []


def test_scheduled_send_waits_for_its_time(settings: Settings, db: Database) -> None:
    make_list(db, count=3)
    send = sends.create_send(settings, db, issue(), "weekly", at=utcnow() + timedelta(hours=1))
    Worker(settings, db).run(once=True)
    assert counts(db, send.id) == {}
    with db.session() as session:
        session.execute(
            update(Send)
            .where(Send.id == send.id)
            .values(scheduled_at=utcnow() - timedelta(seconds=1))
        )
    stats = Worker(settings, db).run(once=True)
    assert stats.started == 1
    assert counts(db, send.id) == {RS.SENT: 3}


def test_a_paused_send_waits_until_resumed(settings: Settings, db: Database) -> None:
    make_list(db, count=4)
    send = sends.create_send(settings, db, issue(), "weekly")
    sends.pause(db, send.id)
    Worker(settings, db).run(once=True)
    assert counts(db, send.id) == {}
    assert sends.resume(db, send.id) == SendStatus.SCHEDULED
    run(settings, db, send.id)
    assert counts(db, send.id) == {RS.SENT: 4}


SS = SendStatus
BREAKER = verdict(SendFeedback(400, 40, 0, None), Thresholds())
# What an operator's pause, resume and cancel do to a send in each state: the
# status it moves to, or the start of the refusal (a ConflictError, after which
# the send is as it was). ``_send_in`` brings a new send into each state.
ACTIONS: dict[str, dict[str, str]] = {
    "scheduled": {"pause": SS.PAUSED, "resume": "is scheduled, not paused", "cancel": SS.CANCELLED},
    "running": {"pause": SS.PAUSED, "resume": "is running, not paused", "cancel": SS.CANCELLED},
    "paused": {
        "pause": "is paused: only a scheduled or running send can pause",
        "resume": SS.SCHEDULED,  # it had not started
        "cancel": SS.CANCELLED,
    },
    "paused-while-running": {
        "pause": "is paused: only a scheduled or running send can pause",
        "resume": SS.RUNNING,
        "cancel": SS.CANCELLED,
    },
    "paused-by-the-breaker": {
        "pause": "is paused: only a scheduled or running send can pause",
        "resume": "was paused by its circuit breaker",  # resuming takes --override
        "cancel": SS.CANCELLED,
    },
    "done": {
        "pause": "is done: only a scheduled or running send can pause",
        "resume": "is done, not paused",
        "cancel": "is done: it cannot be cancelled",
    },
    "cancelled": {
        "pause": "is cancelled: only a scheduled or running send can pause",
        "resume": "is cancelled, not paused",
        "cancel": "is cancelled: it cannot be cancelled",
    },
}


def _send_in(settings: Settings, db: Database, state: str, slug: str) -> int:
    """A new send of issue ``slug`` to the weekly list, brought into ``state`` for real."""
    send_id = int(sends.create_send(settings, db, issue(slug), "weekly").id)
    if state in ("running", "paused-while-running"):
        with db.session() as session:
            assert store.start_send(session, send_id, utcnow())
    if state == "done":
        run(settings, db, send_id)
    if state in ("paused", "paused-while-running"):
        sends.pause(db, send_id)
    if state == "paused-by-the-breaker":
        sends.pause(db, send_id, reason=BREAKER)
    if state == "cancelled":
        sends.cancel(db, send_id)
    return send_id


def _status(db: Database, send_id: int) -> str:
    with db.session() as session:
        return str(store.get_send(session, send_id).status)


@pytest.mark.parametrize("state", list(ACTIONS))
def test_pause_resume_and_cancel_in_every_state(
    settings: Settings, db: Database, state: str
) -> None:
    """The one place the rule is asserted; the CLI and the web app show its refusals."""
    make_list(db, count=2)
    for action, outcome in ACTIONS[state].items():
        send_id = _send_in(settings, db, state, f"issue-{action}")
        before = _status(db, send_id)
        do = getattr(sends, action)
        if outcome in SS.ALL:
            do(db, send_id)
            assert _status(db, send_id) == outcome, (state, action)
        else:
            with pytest.raises(ConflictError) as refused:
                do(db, send_id)
            assert refused.value.message.startswith(f"send #{send_id} {outcome}")
            assert _status(db, send_id) == before, (state, action)


def test_cancel_midway_leaves_the_rest_unsent(settings: Settings, db: Database) -> None:
    make_list(db, count=5)
    send = sends.create_send(settings, db, issue(), "weekly")
    with db.session() as session:
        store.start_send(session, send.id, utcnow())
    assert sends.cancel(db, send.id) == 5
    Worker(settings, db).run(once=True)
    assert counts(db, send.id) == {RS.QUEUED: 5}
    assert outbox_files(settings, send.id) == []


def started_send(settings: Settings, db: Database, count: int) -> tuple[int, int]:
    """A send to a new list of ``count``, started (its recipients frozen): its id and the list's."""
    make_list(db, count=count)
    send = sends.create_send(settings, db, issue(), "weekly")
    with db.session() as session:
        store.start_send(session, send.id, utcnow())
        return send.id, store.get_send(session, send.id).list_id


def test_expired_lease_becomes_uncertain_and_is_retried_only_on_request(
    settings: Settings, db: Database
) -> None:
    send_id, list_id = started_send(settings, db, 5)
    now = utcnow()
    with db.session() as session:
        claimed = store.claim(
            session, send_id, list_id, "dead-worker", 2, now, now - timedelta(seconds=1)
        )
    assert len(claimed) == 2
    # The dead worker's batch is in flight; a live worker (PostgreSQL rules:
    # lease expiry) must not send it again.
    Worker(settings, db).run(once=True)
    assert counts(db, send_id) == {RS.SENT: 3, RS.UNCERTAIN: 2}
    assert len(outbox_files(settings, send_id)) == 3
    with db.session() as session:
        uncertain = store.recipients_with_status(session, send_id, RS.UNCERTAIN)
        assert store.get_send(session, send_id).status == SendStatus.DONE
    assert {e for e, _, _ in uncertain} == {c.email for c in claimed}
    assert all("may or may not have been sent" in err for _, err, _ in uncertain)
    assert sends.retry(db, send_id, RS.UNCERTAIN) == 2
    run(settings, db, send_id)
    assert counts(db, send_id) == {RS.SENT: 5}
    assert len(outbox_files(settings, send_id)) == 5


def test_live_lease_is_left_alone_on_postgres(settings: Settings, db: Database) -> None:
    """Another worker's batch with a valid lease is neither re-sent nor marked uncertain."""
    if db.is_sqlite:
        pytest.skip("on SQLite the single worker owns every row in flight")
    send_id, list_id = started_send(settings, db, 4)
    now = utcnow()
    with db.session() as session:
        store.claim(session, send_id, list_id, "live-worker", 3, now, now + timedelta(minutes=5))
    Worker(settings, db).run(once=True)
    assert counts(db, send_id) == {RS.SENT: 1, RS.SENDING: 3}


def test_sqlite_refuses_a_second_worker(settings: Settings, db: Database) -> None:
    if not db.is_sqlite:
        pytest.skip("PostgreSQL runs several workers")
    with worker_lock(db) as alone:
        assert alone
        with pytest.raises(WorkerBusy, match="one worker at a time"):
            Worker(settings, db).run(once=True)


def test_test_copies_record_nothing(settings: Settings, db: Database) -> None:
    make_list(db, count=3)
    results = sends.send_test(settings, db, issue(), "weekly", ["qa@example.org", "ed@example.org"])
    assert len(results) == 2
    with db.session() as session:
        assert store.all_sends(session) == []
        assert session.scalar(select(Recipient.id).limit(1)) is None
    files = sorted(settings.path(settings.delivery.outbox_dir).rglob("*.eml"))
    assert len(files) == 2
    msg = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert msg["Subject"] == "[TEST] Issue 7: news"
    assert msg["X-Mailer-Send-Id"] == "test"
    # Sending for real is still allowed: a test copy is not a send.
    sends.create_send(settings, db, issue(), "weekly")


LOOK_ALIKE = "=?utf-8?q?A=0D=0ABcc:_x@evil.example?="


def test_test_copies_carry_look_alikes_as_text_and_idn_in_a_labels(
    settings: Settings, db: Database
) -> None:
    from mailer.db.models import MailingList

    make_list(db, count=1)
    with db.session() as session:
        session.execute(update(MailingList).values(from_name=LOOK_ALIKE))
    sends.send_test(settings, db, issue(subject=LOOK_ALIKE), "weekly", ["zoe@bücher.example"])
    (path,) = sorted(settings.path(settings.delivery.outbox_dir).rglob("*.eml"))
    data = path.read_bytes()
    head = data.split(b"\r\n\r\n", 1)[0]
    assert b"Bcc" not in head and b"=0D=0A" not in head
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert msg["Bcc"] is None
    assert msg["Subject"] == "[TEST] " + LOOK_ALIKE
    assert msg["From"].addresses[0].addr_spec == "news@weekly.example.org"
    assert msg["To"].addresses[0].addr_spec == "zoe@xn--bcher-kva.example"


def test_a_worker_whose_lease_was_taken_over_records_nothing(
    settings: Settings, db: Database
) -> None:
    """A slow worker's late outcomes must not overwrite those of the worker that took over."""
    send_id, list_id = started_send(settings, db, 4)
    now = utcnow()
    with db.session() as session:
        slow = store.claim(session, send_id, list_id, "slow-worker", 4, now, now)
    ids = [row.id for row in slow]
    with db.session() as session:
        # Its lease ran out: uncertain, then queued again by an operator and
        # claimed by another worker, which records its own outcomes.
        assert store.expire_leases(session, now + timedelta(seconds=1)) == 4
        assert store.requeue(session, send_id, RS.UNCERTAIN) == 4
        fresh = store.claim(
            session, send_id, list_id, "new-worker", 4, now, now + timedelta(minutes=5)
        )
        assert [row.id for row in fresh] == ids
        taken = store.Outcomes(
            sent=[{"rid": ids[0], "mid": "<new@x>", "pmid": "new-0"}],
            sent_plain=[ids[1]],
            message_id_parts=(send_id, "new", "weekly.example.org"),
        )
        store.record(session, taken, now, "new-worker")
    with db.session() as session:
        late = store.Outcomes(
            sent=[{"rid": ids[0], "mid": "<slow@x>", "pmid": "slow-0"}],
            failed=[{"rid": ids[1], "err": "slow: refused"}],
            retry=[{"rid": ids[2], "err": "slow: later", "at": now}],
            uncertain=[{"rid": ids[3], "err": "slow: lost"}],
            sent_plain=[ids[2]],
            released=[ids[3]],
            message_id_parts=(send_id, "slow", "weekly.example.org"),
        )
        store.record(session, late, now, "slow-worker")
    with db.session() as session:
        rows = {r.id: r for r in session.scalars(select(Recipient).where(Recipient.id.in_(ids)))}
    assert [rows[i].status for i in ids] == [RS.SENT, RS.SENT, RS.SENDING, RS.SENDING]
    assert rows[ids[0]].provider_message_id == "new-0"
    assert rows[ids[1]].message_id == f"<{send_id}.{ids[1]}.new@weekly.example.org>"
    assert all(rows[i].claimed_by == "new-worker" for i in ids[2:])
    assert all(rows[i].error == "" and rows[i].attempts == 0 for i in ids[2:])
