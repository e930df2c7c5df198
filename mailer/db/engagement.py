"""The engagement store: a send's opens and clicks, with what classifies them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import case, distinct, func, not_, or_, select
from sqlalchemy.orm import Session

from mailer.db.models import Event, Recipient, Send

ClickRow = tuple[int, str | None, str | None, str | None, datetime, datetime | None]
OpenRow = tuple[int, str | None, str | None]


def send_links(session: Session, send_id: int) -> list[dict[str, Any]]:
    """The link map frozen with the send (empty for sends made before it was kept)."""
    return list(session.scalar(select(Send.links).where(Send.id == send_id)) or [])


def open_agents(session: Session, send_id: int) -> list[str | None]:
    """The distinct user agents of the send's matched opens (few, however many opens)."""
    stmt = (
        select(Event.user_agent)
        .where(
            Event.send_id == send_id, Event.event_type == "open", Event.recipient_id.is_not(None)
        )
        .group_by(Event.user_agent)
    )
    return list(session.scalars(stmt))


def count_openers(
    session: Session, send_id: int, machine_agents: list[str], machine_prefix: str
) -> tuple[int, int]:
    """(people, machines): distinct recipients with an open that is not a machine's, and
    with one that is; a machine's open has one of ``machine_agents`` or an address
    starting with ``machine_prefix``."""
    machine: Any = Event.ip_address.like(f"{machine_prefix}%")
    if machine_agents:
        machine = or_(machine, Event.user_agent.in_(machine_agents))
    recipient = Event.recipient_id
    row = session.execute(
        select(
            func.count(distinct(case((not_(machine), recipient)))),
            func.count(distinct(case((machine, recipient)))),
        ).where(Event.send_id == send_id, Event.event_type == "open", recipient.is_not(None))
    ).one()
    return int(row[0]), int(row[1])


def open_rows(session: Session, send_id: int) -> Iterator[OpenRow]:
    """(recipient id, user agent, ip) of each matched open of the send."""
    stmt = select(Event.recipient_id, Event.user_agent, Event.ip_address).where(
        Event.send_id == send_id, Event.event_type == "open", Event.recipient_id.is_not(None)
    )
    # Core rows, not ORM ones: a large send has tens of thousands.
    for rid, agent, ip in session.connection().execute(stmt):
        yield (int(rid or 0), agent, ip)


def click_rows(session: Session, send_id: int) -> Iterator[ClickRow]:
    """(recipient id, link, link tags, user agent, when, delivered or sent at) of each
    matched click of the send."""
    stmt = (
        select(
            Event.recipient_id,
            Event.link,
            Event.link_tags,
            Event.user_agent,
            Event.occurred_at,
            Recipient.delivered_at,
            Recipient.sent_at,
        )
        .join(Recipient, Recipient.id == Event.recipient_id)
        .where(Event.send_id == send_id, Event.event_type == "click")
    )
    for rid, link, tags, agent, when, delivered, sent in session.connection().execute(stmt):
        yield (int(rid or 0), link, tags, agent, when, delivered or sent)
