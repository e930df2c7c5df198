"""Queries the web app needs that no other stage's store provides.

The public archive shows only issues that went out (a send that started), and
an unsubscribe made on the web is credited to the send that brought the
message, so the send's report counts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from mailer.db import Database, outbox, subscribers
from mailer.db.models import MailingList, Send, Subscriber, Subscription
from mailer.status import SendStatus, SubscriptionStatus

# --- sends and their progress -----------------------------------------------------------


@dataclass(frozen=True)
class SendRow:
    """A send with its recipients counted by status: one line of the sends page."""

    id: int
    issue_slug: str
    list_slug: str
    subject: str
    status: str
    status_reason: str
    scheduled_at: datetime | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    total: int
    counts: dict[str, int]

    @property
    def done(self) -> int:
        """Recipients whose message is settled (sent, failed, skipped or uncertain)."""
        c = self.counts
        return sum(c.get(k, 0) for k in ("sent", "failed", "skipped", "uncertain"))

    @property
    def percent(self) -> float:
        total = self.total or sum(self.counts.values())
        return round(100.0 * self.done / total, 1) if total else 0.0

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "status": self.status,
            "status_reason": self.status_reason,
            "total": self.total or sum(self.counts.values()),
            "done": self.done,
            "percent": self.percent,
            **self.counts,
        }


def _send_row(send: Send, list_slug: str, counts: dict[str, int]) -> SendRow:
    return SendRow(
        send.id,
        send.issue_slug,
        list_slug,
        send.subject,
        send.status,
        send.status_reason,
        send.scheduled_at,
        send.created_at,
        send.started_at,
        send.finished_at,
        send.total,
        counts,
    )


def sends_overview(db: Database, limit: int = 100) -> list[SendRow]:
    """The latest sends, newest first, with live counts."""
    with db.session() as s:
        sends = outbox.all_sends(s, limit)
        counts = outbox.counts_for(s, [send.id for send, _ in sends])
        return [_send_row(send, slug, counts[send.id]) for send, slug in sends]


def send_row(db: Database, send_id: int) -> SendRow:
    """One send with live counts; ``NotFoundError`` if there is none."""
    with db.session() as s:
        send = outbox.get_send(s, send_id)
        lst = outbox.list_of(s, send)
        return _send_row(send, lst.slug, outbox.counts(s, send_id))


@dataclass(frozen=True)
class ListSender:
    """What composing for a list, and previewing it as its inbox shows it, needs."""

    slug: str
    from_name: str
    postal_address: str
    from_email: str = ""
    name: str = ""
    language: str = ""


def list_sender(db: Database, slug: str) -> ListSender:
    with db.session() as s:
        lst = subscribers.get_list(s, slug)
        return ListSender(
            lst.slug,
            lst.from_name,
            lst.postal_address,
            lst.from_email,
            lst.name,
            lst.language,
        )


@dataclass(frozen=True)
class PendingSend:
    """A send of an issue that has not started: its content is frozen, not live."""

    id: int
    list_slug: str
    status: str
    frozen_at: datetime | None


def pending_sends(db: Database, issue_slug: str) -> list[PendingSend]:
    """Scheduled or paused sends of ``issue_slug`` that have not started yet."""
    with db.session() as s:
        rows = s.execute(
            select(Send.id, MailingList.slug, Send.status, Send.frozen_at)
            .join(MailingList, MailingList.id == Send.list_id)
            .where(
                Send.issue_slug == issue_slug,
                Send.started_at.is_(None),
                Send.status.in_(["scheduled", "paused"]),
            )
            .order_by(Send.id)
        ).all()
    return [PendingSend(int(i), slug, status, at) for i, slug, status, at in rows]


def send_manifest(db: Database, send_id: int) -> tuple[datetime | None, dict[str, Any] | None]:
    """When a send's content was frozen, and its manifest."""
    with db.session() as s:
        send = outbox.get_send(s, send_id)
        return send.frozen_at, send.manifest


def audience(db: Database, list_slug: str) -> int:
    """Who a send to ``list_slug`` would reach if it started now: active, not suppressed."""
    with db.session() as s:
        lst = subscribers.get_list(s, list_slug)
        return int(
            s.scalar(
                select(func.count())
                .select_from(Subscription)
                .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
                .where(
                    Subscription.list_id == lst.id,
                    Subscription.status == SubscriptionStatus.ACTIVE,
                    ~subscribers.suppressed_clause(),
                )
            )
            or 0
        )


# --- each issue's state, for the issues table ----------------------------------------------


@dataclass(frozen=True)
class IssueState:
    """Where an issue stands: a draft, scheduled, or sent (to which lists)."""

    sent_to: tuple[str, ...]  # lists with a send of it that started
    scheduled: tuple[tuple[str, datetime | None], ...]  # (list, due) not started yet

    @property
    def label(self) -> str:
        if self.sent_to:
            return "sent"
        return "scheduled" if self.scheduled else "draft"


DRAFT = IssueState((), ())


def issue_states(db: Database) -> dict[str, IssueState]:
    """Every issue that has sends, with its state; issues not in the map are drafts."""
    sent: dict[str, dict[str, None]] = {}
    due: dict[str, list[tuple[str, datetime | None]]] = {}
    with db.session() as s:
        rows = s.execute(
            select(
                Send.issue_slug, MailingList.slug, Send.status, Send.started_at, Send.scheduled_at
            )
            .join(MailingList, MailingList.id == Send.list_id)
            .order_by(Send.id)
        ).all()
    for issue, list_slug, status, started, scheduled in rows:
        if started is not None:
            sent.setdefault(issue, {})[list_slug] = None
        elif status == SendStatus.SCHEDULED:
            due.setdefault(issue, []).append((list_slug, scheduled))
    return {
        issue: IssueState(tuple(sent.get(issue, {})), tuple(due.get(issue, [])))
        for issue in {*sent, *due}
    }
