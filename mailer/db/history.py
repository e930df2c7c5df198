"""A person's history: every action an operator (or the CLI) took on them.

Lines are keyed by the address hash. Forgetting a person erases their lines
and leaves one that says they were forgotten, which holds no personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mailer.clock import utcnow
from mailer.db.models import HistoryEntry
from mailer.lists.addresses import email_hash


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    action: str
    list_slug: str | None
    detail: str
    actor: str


def record(
    session: Session,
    email: str,
    action: str,
    *,
    actor: str,
    list_slug: str | None = None,
    detail: str = "",
) -> None:
    """Add a line to the history of ``email`` (in the caller's transaction)."""
    record_hash(session, email_hash(email), action, actor=actor, list_slug=list_slug, detail=detail)


def record_hash(
    session: Session,
    digest: str,
    action: str,
    *,
    actor: str,
    list_slug: str | None = None,
    detail: str = "",
) -> None:
    """:func:`record` for an address known only by its hash."""
    session.add(
        HistoryEntry(
            email_hash=digest,
            action=action[:40],
            list_slug=list_slug,
            detail=detail,
            actor=actor[:100],
            created_at=utcnow(),
        )
    )
    session.flush()


def history_of(session: Session, email: str, limit: int = 200) -> list[HistoryLine]:
    """The latest lines of an address's history, newest first."""
    rows = session.scalars(
        select(HistoryEntry)
        .where(HistoryEntry.email_hash == email_hash(email))
        .order_by(HistoryEntry.id.desc())
        .limit(limit)
    )
    return [HistoryLine(r.created_at, r.action, r.list_slug, r.detail, r.actor) for r in rows]


def erase(session: Session, digest: str) -> int:
    """Delete every line about the address with this hash; return how many."""
    result = session.execute(
        delete(HistoryEntry)
        .where(HistoryEntry.email_hash == digest)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
