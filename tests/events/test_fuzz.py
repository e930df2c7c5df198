"""Random and mutated payloads thrown at the webhook: nothing crashes, nothing changes."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from mailer.config import Settings
from mailer.events import sns
from mailer.events.webhook import handle_sns_webhook
from tests.support.events import TOPIC, FakeNetwork, World, notification, payload

FIELDS = [
    "Type",
    "MessageId",
    "TopicArn",
    "Message",
    "Subject",
    "Timestamp",
    "SignatureVersion",
    "Signature",
    "SigningCertURL",
    "SubscribeURL",
    "Token",
    "UnsubscribeURL",
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
field_values = st.one_of(
    json_values,
    st.sampled_from(
        [
            "Notification",
            "SubscriptionConfirmation",
            "UnsubscribeConfirmation",
            TOPIC,
            "1",
            "2",
            "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-x.pem",
            "https://s3.amazonaws.com/b/SimpleNotificationService-x.pem",
            "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=t",
            json.dumps(payload("event-complaint.json")),
        ]
    ),
)
sns_like = st.dictionaries(st.sampled_from(FIELDS), field_values, max_size=len(FIELDS))
FUZZ = hsettings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _post(world: World, settings: Settings, net: FakeNetwork, body: bytes) -> int:
    settings.events.topic_arns = [TOPIC]
    status, message = handle_sns_webhook(
        world.db,
        settings,
        {},
        body,
        certs=sns.CertificateCache(fetcher=net.fetch),
        get=net.fetch,
    )
    assert isinstance(message, str)
    return status


@FUZZ
@given(body=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_random_bodies_are_refused(world: World, settings: Settings, body: bytes) -> None:
    snap = world.snapshot()
    net = FakeNetwork()
    assert _post(world, settings, net, body) in (400, 403)
    assert world.snapshot() == snap
    assert not [u for u in net.fetched if not u.endswith(".pem")]  # never confirms anything


@FUZZ
@given(doc=sns_like)
def test_random_sns_shaped_messages_are_refused(
    world: World, settings: Settings, doc: dict[str, Any]
) -> None:
    snap = world.snapshot()
    net = FakeNetwork()
    assert _post(world, settings, net, json.dumps(doc).encode()) in (400, 403)
    assert world.snapshot() == snap
    assert not [u for u in net.fetched if not u.endswith(".pem")]


SIGNED = notification(payload("event-complaint.json"))


@FUZZ
@given(
    field=st.sampled_from(
        ["Type", "MessageId", "TopicArn", "Message", "Subject", "Timestamp", "Signature"]
    ),
    value=field_values,
)
def test_any_change_to_a_signed_message_is_refused(
    world: World, settings: Settings, field: str, value: Any
) -> None:
    doc = {**SIGNED, field: value}
    if doc[field] == SIGNED[field]:
        return
    snap = world.snapshot()
    assert _post(world, settings, FakeNetwork(), json.dumps(doc).encode()) in (400, 403)
    assert world.snapshot() == snap
