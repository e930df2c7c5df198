"""The snapshot store: each send's frozen web version, and what the archive shows.

A snapshot is written with its send (one transaction) and replaced only by a
re-freeze, which the conditional update refuses once the send has started:
a published snapshot never changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, case, delete, func, insert, select, update
from sqlalchemy.orm import Session

from mailer.db.models import MailingList, Send, SendPage
from mailer.status import SendStatus

SENDS = cast(Table, Send.__table__)
PAGES = cast(Table, SendPage.__table__)


def save_snapshot(
    session: Session,
    send_id: int,
    files: Mapping[str, tuple[str, str]],
    manifest: dict[str, Any],
    now: datetime,
) -> None:
    """Store ``files`` (path -> (media type, body)) as the send's web version."""
    session.execute(delete(PAGES).where(PAGES.c.send_id == send_id))
    if files:
        session.execute(
            insert(PAGES),
            [
                {"send_id": send_id, "path": path, "media_type": media, "body": body}
                for path, (media, body) in files.items()
            ],
        )
    session.execute(
        update(SENDS).where(SENDS.c.id == send_id).values(frozen_at=now, manifest=manifest)
    )


def refreeze(
    session: Session,
    send_id: int,
    *,
    subject: str,
    html: str,
    text: str,
    files: Mapping[str, tuple[str, str]],
    manifest: dict[str, Any],
    now: datetime,
) -> bool:
    """Replace a not-yet-started send's content and snapshot; False once it has started."""
    moved = session.execute(
        update(SENDS)
        .where(
            SENDS.c.id == send_id,
            SENDS.c.started_at.is_(None),
            SENDS.c.status.in_([SendStatus.SCHEDULED, SendStatus.PAUSED]),
        )
        .values(subject=subject, html=html, text=text)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        return False
    save_snapshot(session, send_id, files, manifest, now)
    return True


def published_send(session: Session, issue_slug: str, canonical_list: str = "") -> int | None:
    """The send whose snapshot the archive shows for ``issue_slug``, or None.

    The latest started send of the issue; with ``canonical_list``, that
    list's latest send when there is one.
    """
    query = (
        select(Send.id)
        .join(MailingList, MailingList.id == Send.list_id)
        .where(Send.issue_slug == issue_slug, Send.started_at.is_not(None))
    )
    order: list[Any] = []
    if canonical_list:
        order.append(case((MailingList.slug == canonical_list, 0), else_=1))
    query = query.order_by(*order, Send.started_at.desc(), Send.id.desc()).limit(1)
    found = session.scalar(query)
    return int(found) if found is not None else None


def pages_of(session: Session, send_id: int) -> dict[str, tuple[str, str]]:
    """Every file of a send's snapshot: path -> (media type, body)."""
    rows = session.execute(
        select(PAGES.c.path, PAGES.c.media_type, PAGES.c.body).where(PAGES.c.send_id == send_id)
    )
    return {path: (media, body) for path, media, body in rows}


def manifests(
    session: Session, issue_slugs: list[str], list_slug: str | None
) -> dict[str, dict[str, Any]]:
    """The manifest of each issue's latest started send (to ``list_slug`` if given)."""
    if not issue_slugs:
        return {}
    query = select(Send.issue_slug, Send.manifest).where(
        Send.issue_slug.in_(issue_slugs), Send.started_at.is_not(None)
    )
    if list_slug is not None:
        query = query.join(MailingList, MailingList.id == Send.list_id).where(
            MailingList.slug == list_slug
        )
    out: dict[str, dict[str, Any]] = {}
    for slug, manifest in session.execute(query.order_by(Send.started_at, Send.id)):
        out[slug] = manifest or {}
    return out


@dataclass(frozen=True)
class SentIssue:
    """An issue in the public archive: first went out at ``sent_at``."""

    issue_slug: str
    subject: str
    sent_at: datetime


def sent_issues(
    session: Session, list_slug: str | None = None, limit: int = 200
) -> list[SentIssue]:
    """Issues with at least one started send (to ``list_slug`` if given), newest first."""
    first = func.min(Send.started_at)
    stmt = (
        select(Send.issue_slug, func.max(Send.subject), first)
        .where(Send.started_at.is_not(None))
        .group_by(Send.issue_slug)
        .order_by(first.desc())
        .limit(limit)
    )
    if list_slug is not None:
        stmt = stmt.join(MailingList, MailingList.id == Send.list_id).where(
            MailingList.slug == list_slug
        )
    return [
        SentIssue(slug, subject, when)
        for slug, subject, when in session.execute(stmt)
        if when is not None
    ]
