"""The circuit breaker: thresholds, and a real send that pauses itself on bad feedback."""

from __future__ import annotations

import copy
import json
import logging
import threading
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from mailer.clock import utcnow
from mailer.config import Settings
from mailer.db import Database
from mailer.db import outbox as store
from mailer.db.guardrails import SendFeedback
from mailer.db.models import Recipient, Send
from mailer.deliver import sends
from mailer.deliver.guardrails import Thresholds, tripped, verdict
from mailer.deliver.transports.ses import SesTransport
from mailer.deliver.worker import Worker
from mailer.events.parse import parse_ses
from mailer.events.policy import process
from mailer.status import RecipientStatus, SendStatus
from tests.support.aws import moto_server, use_test_credentials
from tests.support.deliver import make_list
from tests.support.paths import PAYLOADS

ISSUE = SimpleNamespace(
    slug="breaker-issue",
    subject="Breaker",
    html="<p>Hi %%subscriber.name%%</p><a href='%%unsubscribe_url%%'>u</a>",
    text="Hi\n",
)


def fb(n: int, hard: int = 0, complained: int = 0) -> SendFeedback:
    return SendFeedback(n, hard, complained, None)


def test_bounce_threshold_needs_enough_feedback_and_a_rate_above_the_limit() -> None:
    limits = Thresholds()
    assert verdict(fb(199, hard=60), limits) == ""  # too few to judge
    assert verdict(fb(200, hard=10), limits) == ""  # exactly 5% is not above
    reason = verdict(fb(200, hard=11), limits)
    assert tripped(reason)
    assert "hard-bounce rate 5.5% (11 of 200 messages with feedback)" in reason
    # Stored on the send and shown by the CLI and the web alike: no flag in it.
    assert "or resume past the breaker" in reason and "--override" not in reason


def test_complaint_threshold_needs_a_thousand_with_feedback() -> None:
    limits = Thresholds()
    assert verdict(fb(999, complained=5), limits) == ""
    assert verdict(fb(1000, complained=1), limits) == ""  # 0.1% is not above
    reason = verdict(fb(1000, complained=2), limits)
    assert tripped(reason) and "complaint rate 0.20% (2 of 1,000" in reason


def test_thresholds_come_from_the_guardrails_section(settings: Settings) -> None:
    settings.guardrails.bounce_rate = 0.2
    settings.guardrails.bounce_min_feedback = 10
    limits = Thresholds.from_settings(settings)
    assert verdict(fb(10, hard=2), limits) == ""
    assert tripped(verdict(fb(10, hard=3), limits))


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


def _event(name: str, recipient: Recipient, send_id: int, n: int) -> dict[str, Any]:
    """An SES event payload for one sent recipient, shaped like the saved samples."""
    doc: dict[str, Any] = copy.deepcopy(json.loads((PAYLOADS / name).read_text(encoding="utf-8")))
    doc["mail"]["messageId"] = recipient.provider_message_id
    doc["mail"]["destination"] = [recipient.email]
    for header in doc["mail"]["headers"]:
        if header["name"] == "X-Mailer-Send-Id":
            header["value"] = str(send_id)
    when = (utcnow() - timedelta(seconds=1)).isoformat() + "Z"
    if "bounce" in doc:
        doc["bounce"]["bouncedRecipients"][0]["emailAddress"] = recipient.email
        doc["bounce"]["feedbackId"] = f"feedback-{n}"
        doc["bounce"]["timestamp"] = when
    else:
        doc["delivery"]["recipients"] = [recipient.email]
        doc["delivery"]["timestamp"] = when
    return doc


class Feedback(threading.Thread):
    """SES feedback arriving while the send runs: every tenth recipient hard-bounces."""

    def __init__(self, db: Database, send_id: int) -> None:
        super().__init__(daemon=True)
        self.db = db
        self.send_id = send_id
        self.seen: set[int] = set()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.02):
            with self.db.session() as session:
                rows = session.scalars(
                    select(Recipient).where(
                        Recipient.send_id == self.send_id,
                        Recipient.status == RecipientStatus.SENT,
                    )
                ).all()
                fresh = [r for r in rows if r.id not in self.seen]
                events = []
                for r in fresh:
                    self.seen.add(r.id)
                    name = (
                        "event-bounce-permanent.json" if r.id % 10 == 0 else "event-delivery.json"
                    )
                    events += parse_ses(_event(name, r, self.send_id, r.id), source="sqs")
                process(session, events)


