"""SES feedback payloads into typed, one-recipient records.

SES speaks two dialects with the same body: identity notifications
(``notificationType``: Bounce, Complaint, Delivery) and configuration-set
event publishing (``eventType``: those plus Send, Reject, DeliveryDelay, Open,
Click, Rendering Failure, Subscription). One payload may name several
recipients (a bounce for two of three addresses); it becomes one
``FeedbackEvent`` per recipient, each with its own dedupe key.

The dedupe key is derived from the content, never from the transport: SES's
``feedbackId`` where there is one, otherwise the SES message id, the kind,
the recipient and the event's own timestamp (a second open is a new event;
the same open delivered twice by SNS is not). The same event therefore
dedupes whether it came by SQS, the webhook or a replayed file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mailer.errors import ParseError

SEND_ID_HEADER = "X-Mailer-Send-Id"


class Kind:
    """Event kinds as stored in ``events.event_type``."""

    BOUNCE = "bounce"
    COMPLAINT = "complaint"
    DELIVERY = "delivery"
    SEND = "send"
    REJECT = "reject"
    DELIVERY_DELAY = "delivery_delay"
    OPEN = "open"
    CLICK = "click"
    RENDERING_FAILURE = "rendering_failure"
    SUBSCRIPTION = "subscription"
    UNKNOWN = "unknown"  # kept for audit: signed or queued, but not SES feedback we know


# SES type name -> (kind, key of the type-specific object in the payload)
SES_TYPES: dict[str, tuple[str, str]] = {
    "Bounce": (Kind.BOUNCE, "bounce"),
    "Complaint": (Kind.COMPLAINT, "complaint"),
    "Delivery": (Kind.DELIVERY, "delivery"),
    "Send": (Kind.SEND, "send"),
    "Reject": (Kind.REJECT, "reject"),
    "DeliveryDelay": (Kind.DELIVERY_DELAY, "deliveryDelay"),
    "Open": (Kind.OPEN, "open"),
    "Click": (Kind.CLICK, "click"),
    "Rendering Failure": (Kind.RENDERING_FAILURE, "failure"),
    "Subscription": (Kind.SUBSCRIPTION, "subscription"),
}


@dataclass(frozen=True)
class FeedbackEvent:
    """One SES event as it concerns one recipient."""

    kind: str
    dedupe_key: str
    ses_message_id: str | None
    email: str | None  # normalised (stripped, lower case)
    send_id: int | None  # from the X-Mailer-Send-Id header SES echoes in mail.headers
    occurred_at: datetime  # naive UTC
    payload: str  # the SES JSON as received, for audit
    bounce_type: str | None = None  # "Permanent:General", "Transient:MailboxFull", ...
    detail: str = ""
    # Subscription events: unsubscribe from everything, or only from the topic's list.
    unsubscribe_all: bool = False
    source: str = "file"
    # Opens and clicks: where from, and (clicks) which link with which SES link tags.
    link: str | None = None
    link_tags: str | None = None  # the event's linkTags as sorted JSON
    user_agent: str | None = None
    ip_address: str | None = None

    @property
    def is_hard_bounce(self) -> bool:
        return self.kind == Kind.BOUNCE and (self.bounce_type or "").startswith("Permanent")


def parse_time(value: Any, path: str) -> datetime:
    """Parse an SES ISO-8601 timestamp (``2016-01-27T14:59:38.237Z``) to naive UTC."""
    if not isinstance(value, str) or not value:
        raise ParseError("missing or not a timestamp string", path)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError) as exc:
        raise ParseError(f"not an ISO-8601 timestamp: {value!r}", path) from exc
    return parsed


def clean(value: str) -> str:
    r"""Make text storable in any database: no NUL characters, no lone surrogates.

    JSON allows both (``\u0000``, ``\ud800``); PostgreSQL text and UTF-8 do not,
    and one such event must not block its whole batch.
    """
    if "\x00" in value:
        value = value.replace("\x00", "\\u0000")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def normalise_email(value: str) -> str:
    """Lower-case an address and strip a display name (``"Jane" <jane@x>`` -> ``jane@x``)."""
    value = value.strip()
    if value.endswith(">") and "<" in value:
        value = value[value.rindex("<") + 1 : -1]
    return value.strip().lower()


def _obj(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ParseError("missing or not an object", path)
    return value


def _str(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise ParseError("missing or not a string", path)
    return value


def _send_id(mail: dict[str, Any]) -> int | None:
    headers = mail.get("headers")
    if not isinstance(headers, list):
        return None
    for header in headers:
        if not isinstance(header, dict):
            continue
        name = header.get("name")
        if isinstance(name, str) and name.lower() == SEND_ID_HEADER.lower():
            value = str(header.get("value", "")).strip()
            if value.isdigit() and len(value) < 19:
                return int(value)
    return None


def _key(*parts: Any) -> str:
    text = "\x1f".join(str(p) for p in parts)
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{parts[0]}:{digest[:48]}"


def _addresses(
    items: Any, path: str, field: str = "emailAddress"
) -> list[tuple[str, dict[str, Any]]]:
    """``[{"emailAddress": ...}, ...]`` or ``["a@x", ...]`` -> [(email, item)]."""
    if not isinstance(items, list) or not items:
        raise ParseError("missing or empty recipient list", path)
    out: list[tuple[str, dict[str, Any]]] = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            address, detail = item, {}
        elif isinstance(item, dict) and isinstance(item.get(field), str):
            address, detail = item[field], item
        else:
            raise ParseError(f"recipient is not an address or lacks {field!r}", f"{path}[{i}]")
        email = clean(normalise_email(address))
        if not email or len(email) > 320:
            raise ParseError(f"recipient is not an address: {address[:80]!r}", f"{path}[{i}]")
        out.append((email, detail))
    return out


def parse_ses(data: Any, raw: str | None = None, source: str = "file") -> list[FeedbackEvent]:
    """Turn one SES payload (either flavour) into one event per recipient.

    Raises ``ParseError`` naming the field when the payload is not SES feedback.
    """
    doc = _obj(data, "payload")
    type_name = doc.get("eventType", doc.get("notificationType"))
    type_field = "eventType" if "eventType" in doc else "notificationType"
    if not isinstance(type_name, str):
        raise ParseError("neither eventType nor notificationType is present", "payload")
    if type_name not in SES_TYPES:
        raise ParseError(f"unknown SES event type {type_name!r}", type_field)
    kind, key = SES_TYPES[type_name]
    mail = _obj(doc.get("mail"), "mail")
    message_id = _str(mail.get("messageId"), "mail.messageId")
    send_id = _send_id(mail)
    body = _obj(doc.get(key), key)
    payload = clean(raw if raw is not None else json.dumps(data, separators=(",", ":")))
    destination = mail.get("destination")

    def make(email: str | None, when: datetime, dedupe: str, **extra: Any) -> FeedbackEvent:
        for name in ("detail", "bounce_type"):
            if isinstance(extra.get(name), str):
                extra[name] = clean(extra[name])
        return FeedbackEvent(
            kind=kind,
            dedupe_key=dedupe,
            ses_message_id=clean(message_id),
            email=email,
            send_id=send_id,
            occurred_at=when,
            payload=payload,
            source=source,
            **extra,
        )

    events: list[FeedbackEvent] = []
    if kind == Kind.BOUNCE:
        feedback_id = _str(body.get("feedbackId"), "bounce.feedbackId")
        btype = _str(body.get("bounceType"), "bounce.bounceType")
        subtype = body.get("bounceSubType") or ""
        when = parse_time(body.get("timestamp"), "bounce.timestamp")
        for email, item in _addresses(body.get("bouncedRecipients"), "bounce.bouncedRecipients"):
            diag = (
                " ".join(str(item[k]) for k in ("status", "diagnosticCode") if item.get(k))
                or f"{btype} {subtype}".strip()
            )
            events.append(
                make(
                    email,
                    when,
                    _key(kind, feedback_id, email),
                    bounce_type=f"{btype}:{subtype}"[:40],
                    detail=diag,
                )
            )
    elif kind == Kind.COMPLAINT:
        feedback_id = _str(body.get("feedbackId"), "complaint.feedbackId")
        when = parse_time(body.get("timestamp"), "complaint.timestamp")
        detail = str(body.get("complaintFeedbackType") or "complaint")
        for email, _ in _addresses(
            body.get("complainedRecipients"), "complaint.complainedRecipients"
        ):
            events.append(make(email, when, _key(kind, feedback_id, email), detail=detail))
    elif kind == Kind.DELIVERY:
        when = parse_time(body.get("timestamp"), "delivery.timestamp")
        detail = str(body.get("smtpResponse") or "")
        for email, _ in _addresses(body.get("recipients"), "delivery.recipients"):
            events.append(make(email, when, _key(kind, message_id, email), detail=detail))
    elif kind == Kind.DELIVERY_DELAY:
        when = parse_time(body.get("timestamp"), "deliveryDelay.timestamp")
        delay = str(body.get("delayType") or "")
        for email, item in _addresses(
            body.get("delayedRecipients"), "deliveryDelay.delayedRecipients"
        ):
            diag = str(item.get("diagnosticCode") or "")
            events.append(
                make(
                    email,
                    when,
                    _key(kind, message_id, email, when),
                    detail=f"{delay} {diag}".strip(),
                )
            )
    elif kind in (Kind.SEND, Kind.REJECT, Kind.RENDERING_FAILURE):
        # No timestamp of their own: the mail's timestamp is when SES took it.
        when = parse_time(mail.get("timestamp"), "mail.timestamp")
        if kind == Kind.REJECT:
            detail = f"rejected by SES: {body.get('reason') or 'no reason given'}"
        elif kind == Kind.RENDERING_FAILURE:
            detail = f"rendering failure: {body.get('errorMessage') or 'no message'}"
            if body.get("templateName"):
                detail += f" (template {body['templateName']})"
        else:
            detail = ""
        for email, _ in _addresses(destination, "mail.destination"):
            events.append(make(email, when, _key(kind, message_id, email), detail=detail))
    elif kind in (Kind.OPEN, Kind.CLICK):
        when = parse_time(body.get("timestamp"), f"{key}.timestamp")
        link = str(body.get("link") or "") if kind == Kind.CLICK else ""
        agent = str(body.get("userAgent") or "")
        detail = link or agent
        tags = body.get("linkTags")
        engagement: dict[str, Any] = {
            "link": clean(link) or None,
            "link_tags": clean(json.dumps(tags, sort_keys=True))[:500]
            if isinstance(tags, dict) and tags
            else None,
            "user_agent": clean(agent)[:500] or None,
            "ip_address": clean(str(body.get("ipAddress") or ""))[:64] or None,
        }
        for email, _ in _addresses(destination, "mail.destination"):
            events.append(
                make(
                    email,
                    when,
                    _key(kind, message_id, email, when, link),
                    detail=detail[:2000],
                    **engagement,
                )
            )
    else:  # Subscription
        when = parse_time(body.get("timestamp"), "subscription.timestamp")
        prefs = body.get("newTopicPreferences")
        prefs = prefs if isinstance(prefs, dict) else {}
        all_out = prefs.get("unsubscribeAll") is True
        topics = prefs.get("topicSubscriptionStatus")
        opted_out = [
            str(t.get("topicName"))
            for t in (topics if isinstance(topics, list) else [])
            if isinstance(t, dict) and t.get("subscriptionStatus") == "OptOut"
        ]
        if not all_out and not opted_out:
            detail = "subscription change without opt-out"
        else:
            detail = "unsubscribe all" if all_out else "opt out: " + ", ".join(opted_out)
        detail += f" via {body.get('source') or 'SES'}"
        for email, _ in _addresses(destination, "mail.destination"):
            events.append(
                make(
                    email,
                    when,
                    _key(kind, message_id, email, when),
                    detail=detail,
                    unsubscribe_all=all_out,
                    bounce_type="OptOut" if (all_out or opted_out) else None,
                )
            )
    return events


def unknown_event(raw: str, dedupe: str, source: str, reason: str) -> FeedbackEvent:
    """A record for a message that is not SES feedback: stored, never acted on."""
    from mailer.clock import utcnow

    return FeedbackEvent(
        kind=Kind.UNKNOWN,
        dedupe_key=_key(Kind.UNKNOWN, dedupe),
        ses_message_id=None,
        email=None,
        send_id=None,
        occurred_at=utcnow(),
        payload=clean(raw),
        detail=clean(reason[:2000]),
        source=source,
    )


def is_sns_envelope(data: Any) -> bool:
    """Whether ``data`` looks like an SNS message (an SQS body without raw delivery)."""
    return (
        isinstance(data, dict)
        and isinstance(data.get("Type"), str)
        and "MessageId" in data
        and ("Message" in data or "Token" in data)
    )


def parse_document(data: Any, raw: str, source: str) -> list[FeedbackEvent]:
    """Parse an SES payload, or an SNS Notification envelope around one."""
    if is_sns_envelope(data):
        if data.get("Type") != "Notification":
            raise ParseError(f"SNS {data.get('Type')} is not a notification", "Type")
        inner = data.get("Message")
        if not isinstance(inner, str):
            raise ParseError("missing or not a string", "Message")
        try:
            inner_data = json.loads(inner)
        except ValueError as exc:
            raise ParseError(f"not JSON: {exc}", "Message") from exc
        return parse_ses(inner_data, inner, source)
    return parse_ses(data, raw, source)


def parse_message(raw: str, source: str, fallback_id: str) -> list[FeedbackEvent]:
    """Parse a queued or posted message; anything unusable becomes one ``unknown`` record.

    SNS and SQS deliver whatever was published to the topic; refusing it would
    only make them redeliver forever, so it is kept for audit instead.
    ``fallback_id`` (the SQS or SNS message id) keys such a record, unless
    the body is an SNS envelope with its own MessageId.
    """
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        return [unknown_event(raw, fallback_id, source, f"not JSON: {exc}")]
    try:
        return parse_document(data, raw, source)
    except (ParseError, RecursionError) as exc:
        if isinstance(data, dict) and isinstance(data.get("MessageId"), str):
            fallback_id = data["MessageId"]
        return [unknown_event(raw, fallback_id, source, str(exc))]
