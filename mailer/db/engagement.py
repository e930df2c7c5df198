"""The engagement store: a send's opens and clicks, with what classifies them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailer.db.models import Event, Recipient, Send

EngagementRow = tuple[
    int, str, str | None, str | None, str | None, str | None, datetime, datetime | None
]


def send_links(session: Session, send_id: int) -> list[dict[str, Any]]:
    """The link map frozen with the send (empty for sends made before it was kept)."""
    return list(session.scalar(select(Send.links).where(Send.id == send_id)) or [])


def engagement_rows(session: Session, send_id: int) -> Iterator[EngagementRow]:
    """(recipient id, kind, link, link tags, user agent, ip, when, delivered or sent at)
    of each matched open and click of the send, one streamed query."""
    stmt = (
        select(
            Event.recipient_id,
            Event.event_type,
            Event.link,
            Event.link_tags,
            Event.user_agent,
            Event.ip_address,
            Event.occurred_at,
            Recipient.delivered_at,
            Recipient.sent_at,
        )
        .join(Recipient, Recipient.id == Event.recipient_id)
        .where(Event.send_id == send_id, Event.event_type.in_(["open", "click"]))
    )
    for rid, kind, link, tags, agent, ip, when, delivered, sent in session.execute(
        stmt.execution_options(yield_per=5000)
    ):
        yield (int(rid or 0), str(kind), link, tags, agent, ip, when, delivered or sent)