def test_a_send_pauses_itself_when_bounces_pass_the_threshold(
    settings: Settings,
    db: Database,
    moto_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    use_test_credentials(monkeypatch)
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"))
    settings.delivery.transport = "ses"
    settings.ses.endpoint_url = moto_url
    settings.ses.max_rate = 400  # paced like a real account, so feedback can arrive mid-send
    settings.delivery.batch_size = 25
    settings.guardrails.check_seconds = 0
    settings.ses.check_daily_quota = False  # moto reports a sandbox quota of 200 a day
    make_list(db, count=1500)
    transport = SesTransport(settings)
    transport.client.create_email_identity(EmailIdentity="weekly.example.org")
    send = sends.create_send(settings, db, ISSUE, "weekly")
    feedback = Feedback(db, send.id)
    feedback.start()
    try:
        with caplog.at_level(logging.WARNING, logger="mailer"):
            Worker(settings, db, transport=transport).run(only_send=send.id)
    finally:
        feedback.done.set()
        feedback.join()
    with db.session() as session:
        paused = store.get_send(session, send.id)
        counts = store.counts(session, send.id)
    assert paused.status == SendStatus.PAUSED
    assert tripped(paused.status_reason) and "hard-bounce rate" in paused.status_reason
    # Paused long before the list was exhausted; nothing was lost or left in flight.
    assert 200 <= counts[RecipientStatus.SENT] < 1000
    assert counts[RecipientStatus.QUEUED] == 1500 - counts[RecipientStatus.SENT]
    assert counts[RecipientStatus.SENDING] == 0
    assert any(f"send #{send.id} paused: circuit breaker" in r.getMessage() for r in caplog.records)

    # Resuming takes an explicit override (a plain resume is refused: see
    # test_deliver_sends's matrix), which is recorded and logged.
    with caplog.at_level(logging.WARNING, logger="mailer"):
        assert sends.resume(db, send.id, override=True, by="ops") == SendStatus.RUNNING
    assert any("resumed past its circuit breaker by ops" in r.getMessage() for r in caplog.records)
    with db.session() as session:
        assert session.get(Send, send.id).breaker_overridden_at is not None  # type: ignore[union-attr]
    # With the breaker overridden the rest of the list goes out.
    settings.ses.max_rate = 2000
    Worker(settings, db, transport=SesTransport(settings)).run(only_send=send.id)
    with db.session() as session:
        assert store.get_send(session, send.id).status == SendStatus.DONE
        assert store.counts(session, send.id)[RecipientStatus.SENT] == 1500


def test_cli_shows_the_reason_and_resumes_only_with_override(
    settings: Settings, db: Database, mailer_cli: Any
) -> None:
    make_list(db, count=3)
    send = sends.create_send(settings, db, ISSUE, "weekly")
    reason = verdict(fb(300, hard=30), Thresholds())
    with db.session() as session:
        store.set_status(session, send.id, SendStatus.PAUSED, reason=reason)
    shown = mailer_cli("sends", "show", str(send.id))
    assert shown.exit_code == 0
    assert f"status: paused ({reason})" in shown.output
    assert f"mailer sends resume {send.id} --override" in shown.output
    refused = mailer_cli("sends", "resume", str(send.id), "--queue-only")
    assert refused.exit_code == 1
    assert refused.output.startswith("Error: ") and "--override" in refused.output
    ok = mailer_cli("sends", "resume", str(send.id), "--queue-only", "--override")
    assert ok.exit_code == 0, ok.output
    assert "circuit breaker overridden" in ok.output
    shown = mailer_cli("sends", "show", str(send.id))
    assert "circuit breaker overridden: " in shown.output
