"""``mailer ses setup`` and ``mailer ses status``: the AWS side of feedback.

Setup is idempotent: each resource is looked up first and created (or
brought in line) only when missing or different, and every step reports
``created``, ``updated`` or ``found``. The pieces: an SNS topic, an SQS queue
with an access policy that lets only that topic send to it, the queue's
subscription to the topic, the SES configuration set, and its event
destination publishing every feedback event type to the topic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from mailer.config import Settings
from mailer.errors import AwsError

EVENT_TYPES = [
    "SEND",
    "REJECT",
    "BOUNCE",
    "COMPLAINT",
    "DELIVERY",
    "OPEN",
    "CLICK",
    "RENDERING_FAILURE",
    "DELIVERY_DELAY",
    "SUBSCRIPTION",
]
DESTINATION = "mailer-feedback"
# Publishing these to a destination is what turns SES open and click tracking on
# for the configuration set: SES then adds its open pixel and routes every link
# through its click redirect (links keep their ses:tags, see mailer.compose.tagging).
TRACKING_TYPES = ("OPEN", "CLICK")


def event_types(tracking: bool) -> list[str]:
    """The event types the destination publishes, with or without open and click tracking."""
    return [t for t in EVENT_TYPES if tracking or t not in TRACKING_TYPES]


@dataclass(frozen=True)
class Step:
    what: str
    name: str
    outcome: str  # created | updated | found


@dataclass
class SetupResult:
    topic_arn: str = ""
    queue_url: str = ""
    queue_arn: str = ""
    steps: list[Step] = field(default_factory=list)


def feedback_name(settings: Settings) -> str:
    """Topic and queue name: derived from the configuration set, so one account can host several."""
    return f"{settings.ses.configuration_set}-feedback"


def queue_policy(queue_arn: str, topic_arn: str) -> dict[str, Any]:
    """Allow the feedback topic, and nothing else, to send to the queue."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowFeedbackTopic",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _call(what: str, fn: Any, **kwargs: Any) -> Any:
    try:
        return fn(**kwargs)
    except ClientError as exc:
        raise AwsError(f"{what} failed: {exc}") from exc


def _topic(settings: Settings, sns: Any, result: SetupResult) -> None:
    name = feedback_name(settings)
    for page in sns.get_paginator("list_topics").paginate():
        for topic in page.get("Topics", []):
            if topic["TopicArn"].rsplit(":", 1)[-1] == name:
                result.topic_arn = topic["TopicArn"]
                result.steps.append(Step("SNS topic", result.topic_arn, "found"))
                return
    result.topic_arn = _call("sns:CreateTopic", sns.create_topic, Name=name)["TopicArn"]
    result.steps.append(Step("SNS topic", result.topic_arn, "created"))


def _queue(settings: Settings, sqs: Any, result: SetupResult) -> None:
    name = feedback_name(settings)
    try:
        result.queue_url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        outcome = "found"
    except ClientError as exc:
        if "NonExistentQueue" not in _code(exc) and "QueueDoesNotExist" not in _code(exc):
            raise AwsError(f"sqs:GetQueueUrl failed: {exc}") from exc
        result.queue_url = _call(
            "sqs:CreateQueue",
            sqs.create_queue,
            QueueName=name,
            # Long polling by default, and two weeks to catch up after an outage.
            Attributes={"ReceiveMessageWaitTimeSeconds": "20", "MessageRetentionPeriod": "1209600"},
        )["QueueUrl"]
        outcome = "created"
    result.steps.append(Step("SQS queue", result.queue_url, outcome))
    attrs = sqs.get_queue_attributes(
        QueueUrl=result.queue_url, AttributeNames=["QueueArn", "Policy"]
    )
    attrs = attrs.get("Attributes", {})
    result.queue_arn = attrs["QueueArn"]
    wanted = queue_policy(result.queue_arn, result.topic_arn)
    current = json.loads(attrs["Policy"]) if attrs.get("Policy") else None
    if current == wanted:
        result.steps.append(Step("SQS access policy", "sns:SendMessage from the topic", "found"))
    else:
        _call(
            "sqs:SetQueueAttributes",
            sqs.set_queue_attributes,
            QueueUrl=result.queue_url,
            Attributes={"Policy": json.dumps(wanted)},
        )
        outcome = "created" if current is None else "updated"
        result.steps.append(Step("SQS access policy", "sns:SendMessage from the topic", outcome))


