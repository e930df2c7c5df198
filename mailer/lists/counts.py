"""Every list with its subscribers counted by status (``mailer lists``)."""

from __future__ import annotations

from mailer.db import Database
from mailer.db import subscribers as store
from mailer.db.subscribers import ListCounts


def list_counts(db: Database) -> list[ListCounts]:
    """Each list with its subscriber counts per status, in one transaction."""
    with db.session() as session:
        return store.list_counts(session)
