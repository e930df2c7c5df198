"""How the sends stand, for people: the sends list, one send in detail, each issue's state.

What the sends pages, the issues table and ``mailer sends`` show. Every
function opens its own short transaction and returns plain dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mailer.db import Database
from mailer.db import outbox as store
from mailer.db import sends as sends_store
from mailer.db.models import Send
from mailer.db.subscribers import get_list
from mailer.status import RecipientStatus, SendStatus

SETTLED = (
    RecipientStatus.SENT,
    RecipientStatus.FAILED,
    RecipientStatus.SKIPPED,
    RecipientStatus.UNCERTAIN,
)


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
        return sum(self.counts.get(k, 0) for k in SETTLED)

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


def sends_overview(database: Database, limit: int = 100) -> list[SendRow]:
    """The latest sends, newest first, with live counts."""
    with database.session() as session:
        sends = store.all_sends(session, limit)
        counts = store.counts_for(session, [send.id for send, _ in sends])
        return [_send_row(send, slug, counts[send.id]) for send, slug in sends]


def send_row(database: Database, send_id: int) -> SendRow:
    """One send with live counts; ``NotFoundError`` if there is none."""
    with database.session() as session:
        send = store.get_send(session, send_id)
        lst = store.list_of(session, send)
        return _send_row(send, lst.slug, store.counts(session, send_id))


@dataclass(frozen=True)
class Progress:
    """Where a send stands: its status (and why) and its recipients by status."""

    status: str
    status_reason: str
    counts: dict[str, int]


def progress(database: Database, send_id: int) -> Progress:
    """Send ``send_id``'s status and counts (its list is not read)."""
    with database.session() as session:
        send = store.get_send(session, send_id)
        return Progress(send.status, send.status_reason, store.counts(session, send_id))


@dataclass(frozen=True)
class SendDetail:
    """One send in full, for ``mailer sends show``."""

    row: SendRow
    breaker_overridden_at: datetime | None
    frozen_at: datetime | None
    uncertain: list[tuple[str, str, int]]  # (email, error, attempts), the first ``limit``
    failed: list[tuple[str, str, int]]
    audience: int | None  # before it starts: who it would reach now


def send_detail(database: Database, send_id: int, limit: int = 100) -> SendDetail:
    """Send ``send_id`` with counts, its first ``limit`` uncertain and failed recipients."""
    rs = RecipientStatus
    with database.session() as session:
        send = store.get_send(session, send_id)
        lst = store.list_of(session, send)
        row = _send_row(send, lst.slug, store.counts(session, send_id))
        return SendDetail(
            row,
            send.breaker_overridden_at,
            send.frozen_at,
            store.recipients_with_status(session, send_id, rs.UNCERTAIN, limit),
            store.recipients_with_status(session, send_id, rs.FAILED, limit),
            sends_store.audience(session, lst.id) if send.started_at is None else None,
        )


def audience(database: Database, list_slug: str) -> int:
    """Who a send to ``list_slug`` would reach if it started now: active, not suppressed."""
    with database.session() as session:
        return sends_store.audience(session, get_list(session, list_slug).id)


@dataclass(frozen=True)
class PendingSend:
    """A send of an issue that has not started: its content is frozen, not live."""

    id: int
    list_slug: str
    status: str
    frozen_at: datetime | None


def pending_sends(database: Database, issue_slug: str) -> list[PendingSend]:
    """Scheduled or paused sends of ``issue_slug`` that have not started yet."""
    with database.session() as session:
        return [PendingSend(*row) for row in sends_store.pending(session, issue_slug)]


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


def issue_states(database: Database) -> dict[str, IssueState]:
    """Every issue that has sends, with its state; issues not in the map are drafts."""
    sent: dict[str, dict[str, None]] = {}
    due: dict[str, list[tuple[str, datetime | None]]] = {}
    with database.session() as session:
        rows = sends_store.by_issue(session)
    for issue, list_slug, status, started, scheduled in rows:
        if started is not None:
            sent.setdefault(issue, {})[list_slug] = None
        elif status == SendStatus.SCHEDULED:
            due.setdefault(issue, []).append((list_slug, scheduled))
    return {
        issue: IssueState(tuple(sent.get(issue, {})), tuple(due.get(issue, [])))
        for issue in {*sent, *due}
    }