def _subscription(sns: Any, result: SetupResult) -> None:
    pages = sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=result.topic_arn)
    for page in pages:
        for sub in page.get("Subscriptions", []):
            if sub.get("Protocol") == "sqs" and sub.get("Endpoint") == result.queue_arn:
                result.steps.append(Step("SNS subscription", sub["SubscriptionArn"], "found"))
                return
    arn = _call(
        "sns:Subscribe",
        sns.subscribe,
        TopicArn=result.topic_arn,
        Protocol="sqs",
        Endpoint=result.queue_arn,
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    result.steps.append(Step("SNS subscription", arn, "created"))


def _configuration_set(
    settings: Settings, ses: Any, result: SetupResult, tracking: bool = True
) -> None:
    name = settings.ses.configuration_set
    try:
        ses.get_configuration_set(ConfigurationSetName=name)
        result.steps.append(Step("SES configuration set", name, "found"))
    except ClientError as exc:
        if _code(exc) != "NotFoundException":
            raise AwsError(f"sesv2:GetConfigurationSet failed: {exc}") from exc
        _call(
            "sesv2:CreateConfigurationSet", ses.create_configuration_set, ConfigurationSetName=name
        )
        result.steps.append(Step("SES configuration set", name, "created"))
    wanted = {
        "Enabled": True,
        "MatchingEventTypes": event_types(tracking),
        "SnsDestination": {"TopicArn": result.topic_arn},
    }
    found = _call(
        "sesv2:GetConfigurationSetEventDestinations",
        ses.get_configuration_set_event_destinations,
        ConfigurationSetName=name,
    ).get("EventDestinations", [])
    current = next((d for d in found if d.get("Name") == DESTINATION), None)
    label = f"{name}/{DESTINATION} -> SNS, open and click tracking {'on' if tracking else 'off'}"
    if current is None:
        _call(
            "sesv2:CreateConfigurationSetEventDestination",
            ses.create_configuration_set_event_destination,
            ConfigurationSetName=name,
            EventDestinationName=DESTINATION,
            EventDestination=wanted,
        )
        result.steps.append(Step("SES event destination", label, "created"))
    elif (
        current.get("Enabled") is True
        and sorted(current.get("MatchingEventTypes", [])) == sorted(event_types(tracking))
        and current.get("SnsDestination", {}).get("TopicArn") == result.topic_arn
    ):
        result.steps.append(Step("SES event destination", label, "found"))
    else:
        _call(
            "sesv2:UpdateConfigurationSetEventDestination",
            ses.update_configuration_set_event_destination,
            ConfigurationSetName=name,
            EventDestinationName=DESTINATION,
            EventDestination=wanted,
        )
        result.steps.append(Step("SES event destination", label, "updated"))


def setup(
    settings: Settings, *, sesv2: Any, sns: Any, sqs: Any, tracking: bool = True
) -> SetupResult:
    """Create (or find) everything SES feedback needs; safe to run again.

    ``tracking`` turns SES open and click tracking on (or off) for the
    configuration set, by publishing (or not) its Open and Click events.
    """
    result = SetupResult()
    try:
        _topic(settings, sns, result)
        _queue(settings, sqs, result)
        _subscription(sns, result)
        _configuration_set(settings, sesv2, result, tracking)
    except ClientError as exc:
        raise AwsError(f"AWS refused: {exc}") from exc
    return result


@dataclass(frozen=True)
class Identity:
    name: str
    type: str
    verification: str
    sending_enabled: bool
    dkim_status: str
    dkim_signing: bool


@dataclass
class AccountStatus:
    sending_enabled: bool
    production_access: bool
    enforcement: str
    max_24h: float
    max_rate: float
    sent_24h: float
    identities: list[Identity] = field(default_factory=list)


def _identities(sesv2: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"PageSize": 100}
    while True:
        page = sesv2.list_email_identities(**kwargs)
        items.extend(page.get("EmailIdentities", []))
        if not page.get("NextToken"):
            return items
        kwargs["NextToken"] = page["NextToken"]


def status(sesv2: Any) -> AccountStatus:
    """The account's quota, rate and sending state, and each identity's verification and DKIM."""
    try:
        account = sesv2.get_account()
        quota = account.get("SendQuota", {})
        out = AccountStatus(
            sending_enabled=bool(account.get("SendingEnabled")),
            production_access=bool(account.get("ProductionAccessEnabled")),
            enforcement=str(account.get("EnforcementStatus", "")),
            max_24h=float(quota.get("Max24HourSend", 0)),
            max_rate=float(quota.get("MaxSendRate", 0)),
            sent_24h=float(quota.get("SentLast24Hours", 0)),
        )
        for item in _identities(sesv2):
            detail = sesv2.get_email_identity(EmailIdentity=item["IdentityName"])
            dkim = detail.get("DkimAttributes", {})
            out.identities.append(
                Identity(
                    name=item["IdentityName"],
                    type=str(item.get("IdentityType", "")),
                    verification=str(
                        detail.get("VerificationStatus") or item.get("VerificationStatus", "")
                    ),
                    sending_enabled=bool(item.get("SendingEnabled")),
                    dkim_status=str(dkim.get("Status", "NOT_STARTED")),
                    dkim_signing=bool(dkim.get("SigningEnabled")),
                )
            )
    except ClientError as exc:
        raise AwsError(f"SES status failed: {exc}") from exc
    return out
