"""The SES account as a sender of bulk mail: access, enforcement, reputation, quota, feedback.

Reputation comes from the ``AWS/SES`` CloudWatch metrics ``Reputation.BounceRate``
and ``Reputation.ComplaintRate`` (SES publishes them per account); an account
that has not sent enough has none, which is reported as "could not check".
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mailer.clock import utcnow
from mailer.config import Settings
from mailer.db import Database
from mailer.db import guardrails as store
from mailer.doctor.diagnosis import FAIL, PASS, UNKNOWN, WARN, Diagnosis
from mailer.doctor.dns import CouldNotCheck
from mailer.events.ses import DESTINATION

# SES reviews an account at these rates (and may pause it at 10% and 0.5%).
BOUNCE_REVIEW = 0.05
COMPLAINT_REVIEW = 0.001
AWS_ERRORS = (ClientError, BotoCoreError)


class Account:
    """What the domain checks need from SES: each identity, read once."""

    def __init__(self, sesv2: Any) -> None:
        self.sesv2 = sesv2
        self._identities: dict[str, dict[str, Any] | None] = {}

    def identity(self, name: str) -> dict[str, Any] | None:
        """``GetEmailIdentity`` of ``name``; None when SES has no such identity."""
        if name not in self._identities:
            try:
                self._identities[name] = dict(self.sesv2.get_email_identity(EmailIdentity=name))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "NotFoundException":
                    raise CouldNotCheck(f"ses:GetEmailIdentity {name}: {exc}") from exc
                self._identities[name] = None
            except BotoCoreError as exc:
                raise CouldNotCheck(f"ses:GetEmailIdentity {name}: {exc}") from exc
        return self._identities[name]


def _client(settings: Settings, service: str) -> Any:
    from mailer.events.aws import client

    return client(settings, service)


def check(
    settings: Settings,
    database: Database,
    out: Diagnosis,
    *,
    sesv2: Any | None = None,
    sns: Any | None = None,
    sqs: Any | None = None,
    cloudwatch: Any | None = None,
) -> Account:
    """Add the SES checks; returns the account for the domain checks."""
    sesv2 = sesv2 or _client(settings, "sesv2")
    try:
        account = sesv2.get_account()
    except AWS_ERRORS as exc:
        out.add("ses", "account", UNKNOWN, f"ses:GetAccount: {exc}", "check AWS credentials")
        account = None
    if account is not None:
        _account(settings, database, account, out)
    _reputation(settings, out, cloudwatch)
    _configuration_set(settings, sesv2, out)
    _feedback_path(settings, out, sns, sqs)
    return Account(sesv2)


def _account(
    settings: Settings, database: Database, account: dict[str, Any], out: Diagnosis
) -> None:
    if account.get("ProductionAccessEnabled"):
        out.add("ses", "production access", PASS, "out of the sandbox")
    else:
        out.add(
            "ses",
            "production access",
            FAIL,
            "the account is in the SES sandbox: it can mail verified addresses only",
            "request production access in the SES console (Account dashboard)",
        )
    if account.get("SendingEnabled"):
        out.add("ses", "sending", PASS, "enabled")
    else:
        out.add(
            "ses",
            "sending",
            FAIL,
            "sending is disabled (paused by you or by SES)",
            "see the SES console's reputation dashboard; re-enable with "
            "aws sesv2 put-account-sending-attributes",
        )
    enforcement = str(account.get("EnforcementStatus") or "")
    if enforcement == "HEALTHY":
        out.add("ses", "enforcement", PASS, "HEALTHY")
    elif enforcement == "PROBATION":
        out.add(
            "ses",
            "enforcement",
            WARN,
            "PROBATION: SES is reviewing the account",
            "fix the cause in the SES reputation dashboard before the review period ends",
        )
    elif enforcement:
        out.add("ses", "enforcement", FAIL, enforcement, "contact AWS support about the account")
    else:
        out.add("ses", "enforcement", UNKNOWN, "SES gave no enforcement status")
    quota = account.get("SendQuota", {}) or {}
    limit = float(quota.get("Max24HourSend", 0))
    used = float(quota.get("SentLast24Hours", 0))
    with database.session() as session:
        upcoming = store.next_scheduled(session)
    if upcoming is None:
        out.add(
            "ses", "quota", PASS, f"{used:,.0f} of {limit:,.0f} used in 24 h; no send scheduled"
        )
        return
    send_id, slug, audience = upcoming
    left = limit - used if limit >= 0 else float("inf")
    seen = (
        f"next send #{send_id} to {slug}: {audience:,} recipients; {left:,.0f} of {limit:,.0f} left"
    )
    if limit >= 0 and audience > limit:
        out.add(
            "ses",
            "quota",
            FAIL,
            f"{seen}: the send is larger than the 24-hour quota",
            "ask AWS for a higher sending quota, or split the list",
        )
    elif audience > left:
        out.add(
            "ses",
            "quota",
            WARN,
            f"{seen}: it will run into the quota and wait",
            "schedule it later, when the last 24 hours' sending has rolled off",
        )
    else:
        out.add("ses", "quota", PASS, seen)


def _reputation(settings: Settings, out: Diagnosis, cloudwatch: Any | None) -> None:
    try:
        cw = cloudwatch or _client(settings, "cloudwatch")
        now = utcnow()
        figures = {}
        for metric in ("Reputation.BounceRate", "Reputation.ComplaintRate"):
            points = cw.get_metric_statistics(
                Namespace="AWS/SES",
                MetricName=metric,
                StartTime=now - timedelta(days=1),
                EndTime=now,
                Period=3600,
                Statistics=["Maximum"],
            ).get("Datapoints", [])
            latest = max(points, key=lambda p: p["Timestamp"]) if points else None
            figures[metric] = float(latest["Maximum"]) if latest else None
    except AWS_ERRORS as exc:
        out.add("ses", "reputation", UNKNOWN, f"cloudwatch:GetMetricStatistics: {exc}")
        return
    for metric, limit, label in (
        ("Reputation.BounceRate", BOUNCE_REVIEW, "bounce rate"),
        ("Reputation.ComplaintRate", COMPLAINT_REVIEW, "complaint rate"),
    ):
        value = figures[metric]
        if value is None:
            out.add(
                "ses",
                f"account {label}",
                UNKNOWN,
                "SES has published no figure in the last 24 hours (too little mail sent?)",
            )
        elif value >= limit:
            out.add(
                "ses",
                f"account {label}",
                FAIL,
                f"{value:.2%}: SES reviews accounts at {limit:.1%}",
                "stop sending to the lists that bounce or complain (see `mailer doctor` lists)",
            )
        elif value >= limit / 2:
            out.add("ses", f"account {label}", WARN, f"{value:.2%}, SES reviews at {limit:.1%}")
        else:
            out.add("ses", f"account {label}", PASS, f"{value:.2%}")


def _configuration_set(settings: Settings, sesv2: Any, out: Diagnosis) -> None:
    name = settings.ses.configuration_set
    fix = "run `mailer ses setup`"
    try:
        sesv2.get_configuration_set(ConfigurationSetName=name)
        found = sesv2.get_configuration_set_event_destinations(ConfigurationSetName=name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NotFoundException":
            out.add("ses", "configuration set", FAIL, f"{name!r} does not exist", fix)
        else:
            out.add("ses", "configuration set", UNKNOWN, f"{name}: {exc}")
        return
    except BotoCoreError as exc:
        out.add("ses", "configuration set", UNKNOWN, f"{name}: {exc}")
        return
    out.add("ses", "configuration set", PASS, name)
    needed = {"BOUNCE", "COMPLAINT", "DELIVERY"}
    usable = [
        d
        for d in found.get("EventDestinations", [])
        if d.get("Enabled") and needed <= set(d.get("MatchingEventTypes", []))
    ]
    if usable:
        chosen = next((d for d in usable if d.get("Name") == DESTINATION), usable[0])
        target = (chosen.get("SnsDestination") or {}).get("TopicArn") or "a non-SNS target"
        out.add("ses", "event destination", PASS, f"{chosen.get('Name')} -> {target}")
    else:
        out.add(
            "ses",
            "event destination",
            FAIL,
            f"no enabled destination of {name} publishes bounces, complaints and deliveries",
            fix,
        )


def _feedback_path(settings: Settings, out: Diagnosis, sns: Any | None, sqs: Any | None) -> None:
    queue = settings.events.sqs_queue_url
    if queue:
        try:
            client = sqs or _client(settings, "sqs")
            attrs = client.get_queue_attributes(
                QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"]
            ).get("Attributes", {})
        except AWS_ERRORS as exc:
            out.add(
                "ses",
                "feedback queue",
                FAIL,
                f"{queue} is not reachable: {exc}",
                "check events.sqs_queue_url and the credentials' sqs:ReceiveMessage right",
            )
            return
        waiting = attrs.get("ApproximateNumberOfMessages", "?")
        out.add("ses", "feedback queue", PASS, f"{queue} reachable ({waiting} messages waiting)")
        return
    topics = settings.events.topic_arns
    if not topics:
        out.add(
            "ses",
            "feedback path",
            FAIL,
            "neither events.sqs_queue_url nor events.topic_arns is set: bounces and complaints "
            "never reach mailer, so lists are never cleaned",
            "run `mailer ses setup` and put the queue URL it prints in config.toml",
        )
        return
    try:
        client = sns or _client(settings, "sns")
        for topic in topics:
            subs = client.list_subscriptions_by_topic(TopicArn=topic).get("Subscriptions", [])
            confirmed = [
                s
                for s in subs
                if s.get("Protocol") in ("https", "http")
                and s.get("SubscriptionArn", "").startswith("arn:")
            ]
            if confirmed:
                out.add(
                    "ses", "feedback subscription", PASS, f"{topic} -> {confirmed[0]['Endpoint']}"
                )
            else:
                out.add(
                    "ses",
                    "feedback subscription",
                    FAIL,
                    f"{topic} has no confirmed HTTPS subscription",
                    "subscribe the web app's SNS endpoint to the topic (see docs/feedback.md)",
                )
    except AWS_ERRORS as exc:
        out.add("ses", "feedback subscription", UNKNOWN, f"sns:ListSubscriptionsByTopic: {exc}")
