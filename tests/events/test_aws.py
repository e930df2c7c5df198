"""SES setup, SNS -> SQS -> poller end to end, against a local moto server over HTTP.

moto implements SNS and SQS fully but not SESv2's event destinations or
GetAccount: for those calls botocore's Stubber checks the request shapes.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from mailer.config import Settings
from mailer.events import ses
from mailer.events import sqs as poller
from mailer.events.aws import client
from tests.support.aws import moto_server, use_test_credentials
from tests.support.events import FakeNetwork, World, notification, payload


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def aws(moto_url: str, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings pointing SNS and SQS at moto, with a configuration set unique to the test."""
    use_test_credentials(monkeypatch)
    settings.ses.region = "eu-west-1"
    settings.ses.configuration_set = f"cs{uuid.uuid4().hex[:10]}"
    settings.events.sns_endpoint_url = moto_url
    settings.events.sqs_endpoint_url = moto_url
    # moto signs what SNS publishes with a placeholder signature; the tests of
    # verification sign with the test certificate kit and turn this back on.
    settings.events.sqs_verify_signatures = False
    return settings


def stub_ses_setup(stubber: Stubber, settings: Settings, topic_arn: str, *, exists: bool) -> None:
    name = settings.ses.configuration_set
    wanted = {
        "Enabled": True,
        "MatchingEventTypes": ses.EVENT_TYPES,
        "SnsDestination": {"TopicArn": topic_arn},
    }
    if exists:
        stubber.add_response(
            "get_configuration_set", {"ConfigurationSetName": name}, {"ConfigurationSetName": name}
        )
        stubber.add_response(
            "get_configuration_set_event_destinations",
            {"EventDestinations": [{"Name": ses.DESTINATION, **wanted}]},
            {"ConfigurationSetName": name},
        )
        return
    stubber.add_client_error(
        "get_configuration_set",
        service_error_code="NotFoundException",
        http_status_code=404,
        expected_params={"ConfigurationSetName": name},
    )
    stubber.add_response("create_configuration_set", {}, {"ConfigurationSetName": name})
    stubber.add_response(
        "get_configuration_set_event_destinations",
        {"EventDestinations": []},
        {"ConfigurationSetName": name},
    )
    stubber.add_response(
        "create_configuration_set_event_destination",
        {},
        {
            "ConfigurationSetName": name,
            "EventDestinationName": ses.DESTINATION,
            "EventDestination": wanted,
        },
    )


def run_setup(settings: Settings, *, exists: bool) -> ses.SetupResult:
    sesv2 = boto3.client("sesv2", region_name="eu-west-1")
    sns = client(settings, "sns")
    topic_arn = f"arn:aws:sns:eu-west-1:123456789012:{ses.feedback_name(settings)}"
    with Stubber(sesv2) as stubber:
        stub_ses_setup(stubber, settings, topic_arn, exists=exists)
        result = ses.setup(settings, sesv2=sesv2, sns=sns, sqs=client(settings, "sqs"))
        stubber.assert_no_pending_responses()
    assert result.topic_arn == topic_arn
    return result


