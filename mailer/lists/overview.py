"""The operator's view of the lists: counts per status, and subscribers a page at a time.

What ``mailer lists`` prints and the web app's lists, list and subscribers
pages show. The SQL is in ``mailer.db.subscribers`` and ``mailer.db.browse``.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailer.db import Database
from mailer.db import browse as browse_store
from mailer.db import subscribers as store
from mailer.db.browse import Filters, Page
from mailer.db.subscribers import ListCounts

__all__ = ["Browsed", "Filters", "ListCounts", "Page", "browse", "list_counts"]


def list_counts(db: Database, slug: str | None = None) -> list[ListCounts]:
    """Counts per status for every list (or only ``slug``: ``NotFoundError`` if none)."""
    with db.session() as session:
        return store.list_counts(session, slug)


@dataclass(frozen=True)
class Browsed:
    """One page of subscribers, and every list (slug, name) to filter by."""

    lists: list[tuple[str, str]]
    page: Page


def browse(
    db: Database,
    *,
    list_slug: str = "",
    status: str | None = None,
    suppressed: bool | None = None,
    query: str = "",
    after: int | None = None,
    before: int | None = None,
    limit: int = 50,
) -> Browsed:
    """Subscribers matching the filters, newest first, one page (keyset: ``after``/``before``).

    ``list_slug`` narrows to one list (``NotFoundError`` if there is none).
    """
    with db.session() as session:
        lists = store.all_lists(session)
        list_id = store.get_list(session, list_slug).id if list_slug else None
        filters = Filters(list_id=list_id, status=status, suppressed=suppressed, query=query)
        page = browse_store.browse(session, filters, after=after, before=before, limit=limit)
        return Browsed([(lst.slug, lst.name) for lst in lists], page)
