"""The SNS webhook: verified messages act, forged or broken ones change nothing."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from mailer.config import Settings
from mailer.events import sns
from mailer.events.webhook import handle_sns_webhook
from tests.support.events import (
    AWS_EXAMPLES,
    CERT_URL,
    REGION,
    SUBSCRIBE_URL,
    TOPIC,
    FakeNetwork,
    World,
    confirmation,
    headers_for,
    make_key_and_cert,
    notification,
    now_stamp,
    payload,
    sign,
)

# These refusals happen before the database is touched; the signature, topic and
# fuzz tests prove "nothing changes" on PostgreSQL too, so the long tables of
# bad inputs run on SQLite only (a PostgreSQL database per case costs ~1 s).
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def net() -> FakeNetwork:
    return FakeNetwork()


@pytest.fixture
def hook(world: World, settings: Settings, net: FakeNetwork):
    settings.events.topic_arns = [TOPIC]
    certs = sns.CertificateCache(fetcher=net.fetch)

    def post(doc: Any, headers: dict[str, str] | None = None) -> tuple[int, str]:
        body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
        if headers is None and isinstance(doc, dict) and "Type" in doc and "MessageId" in doc:
            headers = headers_for(doc)
        return handle_sns_webhook(
            world.db, settings, headers or {}, body, certs=certs, get=net.fetch
        )

    post.certs = certs  # type: ignore[attr-defined]
    return post


@pytest.mark.parametrize("version", ["1", "2"])
def test_signed_notification_is_applied(world: World, hook, net: FakeNetwork, version: str) -> None:
    status, message = hook(notification(payload("event-bounce-permanent.json"), version=version))
    assert status == 200, message
    assert world.recipient("alice").bounce_type == "hard"
    assert net.fetched == [CERT_URL]


def test_notification_without_subject_verifies(world: World, hook) -> None:
    status, _ = hook(notification(payload("event-delivery.json"), subject=None))
    assert status == 200
    assert world.recipient("dave").delivered_at is not None


def test_redelivered_notification_changes_nothing(world: World, hook, net: FakeNetwork) -> None:
    doc = notification(payload("event-open.json"))
    assert hook(doc)[0] == 200
    snap = world.snapshot()
    status, message = hook(doc)
    assert status == 200 and "1 duplicates" in message
    assert world.snapshot() == snap
    assert world.recipient("dave").opens == 1
    assert net.fetched == [CERT_URL]  # the certificate is cached


def test_non_ses_notification_is_kept_as_unknown(world: World, hook) -> None:
    status, _ = hook(notification("Hello world!"))
    assert status == 200
    from sqlalchemy import select

    from mailer.db.models import Event

    with world.db.session() as s:
        (event,) = s.scalars(select(Event))
        assert (event.event_type, event.orphan, event.payload) == ("unknown", True, "Hello world!")


def _refused(
    world: World, hook, doc: Any, status: int, net: FakeNetwork | None = None, **kw: Any
) -> str:
    snap = world.snapshot()
    got, message = hook(doc, **kw)
    assert got == status, message
    assert world.snapshot() == snap
    return message


def test_tampered_message_is_refused(world: World, hook) -> None:
    doc = notification(payload("event-delivery.json"))
    doc["Message"] = json.dumps(payload("event-complaint.json"))
    assert "does not verify" in _refused(world, hook, doc, 403)


def test_signature_by_another_key_is_refused(world: World, hook) -> None:
    other_key, _ = make_key_and_cert()
    doc = notification(payload("event-complaint.json"))
    doc = sign({k: v for k, v in doc.items() if k != "Signature"}, other_key)
    _refused(world, hook, doc, 403)


def test_sha1_signature_claimed_as_version_2_is_refused(world: World, hook) -> None:
    doc = notification(payload("event-complaint.json"), version="1")
    doc["SignatureVersion"] = "2"
    _refused(world, hook, doc, 403)


@SQLITE_ONLY
@pytest.mark.parametrize("version", ["3", "0", "", "1.0"])
def test_unknown_signature_version_is_refused(
    world: World, hook, net: FakeNetwork, version: str
) -> None:
    doc = notification(payload("event-complaint.json"))
    doc["SignatureVersion"] = version
    _refused(world, hook, doc, 403 if version else 400)
    assert net.fetched == []


def test_garbage_signature_is_refused(world: World, hook) -> None:
    doc = notification(payload("event-complaint.json"))
    doc["Signature"] = "EXAMPLEw6JRN..."
    _refused(world, hook, doc, 403)
    doc["Signature"] = base64.b64encode(b"x" * 256).decode()
    _refused(world, hook, doc, 403)


BAD_CERT_URLS = [
    f"http://sns.{REGION}.amazonaws.com/SimpleNotificationService-abc.pem",
    "https://s3.amazonaws.com/my-bucket/SimpleNotificationService-abc.pem",
    "https://my-bucket.s3.amazonaws.com/SimpleNotificationService-abc.pem",
    "https://sns.us-east-1.amazonaws.com.evil.com/SimpleNotificationService-abc.pem",
    "https://sns.us-east-1.amazonaws.com@evil.com/SimpleNotificationService-abc.pem",
    "https://evil.com@sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
    "https://sns.us-east-1.amazonaws.com\\@evil.com/SimpleNotificationService-abc.pem",
    "https://evil.com/sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
    "https://evilsns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
    "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-abc.pem",
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem?x=1",
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem#frag",
    "https://sns.us-east-1.amazonaws.com/other/cert.pem",
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.txt",
    "https://sns.us-east-1.amazonaws.com/%2e%2e/SimpleNotificationService-abc.pem",
    "https://sns%2eus-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
    "https://SNS.us-east-1.amazonaws.com.evil.com/SimpleNotificationService-abc.pem",
    "https://sns.us-east-1.amazonaws.com /SimpleNotificationService-abc.pem",
    "https:///SimpleNotificationService-abc.pem",
    "file:///etc/ssl/SimpleNotificationService-abc.pem",
    "https://127.0.0.1/SimpleNotificationService-abc.pem",
    # S3 endpoints: a bucket named "sns" would serve a certificate from these.
    "https://sns.s3.amazonaws.com/SimpleNotificationService-abc.pem",
    "https://sns.s3-accelerate.amazonaws.com/SimpleNotificationService-abc.pem",
    "https://sns.s3-external-1.amazonaws.com/SimpleNotificationService-abc.pem",
    "https://sns.s3.dualstack.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
    "https://sns.us-east-1.s3.amazonaws.com/SimpleNotificationService-abc.pem",
    "https://sns.s3-website-us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
    "https://sns.execute-api.amazonaws.com/SimpleNotificationService-abc.pem",
    "https://sns.amazonaws.com/SimpleNotificationService-abc.pem",
]


@SQLITE_ONLY
@pytest.mark.parametrize("url", BAD_CERT_URLS)
def test_certificate_url_off_sns_is_refused_before_fetching(
    world: World, hook, net: FakeNetwork, url: str
) -> None:
    doc = notification(payload("event-complaint.json"), cert_url=url)
    _refused(world, hook, doc, 403)
    assert net.fetched == []


def test_real_sns_certificate_urls_pass_the_check() -> None:
    pattern = Settings().events.cert_url_pattern
    for url in (
        CERT_URL,
        "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem",
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-3250158c6506d40628c4.pem",
        "https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-abc.pem",
        "https://sns.ap-southeast-2.amazonaws.com/SimpleNotificationService-abc.pem",
        "https://sns.il-central-1.amazonaws.com/SimpleNotificationService-abc.pem",
    ):
        assert sns.check_url(url, pattern, cert=True) == url


def test_topic_not_allowed_is_refused(world: World, hook, net: FakeNetwork) -> None:
    doc = notification(
        payload("event-complaint.json"), topic="arn:aws:sns:eu-west-1:999999999999:other"
    )
    assert "not in events.topic_arns" in _refused(world, hook, doc, 403)
    assert net.fetched == []


@SQLITE_ONLY
@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"not json", b"\xff\xfe", b"[]", b"null", b'"Notification"', b"{}"],
)
def test_malformed_bodies_are_refused(world: World, hook, body: bytes) -> None:
    _refused(world, hook, body, 400)


@SQLITE_ONLY
@pytest.mark.parametrize(
    "field",
    [
        "Type",
        "MessageId",
        "TopicArn",
        "Message",
        "Timestamp",
        "Signature",
        "SigningCertURL",
        "SignatureVersion",
    ],
)
def test_missing_fields_are_refused(world: World, hook, field: str) -> None:
    doc = notification(payload("event-complaint.json"))
    del doc[field]
    _refused(world, hook, doc, 400, headers={})


def test_non_string_field_is_refused(world: World, hook) -> None:
    doc = notification(payload("event-complaint.json"))
    doc["Message"] = payload("event-complaint.json")  # an object, not the JSON string SNS sends
    _refused(world, hook, doc, 400)


def test_oversized_body_is_refused(world: World, hook, settings: Settings) -> None:
    doc = notification(payload("event-complaint.json"))
    body = json.dumps(doc).encode()
    settings.events.max_body_bytes = len(body) - 1
    assert "larger than" in _refused(world, hook, body, 400, headers=headers_for(doc))


def test_message_type_header_must_agree(world: World, hook) -> None:
    doc = notification(payload("event-complaint.json"))
    _refused(world, hook, doc, 400, headers={"x-amz-sns-message-type": "SubscriptionConfirmation"})


def test_subscription_is_confirmed_for_allowed_topic(hook, net: FakeNetwork) -> None:
    status, message = hook(confirmation())
    assert status == 200, message
    assert net.fetched == [CERT_URL, SUBSCRIBE_URL]


def test_subscription_to_other_topic_is_not_confirmed(world: World, hook, net: FakeNetwork) -> None:
    _refused(world, hook, confirmation(topic="arn:aws:sns:eu-west-1:999999999999:other"), 403)
    assert net.fetched == []


@SQLITE_ONLY
@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254/latest/meta-data/?Action=ConfirmSubscription",
        "http://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=x",
        "https://sns.eu-west-1.amazonaws.com.evil.com/?Action=ConfirmSubscription&Token=x",
        "https://sns.eu-west-1.amazonaws.com@127.0.0.1/?Action=ConfirmSubscription&Token=x",
        "https://sns.eu-west-1.amazonaws.com/admin?Action=ConfirmSubscription",
        "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
    ],
)
def test_subscribe_url_off_sns_is_never_fetched(
    world: World, hook, net: FakeNetwork, url: str
) -> None:
    # Properly signed by the (test) SNS key, yet the URL must still pass the host check.
    _refused(world, hook, confirmation(subscribe_url=url), 403)
    assert net.fetched == []


def test_unsubscribe_confirmation_is_acknowledged_without_fetching(hook, net: FakeNetwork) -> None:
    status, _ = hook(confirmation("UnsubscribeConfirmation"))
    assert status == 200
    assert net.fetched == [CERT_URL]


def test_expired_certificate_is_refused(world: World, settings: Settings) -> None:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    from tests.support.events import KEY

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = dt.datetime.now(dt.UTC)
    old = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(KEY.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=400))
        .not_valid_after(now - dt.timedelta(days=35))
        .sign(KEY, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )
    settings.events.topic_arns = [TOPIC]
    snap = world.snapshot()
    status, message = handle_sns_webhook(
        world.db,
        settings,
        {},
        json.dumps(notification(payload("event-complaint.json"))).encode(),
        certs=sns.CertificateCache(fetcher=FakeNetwork(old).fetch),
    )
    assert status == 403 and "expired" in message
    assert world.snapshot() == snap


def test_string_to_sign_matches_the_documented_layout() -> None:
    fields = {
        "Type": "Notification",
        "MessageId": "4d4dc071-ddbf-465d-bba8-08f81c89da64",
        "TopicArn": "arn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P",
        "Subject": "My subject",
        "Message": "My Test Message",
        "Timestamp": "2019-01-31T04:37:04.321Z",
        "UnsubscribeURL": "https://sns.us-east-2.amazonaws.com/?Action=Unsubscribe",
        "SignatureVersion": "1",
    }
    expected = (
        "Message\nMy Test Message\nMessageId\n4d4dc071-ddbf-465d-bba8-08f81c89da64\n"
        "Subject\nMy subject\nTimestamp\n2019-01-31T04:37:04.321Z\n"
        "TopicArn\narn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P\n"
        "Type\nNotification\n"
    )
    assert sns.string_to_sign(sns.SnsMessage(fields)).decode() == expected
    published = AWS_EXAMPLES / "sns-string-to-sign-notification.txt"
    assert sns.string_to_sign(sns.SnsMessage(fields)) == published.read_bytes()


def test_confirmation_string_to_sign_matches_the_published_example() -> None:
    published = AWS_EXAMPLES / "sns-string-to-sign-subscription-confirmation.txt"
    lines = published.read_text().split("\n")
    fields = dict(zip(lines[0:-1:2], lines[1::2], strict=True))
    fields["SigningCertURL"] = CERT_URL  # not signed: must not appear
    assert sns.string_to_sign(sns.SnsMessage(fields)) == published.read_bytes()


def test_published_aws_envelopes_are_refused_as_unverifiable(
    world: World, hook, settings: Settings, net: FakeNetwork
) -> None:
    """The documented examples carry placeholder or unverifiable signatures: never trusted."""
    for name in ("sns-http-notification.json", "sns-to-sqs-body-raw-delivery-disabled.json"):
        doc = json.loads((AWS_EXAMPLES / name).read_text())
        settings.events.topic_arns = [doc["TopicArn"]]  # get past the allow-list to the signature
        settings.events.max_message_age_seconds = 0  # and past the age limit (they are old)
        assert "signature" in _refused(world, hook, doc, 403).lower()
    # The placeholder "EXAMPLE..." signature fails as base64 before any fetch; the
    # full-length one reaches the certificate, which does not verify it.
    assert net.fetched == [doc["SigningCertURL"]]


@SQLITE_ONLY
@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"a":' * 50_000])
def test_deeply_nested_json_is_refused_not_a_crash(world: World, hook, body: bytes) -> None:
    _refused(world, hook, body, 400)


def test_old_message_is_refused_as_a_replay_before_fetching(
    world: World, hook, net: FakeNetwork, settings: Settings
) -> None:
    old = notification(payload("event-complaint.json"), timestamp=now_stamp(ago=3601))
    assert "events.max_message_age_seconds (3600)" in _refused(world, hook, old, 403)
    assert net.fetched == []
    # A signed, fresh-enough message still counts; the age limit is configurable.
    recent = notification(payload("event-complaint.json"), timestamp=now_stamp(ago=3500))
    assert hook(recent)[0] == 200
    settings.events.max_message_age_seconds = 60
    late = notification(payload("event-delivery.json"), timestamp=now_stamp(ago=120))
    assert "(60)" in _refused(world, hook, late, 403)


@SQLITE_ONLY
def test_unparseable_timestamp_is_refused(world: World, hook, net: FakeNetwork) -> None:
    doc = notification(payload("event-complaint.json"), timestamp="yesterday")
    assert "not a timestamp" in _refused(world, hook, doc, 400)
    assert net.fetched == []