def test_setup_creates_then_finds_everything(aws: Settings) -> None:
    first = run_setup(aws, exists=False)
    assert [s.outcome for s in first.steps] == ["created"] * 6
    second = run_setup(aws, exists=True)
    assert [s.outcome for s in second.steps] == ["found"] * 6
    assert (second.queue_url, second.topic_arn) == (first.queue_url, first.topic_arn)
    sqs = client(aws, "sqs")
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=first.queue_url, AttributeNames=["Policy"])["Attributes"][
            "Policy"
        ]
    )
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": first.topic_arn}}
    subs = client(aws, "sns").list_subscriptions_by_topic(TopicArn=first.topic_arn)["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subs] == [("sqs", first.queue_arn)]


def test_setup_repairs_a_wrong_policy_and_destination(aws: Settings) -> None:
    first = run_setup(aws, exists=False)
    sqs = client(aws, "sqs")
    stale = ses.queue_policy(first.queue_arn, "arn:aws:sns:eu-west-1:123456789012:old-topic")
    sqs.set_queue_attributes(QueueUrl=first.queue_url, Attributes={"Policy": json.dumps(stale)})
    sesv2 = boto3.client("sesv2", region_name="eu-west-1")
    name = aws.ses.configuration_set
    with Stubber(sesv2) as stubber:
        stubber.add_response("get_configuration_set", {}, {"ConfigurationSetName": name})
        stubber.add_response(
            "get_configuration_set_event_destinations",
            {
                "EventDestinations": [
                    {"Name": ses.DESTINATION, "Enabled": False, "MatchingEventTypes": ["BOUNCE"]}
                ]
            },
            {"ConfigurationSetName": name},
        )
        stubber.add_response(
            "update_configuration_set_event_destination",
            {},
            {
                "ConfigurationSetName": name,
                "EventDestinationName": ses.DESTINATION,
                "EventDestination": {
                    "Enabled": True,
                    "MatchingEventTypes": ses.EVENT_TYPES,
                    "SnsDestination": {"TopicArn": first.topic_arn},
                },
            },
        )
        result = ses.setup(aws, sesv2=sesv2, sns=client(aws, "sns"), sqs=sqs)
        stubber.assert_no_pending_responses()
    outcomes = {s.what: s.outcome for s in result.steps}
    assert outcomes["SQS access policy"] == "updated"
    assert outcomes["SES event destination"] == "updated"


def test_status_reads_quota_and_identities() -> None:
    sesv2 = boto3.client(
        "sesv2", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    with Stubber(sesv2) as stubber:
        stubber.add_response(
            "get_account",
            {
                "SendQuota": {
                    "Max24HourSend": 50000.0,
                    "MaxSendRate": 14.0,
                    "SentLast24Hours": 1234.0,
                },
                "SendingEnabled": True,
                "ProductionAccessEnabled": True,
                "EnforcementStatus": "HEALTHY",
            },
            {},
        )
        stubber.add_response(
            "list_email_identities",
            {
                "EmailIdentities": [
                    {
                        "IdentityType": "DOMAIN",
                        "IdentityName": "example.org",
                        "SendingEnabled": True,
                    }
                ],
                "NextToken": "page2",
            },
            {"PageSize": 100},
        )
        stubber.add_response(
            "list_email_identities",
            {
                "EmailIdentities": [
                    {
                        "IdentityType": "EMAIL_ADDRESS",
                        "IdentityName": "news@example.net",
                        "SendingEnabled": False,
                    }
                ]
            },
            {"PageSize": 100, "NextToken": "page2"},
        )
        stubber.add_response(
            "get_email_identity",
            {
                "IdentityType": "DOMAIN",
                "VerifiedForSendingStatus": True,
                "VerificationStatus": "SUCCESS",
                "DkimAttributes": {"SigningEnabled": True, "Status": "SUCCESS"},
            },
            {"EmailIdentity": "example.org"},
        )
        stubber.add_response(
            "get_email_identity",
            {
                "VerificationStatus": "PENDING",
                "DkimAttributes": {"SigningEnabled": False, "Status": "PENDING"},
            },
            {"EmailIdentity": "news@example.net"},
        )
        got = ses.status(sesv2)
        stubber.assert_no_pending_responses()
    assert (got.max_24h, got.max_rate, got.sent_24h, got.sending_enabled) == (50000, 14, 1234, True)
    assert [(i.name, i.verification, i.dkim_status) for i in got.identities] == [
        ("example.org", "SUCCESS", "SUCCESS"),
        ("news@example.net", "PENDING", "PENDING"),
    ]


def _queue_depth(settings: Settings, url: str) -> int:
    attrs = client(settings, "sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def _publish(settings: Settings, topic_arn: str, *names: str) -> None:
    sns = client(settings, "sns")
    for name in names:
        doc: Any = payload(name)
        sns.publish(
            TopicArn=topic_arn,
            Message=json.dumps(doc),
            Subject="Amazon SES Email Event Notification",
        )


@pytest.mark.parametrize("raw", [False, True], ids=["envelope", "raw-delivery"])
def test_sns_to_sqs_to_database(world: World, aws: Settings, raw: bool) -> None:
    result = run_setup(aws, exists=False)
    if raw:
        sns = client(aws, "sns")
        (sub,) = sns.list_subscriptions_by_topic(TopicArn=result.topic_arn)["Subscriptions"]
        sns.set_subscription_attributes(
            SubscriptionArn=sub["SubscriptionArn"],
            AttributeName="RawMessageDelivery",
            AttributeValue="true",
        )
    aws.events.sqs_queue_url = result.queue_url
    _publish(
        aws,
        result.topic_arn,
        "event-bounce-permanent.json",
        "event-complaint.json",
        "event-delivery.json",
        "event-open.json",
        "notification-bounce-multi.json",
    )
    got = poller.poll(world.db, aws, once=True, wait_seconds=1)
    assert (got.received, got.deleted) == (5, 5)
    assert (got.ingest.new, got.ingest.matched) == (6, 6)
    assert world.recipient("alice").bounce_type == "hard"
    assert world.recipient("carol").complained_at is not None
    assert world.recipient("dave").opens == 1
    assert world.recipient("grace").bounce_type == "hard"
    assert _queue_depth(aws, result.queue_url) == 0
    # SQS delivers at least once: the same publish again changes nothing.
    snap = world.snapshot()
    _publish(aws, result.topic_arn, "event-open.json")
    again = poller.poll(world.db, aws, once=True, wait_seconds=1)
    assert (again.deleted, again.ingest.duplicates) == (1, 1)
    snap["events"] = world.snapshot()["events"]
    assert world.snapshot() == snap


def test_messages_stay_queued_until_their_effects_commit(
    world: World, aws: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_setup(aws, exists=False)
    sqs = client(aws, "sqs")
    sqs.set_queue_attributes(QueueUrl=result.queue_url, Attributes={"VisibilityTimeout": "1"})
    aws.events.sqs_queue_url = result.queue_url
    _publish(aws, result.topic_arn, "event-complaint.json")

    def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("database went away")

    monkeypatch.setattr(poller, "ingest", broken)
    with pytest.raises(RuntimeError):
        poller.poll_once(world.db, aws, wait_seconds=1)
    assert _queue_depth(aws, result.queue_url) == 1
    monkeypatch.undo()
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    time.sleep(1.2)  # the visibility timeout lapses: SQS hands the message out again
    got = poller.poll(world.db, aws, once=True, wait_seconds=1)
    assert got.ingest.new == 1 and got.deleted == 1
    assert world.recipient("carol").complained_at is not None
    assert _queue_depth(aws, result.queue_url) == 0


def test_garbage_on_the_queue_is_kept_and_removed(world: World, aws: Settings) -> None:
    from sqlalchemy import select

    from mailer.db.models import Event

    result = run_setup(aws, exists=False)
    aws.events.sqs_queue_url = result.queue_url
    client(aws, "sqs").send_message(QueueUrl=result.queue_url, MessageBody="this is not JSON")
    got = poller.poll(world.db, aws, once=True, wait_seconds=1)
    assert got.deleted == 1
    with world.db.session() as s:
        (event,) = s.scalars(select(Event))
        assert (event.event_type, event.payload) == ("unknown", "this is not JSON")


def test_poll_without_queue_is_a_clear_error(world: World, settings: Settings) -> None:
    from mailer.errors import EventError

    assert poller.poll_if_configured(world.db, settings) is None
    with pytest.raises(EventError, match="sqs_queue_url is not set"):
        poller.poll_once(world.db, settings)


def test_cli_ses_setup_and_status(
    aws: Settings,
    mailer_cli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mailer.events import aws as aws_module

    real_client = aws_module.client
    # The CLI reads its own settings: give it the test's configuration set.
    monkeypatch.setenv("MAILER_SES_CONFIGURATION_SET", aws.ses.configuration_set)
    sesv2 = boto3.client("sesv2", region_name="eu-west-1")
    stubber = Stubber(sesv2)
    monkeypatch.setattr(
        aws_module, "client", lambda s, name: sesv2 if name == "sesv2" else real_client(aws, name)
    )
    topic_arn = f"arn:aws:sns:eu-west-1:123456789012:{ses.feedback_name(aws)}"
    stub_ses_setup(stubber, aws, topic_arn, exists=False)
    stubber.add_response(
        "get_account",
        {
            "SendQuota": {"Max24HourSend": 200.0, "MaxSendRate": 1.0, "SentLast24Hours": 3.0},
            "SendingEnabled": False,
            "ProductionAccessEnabled": False,
            "EnforcementStatus": "PROBATION",
        },
        {},
    )
    stubber.add_response("list_email_identities", {"EmailIdentities": []}, {"PageSize": 100})
    with stubber:
        setup = mailer_cli("ses", "setup")
        assert setup.exit_code == 0, setup.output
        assert f"created  SNS topic: {topic_arn}" in setup.output
        assert 'sqs_queue_url = "http://' in setup.output
        status = mailer_cli("ses", "status")
        assert status.exit_code == 0, status.output
        assert "Sending DISABLED (sandbox, enforcement PROBATION)" in status.output
        assert "3 of 200 sent in the last 24 h; max rate 1 messages/s" in status.output


def test_cli_ses_errors_are_one_line(
    aws: Settings, mailer_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mailer.events import aws as aws_module

    sesv2 = boto3.client("sesv2", region_name="eu-west-1")
    stubber = Stubber(sesv2)
    stubber.add_client_error(
        "get_account", service_error_code="AccessDeniedException", http_status_code=403
    )
    monkeypatch.setattr(aws_module, "client", lambda s, name: sesv2)
    with stubber:
        result = mailer_cli("ses", "status")
    assert result.exit_code == 1
    assert result.output.startswith("Error: SES status failed:") and "AccessDenied" in result.output


def test_long_running_poller_survives_a_failed_batch(
    world: World, aws: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    result = run_setup(aws, exists=False)
    client(aws, "sqs").set_queue_attributes(
        QueueUrl=result.queue_url, Attributes={"VisibilityTimeout": "1"}
    )
    aws.events.sqs_queue_url = result.queue_url
    _publish(aws, result.topic_arn, "event-complaint.json")
    real_ingest = poller.ingest
    calls = {"n": 0}
    stop = threading.Event()

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database restarting")
        out = real_ingest(*args, **kwargs)
        stop.set()
        return out

    monkeypatch.setattr(poller, "ingest", flaky)
    total = poller.poll(world.db, aws, stop=stop, wait_seconds=1)
    assert calls["n"] == 2 and total.deleted == 1
    assert world.recipient("carol").complained_at is not None
    assert _queue_depth(aws, result.queue_url) == 0


def test_worker_drains_feedback_when_a_queue_is_configured(world: World, aws: Settings) -> None:
    from mailer.deliver.transports.null import NullTransport
    from mailer.deliver.worker import Worker

    result = run_setup(aws, exists=False)
    aws.events.sqs_queue_url = result.queue_url
    _publish(aws, result.topic_arn, "event-bounce-permanent.json", "event-open.json")
    stats = Worker(aws, world.db, transport=NullTransport()).run(once=True)
    assert stats.feedback_messages == 2
    assert world.recipient("alice").bounce_type == "hard"
    assert world.recipient("dave").opens == 1
    assert _queue_depth(aws, result.queue_url) == 0


def test_worker_keeps_delivering_when_feedback_polling_fails(
    world: World, aws: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from mailer.deliver.transports.null import NullTransport
    from mailer.deliver.worker import Worker

    def down(*_a: Any, **_k: Any) -> Any:
        raise ConnectionError("queue unreachable")

    monkeypatch.setattr(poller, "poll_if_configured", down)
    aws.events.sqs_queue_url = "http://127.0.0.1:9/queue/none"
    stats = Worker(aws, world.db, transport=NullTransport()).run(once=True)
    assert stats.feedback_messages == 0
    assert "polling SES feedback from SQS failed; delivery goes on" in caplog.text


def test_poller_acts_only_on_verified_sns_messages(world: World, aws: Settings) -> None:
    from sqlalchemy import select

    from mailer.db.models import Event
    from mailer.events import sns

    result = run_setup(aws, exists=False)
    aws.events.sqs_queue_url = result.queue_url
    aws.events.sqs_verify_signatures = True
    sqs = client(aws, "sqs")

    def put(doc: Any) -> None:
        sqs.send_message(QueueUrl=result.queue_url, MessageBody=json.dumps(doc))

    put(notification(payload("event-complaint.json")))  # carol: signed, counts
    tampered = notification(payload("event-delivery.json"))
    tampered["Message"] = json.dumps(payload("event-bounce-permanent.json"))  # alice
    put(tampered)
    s3_cert = "https://sns.s3.amazonaws.com/SimpleNotificationService-abc.pem"
    put(notification(payload("event-open.json"), cert_url=s3_cert))  # dave
    put(payload("notification-bounce-multi.json"))  # grace: raw SES JSON, unsigned
    _publish(aws, result.topic_arn, "event-bounce-permanent.json")  # moto's placeholder signature
    net = FakeNetwork()
    got = poller.poll(
        world.db, aws, once=True, wait_seconds=1, certs=sns.CertificateCache(fetcher=net.fetch)
    )
    assert (got.received, got.deleted) == (5, 5)
    assert world.recipient("carol").complained_at is not None
    assert world.recipient("alice").bounce_type is None
    assert world.recipient("dave").opens == 0
    assert world.recipient("grace").bounce_type is None
    with world.db.session() as s:
        details = sorted(
            e.detail for e in s.scalars(select(Event).where(Event.event_type == "unknown"))
        )
    assert len(details) == 4 and all(d.startswith("refused: ") for d in details)
    assert any("signature does not verify" in d for d in details)
    assert any("not an Amazon SNS host" in d for d in details)
    assert any(
        "raw message delivery needs events.sqs_verify_signatures = false" in d for d in details
    )
    # The S3-hosted certificate was never fetched.
    assert s3_cert not in net.fetched
    assert _queue_depth(aws, result.queue_url) == 0


def test_verification_is_on_by_default() -> None:
    assert Settings().events.sqs_verify_signatures is True
    assert Settings().events.max_message_age_seconds == 3600


def test_setup_turns_open_and_click_tracking_off_and_on(aws: Settings) -> None:
    first = run_setup(aws, exists=False)
    name = aws.ses.configuration_set
    sns, sqs = client(aws, "sns"), client(aws, "sqs")

    def toggle(current: list[str], tracking: bool) -> ses.SetupResult:
        sesv2 = boto3.client("sesv2", region_name="eu-west-1")
        wanted = ses.event_types(tracking)
        with Stubber(sesv2) as stubber:
            stubber.add_response("get_configuration_set", {}, {"ConfigurationSetName": name})
            stubber.add_response(
                "get_configuration_set_event_destinations",
                {
                    "EventDestinations": [
                        {
                            "Name": ses.DESTINATION,
                            "Enabled": True,
                            "MatchingEventTypes": current,
                            "SnsDestination": {"TopicArn": first.topic_arn},
                        }
                    ]
                },
                {"ConfigurationSetName": name},
            )
            stubber.add_response(
                "update_configuration_set_event_destination",
                {},
                {
                    "ConfigurationSetName": name,
                    "EventDestinationName": ses.DESTINATION,
                    "EventDestination": {
                        "Enabled": True,
                        "MatchingEventTypes": wanted,
                        "SnsDestination": {"TopicArn": first.topic_arn},
                    },
                },
            )
            result = ses.setup(aws, sesv2=sesv2, sns=sns, sqs=sqs, tracking=tracking)
            stubber.assert_no_pending_responses()
        return result

    off = toggle(ses.EVENT_TYPES, tracking=False)
    step = next(s for s in off.steps if s.what == "SES event destination")
    assert step.outcome == "updated" and step.name.endswith("open and click tracking off")
    assert "OPEN" not in ses.event_types(False) and "BOUNCE" in ses.event_types(False)
    on = toggle(ses.event_types(False), tracking=True)
    step = next(s for s in on.steps if s.what == "SES event destination")
    assert step.outcome == "updated" and step.name.endswith("open and click tracking on")
