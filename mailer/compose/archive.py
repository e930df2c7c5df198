"""The public archive: what was published, read back from the sends' snapshots.

An issue is published once one of its sends has started; what readers see is
the web version frozen with that send (``compose.snapshot``), never the files
on disk. The web app's archive pages and feeds call these functions only.
"""

from __future__ import annotations

from mailer.db import Database, snapshots
from mailer.db.snapshots import SentIssue

__all__ = ["SentIssue", "pages", "published_send", "sent_issues", "summaries"]


def sent_issues(db: Database, list_slug: str | None = None, limit: int = 200) -> list[SentIssue]:
    """Issues with at least one started send (to ``list_slug`` if given), newest first."""
    with db.session() as session:
        return snapshots.sent_issues(session, list_slug, limit)


def published_send(db: Database, issue_slug: str, canonical_list: str = "") -> int | None:
    """The send whose snapshot the archive shows for ``issue_slug``, or None.

    The latest started send of the issue; with ``canonical_list``
    (``site.archive_list``), that list's latest send when there is one.
    """
    with db.session() as session:
        return snapshots.published_send(session, issue_slug, canonical_list)


def pages(db: Database, send_id: int) -> dict[str, tuple[str, str]]:
    """Every file of a send's snapshot: path -> (media type, body)."""
    with db.session() as session:
        return snapshots.pages_of(session, send_id)


def summaries(db: Database, issue_slugs: list[str], list_slug: str | None) -> dict[str, str]:
    """Issue slug -> the preheader (or title) of what its latest send to the list published."""
    with db.session() as session:
        found = snapshots.manifests(session, issue_slugs, list_slug)
    return {slug: str(m.get("preheader") or m.get("title") or "") for slug, m in found.items()}
