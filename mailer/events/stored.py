"""The feedback events stored, as ``mailer events list`` shows them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mailer.db import Database
from mailer.db import events as store


@dataclass(frozen=True)
class StoredEvent:
    """One stored feedback event; ``send_id`` is None for an orphan's."""

    id: int
    event_type: str
    email: str | None
    send_id: int | None
    orphan: bool
    occurred_at: datetime
    detail: str  # the bounce type first, for bounces


def recent_events(
    db: Database, *, orphans_only: bool = False, email: str | None = None, limit: int = 50
) -> list[StoredEvent]:
    """The newest stored events, optionally only orphans or one address's."""
    with db.session() as session:
        rows = store.recent_events(session, orphans_only=orphans_only, email=email, limit=limit)
        return [
            StoredEvent(
                e.id,
                e.event_type,
                e.email,
                e.send_id,
                e.orphan,
                e.occurred_at,
                e.bounce_type + " " + e.detail if e.bounce_type else e.detail,
            )
            for e in rows
        ]
