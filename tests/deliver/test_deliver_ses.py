"""SES delivery through boto3 over real HTTP: a moto server, and a scripted endpoint."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import urllib.request
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from mailer.config import Settings
from mailer.db import Database
from mailer.db import outbox as store
from mailer.db.models import Recipient
from mailer.deliver import sends
from mailer.deliver.ratelimit import TokenBucket
from mailer.deliver.transports.ses import SesTransport
from mailer.deliver.worker import Worker
from mailer.status import RecipientStatus, SendStatus
from tests.support.aws import moto_server, use_test_credentials
from tests.support.deliver import FakeSes, make_list, start_fake_ses

RS = RecipientStatus
ISSUE = SimpleNamespace(
    slug="ses-issue",
    subject="Via SES",
    html="<p>Hi %%subscriber.name%%</p><a href='%%unsubscribe_url%%'>u</a>",
    text="Hi %%subscriber.name%%\n",
)


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    use_test_credentials(monkeypatch)


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


def moto_data(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/moto-api/data.json") as response:
        return dict(json.load(response))


def use_ses(settings: Settings, url: str, rate: float = 100.0) -> None:
    settings.delivery.transport = "ses"
    settings.ses.endpoint_url = url
    settings.ses.region = "eu-west-1"
    settings.ses.max_rate = rate
    settings.ses.configuration_set = "newsletter-events"


def deliver(
    settings: Settings, db: Database, transport: SesTransport
) -> tuple[int, dict[str, int]]:
    send = sends.create_send(settings, db, ISSUE, "weekly")
    Worker(settings, db, transport=transport).run(only_send=send.id)
    with db.session() as session:
        return send.id, {k: v for k, v in store.counts(session, send.id).items() if v}


def deliver_through(
    settings: Settings, db: Database, fake: FakeSes, **transport: Any
) -> tuple[int, dict[str, int]]:
    """``deliver`` through SES played by ``fake``, served only for the send."""
    server = start_fake_ses(fake)
    try:
        use_ses(settings, fake.url)
        return deliver(settings, db, SesTransport(settings, **transport))
    finally:
        server.shutdown()


def test_send_through_moto(settings: Settings, db: Database, moto_url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"))
    use_ses(settings, moto_url)
    _, emails = make_list(db, count=6)
    transport = SesTransport(settings)
    transport.client.create_email_identity(EmailIdentity="weekly.example.org")
    sent_requests: list[dict[str, Any]] = []

    def capture(request: Any, **_: Any) -> None:
        sent_requests.append(json.loads(request.body))

    transport.client.meta.events.register("before-send.sesv2.SendEmail", capture)
    send_id, counts = deliver(settings, db, transport)
    assert counts == {RS.SENT: 6}
    raw = moto_data(moto_url)["ses"]["RawMessage"]
    assert sorted(m["destinations"][0] for m in raw) == sorted(emails)
    assert all(m["source"] == "news@weekly.example.org" for m in raw)
    # SES's MessageId is kept on each recipient row, for matching feedback.
    with db.session() as session:
        stored = {
            r.email: r.provider_message_id
            for r in session.query(Recipient).filter(Recipient.send_id == send_id)
        }
    assert stored == {m["destinations"][0]: m["id"] for m in raw}
    # moto ignores configuration sets, tags and headers: check what boto3 sent.
    assert len(sent_requests) == 6
    for body in sent_requests:
        assert body["ConfigurationSetName"] == "newsletter-events"
        assert {t["Name"]: t["Value"] for t in body["EmailTags"]} == {
            "send_id": str(send_id),
            "list": "weekly",
        }
        msg = email.message_from_bytes(
            base64.b64decode(body["Content"]["Raw"]["Data"]), policy=email.policy.default
        )
        assert msg["To"].addresses[0].addr_spec == body["Destination"]["ToAddresses"][0]
        assert msg["X-Mailer-Send-Id"] == str(send_id)
        assert msg["List-Unsubscribe"].startswith("<https://news.example.org/u/")
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_max_rate_comes_from_the_account_divided_between_workers(
    settings: Settings, moto_url: str
) -> None:
    use_ses(settings, moto_url, rate=0)
    settings.ses.workers = 2
    # moto has no sesv2 GetAccount: the transport falls back to SES v1 quota (1/s).
    assert SesTransport(settings).rate == pytest.approx(0.5)
    fake = FakeSes(max_send_rate=14)
    server = start_fake_ses(fake)
    try:
        settings.ses.endpoint_url = fake.url
        assert SesTransport(settings).rate == pytest.approx(7)
    finally:
        server.shutdown()


def test_throttling_backs_off_and_the_send_completes(settings: Settings, db: Database) -> None:
    fake = FakeSes(throttle_first=12)
    server = start_fake_ses(fake)
    try:
        use_ses(settings, fake.url)
        _, emails = make_list(db, count=10)
        transport = SesTransport(settings, backoff_base=0.02)
        _, counts = deliver(settings, db, transport)
    finally:
        server.shutdown()
    assert counts == {RS.SENT: 10}
    assert sorted(fake.accepted) == sorted(emails)  # each exactly once
    assert transport.throttled == 12


def test_sending_paused_pauses_the_send_with_a_clear_reason(
    settings: Settings, db: Database
) -> None:
    settings.delivery.threads = 1
    settings.delivery.batch_size = 5
    _, emails = make_list(db, count=12)
    fake = FakeSes(by_recipient={emails[3]: "SendingPausedException"})
    send_id, counts = deliver_through(settings, db, fake)
    assert counts == {RS.SENT: 3, RS.QUEUED: 9}
    assert len(fake.requests) == 4  # stopped at the refusal, not burning through the list
    with db.session() as session:
        send = store.get_send(session, send_id)
    assert send.status == SendStatus.PAUSED
    assert "SendingPausedException" in send.status_reason
    assert "resume" in send.status_reason


def test_message_rejected_fails_only_that_recipient(settings: Settings, db: Database) -> None:
    _, emails = make_list(db, count=5)
    fake = FakeSes(by_recipient={emails[2]: "MessageRejected"})
    send_id, counts = deliver_through(settings, db, fake)
    assert counts == {RS.SENT: 4, RS.FAILED: 1}
    with db.session() as session:
        [(address, error, _)] = store.recipients_with_status(session, send_id, RS.FAILED)
    assert address == emails[2] and "MessageRejected" in error


def test_token_bucket_never_exceeds_its_rate() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(10, clock=lambda: now[0], sleep=sleep)
    times = []
    for _ in range(50):
        bucket.acquire()
        times.append(now[0])
    # 50 tokens at 10/s with one token to start: the 50th is due at 4.9 s.
    assert times[-1] == pytest.approx(4.9)
    for i in range(len(times)):
        window = [t for t in times if times[i] <= t < times[i] + 1.0]
        assert len(window) <= 10


@pytest.mark.parametrize("rate", [1.0, 10.0, 50.0, 3.7])
def test_token_bucket_never_bursts_after_idle_spells(rate: float) -> None:
    """The injected clock makes this exact: no second ever holds more than ``rate`` sends."""
    import itertools
    import math
    import random

    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    bucket = TokenBucket(rate, clock=lambda: now[0], sleep=sleep)
    rng = random.Random(7)
    times: list[float] = []
    for _ in range(20):
        # Idle for a while (the bucket would refill), then a rush of callers.
        now[0] += rng.choice([0.0, 0.3, 1.0, 2.5, 10.0])
        for _ in range(rng.randint(1, int(rate * 3) + 2)):
            bucket.acquire()
            times.append(now[0])
    per_second = math.ceil(rate)
    # Any run of per_second + 1 consecutive sends spans at least one second.
    for i in range(len(times) - per_second):
        assert times[i + per_second] - times[i] >= 1.0 - 1e-9
    # And consecutive sends are at least 1/rate apart.
    assert min(b - a for a, b in itertools.pairwise(times)) >= 1 / rate - 1e-9


def test_a_5xx_after_acceptance_is_uncertain_never_retried(
    settings: Settings, db: Database
) -> None:
    settings.delivery.threads = 1
    _, emails = make_list(db, count=6)
    fake = FakeSes(fail_after_accept={2, 5})
    send_id, counts = deliver_through(settings, db, fake)
    assert counts == {RS.SENT: 4, RS.UNCERTAIN: 2}
    # Everyone reached SES once: no duplicates for the two whose answer was lost.
    assert sorted(fake.accepted) == sorted(emails)
    assert len(fake.requests) == 6
    with db.session() as session:
        uncertain = store.recipients_with_status(session, send_id, RS.UNCERTAIN)
    assert {row[0] for row in uncertain} == {emails[1], emails[4]}
    assert all("InternalFailure" in row[1] and "may have gone out" in row[1] for row in uncertain)


def test_sustained_throttling_pauses_the_send_with_sess_reason(
    settings: Settings, db: Database
) -> None:
    settings.delivery.threads = 4
    make_list(db, count=12)
    fake = FakeSes(throttle_first=10_000)
    send_id, counts = deliver_through(settings, db, fake, backoff_base=0.001)
    # Once 192 requests and every recipient `failed`; now a pause, nobody lost.
    assert counts == {RS.QUEUED: 12}
    pause_after = SesTransport(settings).pause_after  # from the settings the send ran with
    assert len(fake.requests) <= pause_after + settings.delivery.threads
    with db.session() as session:
        send = store.get_send(session, send_id)
    assert send.status == SendStatus.PAUSED
    assert "SES kept throttling" in send.status_reason
    assert "Maximum sending rate exceeded" in send.status_reason


def test_used_up_daily_quota_pauses_the_send_at_once(settings: Settings, db: Database) -> None:
    settings.delivery.threads = 1
    make_list(db, count=8)
    fake = FakeSes(daily_quota=3)
    send_id, counts = deliver_through(settings, db, fake)
    assert counts == {RS.SENT: 3, RS.QUEUED: 5}
    assert len(fake.requests) == 4
    with db.session() as session:
        send = store.get_send(session, send_id)
    assert send.status == SendStatus.PAUSED
    assert "Daily message quota exceeded" in send.status_reason


def test_a_send_the_daily_quota_cannot_carry_is_refused_with_the_numbers(
    settings: Settings, db: Database
) -> None:
    make_list(db, count=30)
    fake = FakeSes(max_24h=200, sent_24h=180)
    server = start_fake_ses(fake)
    try:
        use_ses(settings, fake.url)
        send_id, counts = deliver(settings, db, SesTransport(settings))
        with db.session() as session:
            send = store.get_send(session, send_id)
        assert send.status == SendStatus.PAUSED
        assert fake.requests == []  # nobody was mailed
        assert counts == {RS.QUEUED: 30}
        assert "30 recipients" in send.status_reason
        assert "only 20 messages are left" in send.status_reason
        assert "Max24HourSend 200 - SentLast24Hours 180" in send.status_reason
        # A send that fits starts as usual.
        fake.sent_24h = 0
        make_list(db, slug="small", count=5)
        small = sends.create_send(settings, db, ISSUE, "small")
        Worker(settings, db, transport=SesTransport(settings)).run(only_send=small.id)
        with db.session() as session:
            assert store.get_send(session, small.id).status == SendStatus.DONE
        assert len(fake.accepted) == 5
        # The check can be turned off (moto, for one, reports a sandbox quota).
        fake.sent_24h = 200
        assert SesTransport(settings).refuse(1) is not None
        settings.ses.check_daily_quota = False
        assert SesTransport(settings).refuse(1_000_000) is None
    finally:
        server.shutdown()
