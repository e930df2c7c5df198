"""`mailer doctor` as a whole: configuration, SES (moto + Stubber), list rates, CLI, exit codes."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from mailer.clock import utcnow
from mailer.config import Settings
from mailer.db import Database
from mailer.db import guardrails as guardrails_store
from mailer.db.guardrails import ListRates
from mailer.db.models import Recipient, Send
from mailer.doctor import FAIL, PASS, UNKNOWN, WARN, diagnose
from mailer.events import ses as ses_setup
from mailer.status import RecipientStatus, SendStatus
from tests.support.aws import moto_server, use_test_credentials
from tests.support.doctor import dns_server
from tests.support.rows import mailing_list


@pytest.fixture(scope="module")
def nameserver() -> Iterator[str]:
    with dns_server() as ns:
        yield ns


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


def healthy(settings: Settings, ns: str) -> Settings:
    settings.site.secret_key = "k" * 48  # type: ignore[assignment]
    settings.site.unsubscribe_mailto = "unsubscribe@good.example"
    settings.delivery.transport = "smtp"
    settings.smtp.host = "smtp.good.example"
    settings.guardrails.dkim_selector = "mail"
    settings.guardrails.dns_nameservers = [ns]
    settings.guardrails.dns_timeout = 1.0
    return settings


def add_list(db: Database, slug: str, sender: str) -> int:
    with db.session() as s:
        ml = mailing_list(slug, from_email=sender)
        s.add(ml)
        s.flush()
        return ml.id


def add_sent(
    db: Database,
    list_id: int,
    n: int,
    hard: int = 0,
    complaints: int = 0,
    *,
    when: datetime | None = None,
    finished: datetime | None = None,
) -> int:
    """A send of ``n`` messages ``when`` (yesterday by default), finished at
    ``finished`` (or still open): ``hard`` of them bounced, ``complaints`` complained."""
    when = when or utcnow() - timedelta(days=1)
    with db.session() as s:
        send = Send(
            issue_slug=f"i{list_id}",
            list_id=list_id,
            subject="s",
            status=SendStatus.DONE,
            status_reason="",
            created_at=when,
            started_at=when,
            finished_at=finished,
            total=n,
        )
        s.add(send)
        s.flush()
        s.add_all(
            Recipient(
                send_id=send.id,
                email=f"r{i}@x.example",
                status=RecipientStatus.SENT,
                attempts=1,
                error="",
                sent_at=when,
                bounced_at=when if i < hard else None,
                bounce_type="hard" if i < hard else None,
                complained_at=when if hard <= i < hard + complaints else None,
            )
            for i in range(n)
        )
        return send.id


def statuses(result: Any) -> dict[tuple[str, str], str]:
    return {(c.area, c.item): c.status for c in result.checks}


def test_a_healthy_smtp_setup_passes(settings: Settings, db: Database, nameserver: str) -> None:
    healthy(settings, nameserver)
    add_sent(db, add_list(db, "weekly", "news@good.example"), 1000, hard=5, complaints=0)
    result = diagnose(settings, db)
    found = statuses(result)
    assert set(found.values()) == {PASS}, [c for c in result.checks if c.status != PASS]
    assert found[("lists", "weekly: bounce rate")] == PASS
    assert result.exit_code == 0 and result.to_dict()["ok"] is True


def test_bad_configuration_and_list_rates_fail(
    settings: Settings, db: Database, nameserver: str
) -> None:
    healthy(settings, nameserver)
    settings.site.base_url = "http://news.example.org"
    settings.site.secret_key = "change-me-in-production"  # type: ignore[assignment]
    settings.site.unsubscribe_mailto = "no-reply@good.example"
    settings.delivery.transport = "outbox"
    add_sent(db, add_list(db, "stale", "news@good.example"), 200, hard=14, complaints=1)
    add_sent(db, add_list(db, "middling", "news@good.example"), 1000, hard=30, complaints=2)
    result = diagnose(settings, db)
    found = statuses(result)
    for item in ("site.base_url", "site.secret_key", "delivery.transport"):
        assert found[("config", item)] == FAIL, item
    assert found[("config", "unsubscribe_mailto (site.unsubscribe_mailto)")] == FAIL
    assert found[("lists", "stale: bounce rate")] == FAIL  # 7% > SES's 5%
    assert found[("lists", "stale: complaint rate")] == FAIL  # 0.5% > Gmail's 0.3%
    assert found[("lists", "middling: bounce rate")] == WARN  # 3%: above the 2% advice
    assert found[("lists", "middling: complaint rate")] == WARN  # 0.2%
    fixes = {c.item: c.fix for c in result.checks}
    assert "https" in fixes["site.base_url"] and "secrets.token_urlsafe" in fixes["site.secret_key"]
    assert result.exit_code == 1


def test_list_rates_count_what_was_sent_in_the_window_whatever_the_send(db: Database) -> None:
    weekly = add_list(db, "weekly", "news@good.example")
    since = utcnow() - timedelta(days=30)
    # Long done: not counted, and its rows are not even read.
    add_sent(
        db, weekly, 7, hard=7, when=since - timedelta(days=9), finished=since - timedelta(days=9)
    )
    # Retried: reopened, so no end yet.
    add_sent(db, weekly, 3, hard=1, when=since + timedelta(days=20))
    # Cancelled just before the window opened, its last batch recorded just after.
    add_sent(
        db, weekly, 2, when=since + timedelta(minutes=1), finished=since - timedelta(minutes=1)
    )
    with db.session() as s:
        assert guardrails_store.list_rates(s, since) == [ListRates("weekly", 5, 1, 0)]


# Calls moto's SES v2 lacks: botocore's Stubber answers them (and checks their shapes).
STUBBED = {"get_account", "get_configuration_set", "get_configuration_set_event_destinations"}


class Routed:
    """An sesv2 client: identities from moto over HTTP, the calls moto lacks from a Stubber."""

    def __init__(self, moto: Any, stubbed: Any) -> None:
        self.moto, self.stubbed = moto, stubbed

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stubbed if name in STUBBED else self.moto, name)


def aws(settings: Settings, service: str, url: str) -> Any:
    return boto3.client(service, region_name="eu-west-1", endpoint_url=url)  # type: ignore[call-overload]


def test_ses_account_identity_configuration_set_and_queue(
    settings: Settings,
    db: Database,
    nameserver: str,
    moto_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_test_credentials(monkeypatch)
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"))
    healthy(settings, nameserver)
    settings.delivery.transport = "ses"
    sesv2, sns, sqs = (aws(settings, s, moto_url) for s in ("sesv2", "sns", "sqs"))
    cloudwatch = aws(settings, "cloudwatch", moto_url)
    sesv2.create_email_identity(
        EmailIdentity="good.example",
        DkimSigningAttributes={"DomainSigningSelector": "s", "DomainSigningPrivateKey": "a2V5"},
    )
    sesv2.create_email_identity(EmailIdentity="ses.example")  # DKIM never set up
    settings.events.sqs_queue_url = sqs.create_queue(QueueName="mailer-feedback")["QueueUrl"]
    topic = sns.create_topic(Name="mailer-feedback")["TopicArn"]
    big = add_list(db, "weekly", "news@good.example")
    add_list(db, "other", "news@ses.example")
    with db.session() as s:
        s.add(
            Send(
                issue_slug="next",
                list_id=big,
                subject="s",
                status=SendStatus.SCHEDULED,
                status_reason="",
                created_at=utcnow(),
                total=0,
            )
        )
    stubbed = boto3.client("sesv2", region_name="eu-west-1")
    stubber = Stubber(stubbed)
    stubber.add_response(
        "get_account",
        {
            "ProductionAccessEnabled": False,
            "SendingEnabled": True,
            "EnforcementStatus": "PROBATION",
            "SendQuota": {"Max24HourSend": 200.0, "MaxSendRate": 1.0, "SentLast24Hours": 10.0},
        },
    )
    stubber.add_response("get_configuration_set", {"ConfigurationSetName": "mailer"})
    stubber.add_response(
        "get_configuration_set_event_destinations",
        {
            "EventDestinations": [
                {
                    "Name": ses_setup.DESTINATION,
                    "Enabled": True,
                    "MatchingEventTypes": ses_setup.EVENT_TYPES,
                    "SnsDestination": {"TopicArn": topic},
                }
            ]
        },
        {"ConfigurationSetName": "mailer"},
    )
    with stubber:
        result = diagnose(
            settings, db, sesv2=Routed(sesv2, stubbed), sns=sns, sqs=sqs, cloudwatch=cloudwatch
        )
    found = statuses(result)
    assert found[("ses", "production access")] == FAIL  # the sandbox
    assert found[("ses", "sending")] == PASS
    assert found[("ses", "enforcement")] == WARN  # probation
    assert found[("ses", "quota")] == PASS  # no subscribers yet: 0 of 190 left
    # moto has published no reputation metric: could not check, not a pass.
    assert found[("ses", "account bounce rate")] == UNKNOWN
    assert found[("ses", "configuration set")] == PASS
    assert found[("ses", "event destination")] == PASS
    assert found[("ses", "feedback queue")] == PASS
    assert found[("domain good.example", "DKIM")] == PASS
    assert found[("domain ses.example", "DKIM")] == FAIL  # NOT_STARTED
    assert found[("domain good.example", "SPF")] == WARN  # SES's own MAIL FROM
    assert found[("domain good.example", "DMARC alignment")] == PASS
    assert found[("domain ses.example", "DMARC alignment")] == FAIL
    assert result.exit_code == 1
    stubber.assert_no_pending_responses()


def test_cli_json_and_exit_code(
    settings: Settings, db: Database, nameserver: str, mailer_cli: Any, config_file: Any
) -> None:
    text = config_file.read_text(encoding="utf-8")
    config_file.write_text(
        text.replace("[site]\n", '[site]\nunsubscribe_mailto = "u@good.example"\n')
        + f'\n[guardrails]\ndns_nameservers = ["{nameserver}"]\ndns_timeout = 1.0\n',
        encoding="utf-8",
    )
    add_list(db, "weekly", "news@bad.example")
    result = mailer_cli("doctor", "--format", "json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    by_item = {(c["area"], c["item"]): c for c in data["checks"]}
    assert by_item[("config", "delivery.transport")]["status"] == "fail"
    assert by_item[("domain bad.example", "DMARC")]["status"] == "fail"
    assert data["summary"]["fail"] >= 3 and data["ok"] is False
    table = mailer_cli("doctor")
    assert table.exit_code == 1
    assert "0 could not check" in table.output and "FAIL" in table.output
    assert "no DMARC record at _dmarc.bad.example" in table.output


def test_account_reputation_from_cloudwatch(settings: Settings) -> None:
    from datetime import UTC, datetime

    from mailer.doctor import Diagnosis
    from mailer.doctor import ses as ses_checks

    cloudwatch = boto3.client("cloudwatch", region_name="eu-west-1")
    stubber = Stubber(cloudwatch)
    for value in (0.061, 0.0004):  # bounce rate, then complaint rate
        stubber.add_response(
            "get_metric_statistics",
            {
                "Datapoints": [
                    {"Timestamp": datetime(2026, 11, 1, 8, tzinfo=UTC), "Maximum": 0.01},
                    {"Timestamp": datetime(2026, 11, 1, 9, tzinfo=UTC), "Maximum": value},
                ]
            },
        )
    out = Diagnosis()
    with stubber:
        ses_checks._reputation(settings, out, cloudwatch)
    found = {c.item: (c.status, c.detail) for c in out.checks}
    assert found["account bounce rate"][0] == FAIL  # the latest point: 6.1% >= 5%
    assert found["account bounce rate"][1].startswith("6.10%")
    assert found["account complaint rate"] == (PASS, "0.04%")


def test_quota_headroom_against_the_next_scheduled_send(settings: Settings, db: Database) -> None:
    from mailer.db.models import Subscriber, Subscription, Suppression
    from mailer.doctor import Diagnosis
    from mailer.doctor import ses as ses_checks
    from mailer.lists.addresses import email_hash
    from mailer.status import SubscriptionStatus

    list_id = add_list(db, "weekly", "news@good.example")
    now = utcnow()
    with db.session() as s:
        for i in range(4):
            email = f"p{i}@x.example"
            person = Subscriber(
                email=email, email_hash=email_hash(email), created_at=now, updated_at=now
            )
            s.add(person)
            s.flush()
            s.add(
                Subscription(
                    list_id=list_id,
                    subscriber_id=person.id,
                    status=SubscriptionStatus.ACTIVE,
                    status_changed_at=now,
                    created_at=now,
                )
            )
        # A suppressed subscriber is not part of the audience.
        s.add(Suppression(email_hash=email_hash("p3@x.example"), reason="manual", created_at=now))
        s.add(
            Send(
                issue_slug="next",
                list_id=list_id,
                subject="s",
                status=SendStatus.SCHEDULED,
                status_reason="",
                created_at=now,
                total=0,
            )
        )

    def quota(limit: float, used: float) -> tuple[str, str]:
        out = Diagnosis()
        account = {
            "ProductionAccessEnabled": True,
            "SendingEnabled": True,
            "EnforcementStatus": "HEALTHY",
            "SendQuota": {"Max24HourSend": limit, "SentLast24Hours": used},
        }
        ses_checks._account(settings, db, account, out)
        return next((c.status, c.detail) for c in out.checks if c.item == "quota")

    status, detail = quota(2, 0)
    assert status == FAIL and "3 recipients" in detail and "larger than the 24-hour quota" in detail
    assert quota(5, 3)[0] == WARN  # fits the quota, not what is left of it today
    assert quota(50, 3)[0] == PASS
