"""Freezing an issue for a list: composed as the list sends it, refused with lint errors.

A send goes out under its list's sender name and with its list's postal
address, and its web version's subscribe links lead to that list's sign-up
page; so what a send freezes depends on the list. ``mailer send``, ``mailer
sends refreeze`` and the editors' forms all freeze through ``freeze_for_list``,
which reads the list once and hands it on (``ListSender``) to the send that is
created from it. An issue with lint errors is refused here, whichever door it
came through.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from mailer.compose.fit import ListFacts, list_warnings
from mailer.config import Settings
from mailer.db import Database
from mailer.db import outbox as store
from mailer.db.models import MailingList
from mailer.db.subscribers import all_lists, get_list
from mailer.errors import Hint, MailerError, ValidationError
from mailer.status import SendStatus

if TYPE_CHECKING:
    from mailer.compose.pipeline import ComposedIssue
    from mailer.compose.snapshot import Snapshot
    from mailer.content.model import Issue

IssueSource = Callable[[str], "Issue"]
"""Loads an issue by slug: the issues folder (``issue_files``), or the web app's cache."""


@dataclass(frozen=True)
class ListSender:
    """A list as sending needs it: who it is from, its postal address, its language."""

    id: int
    slug: str
    name: str
    from_name: str
    from_email: str
    reply_to: str
    postal_address: str
    language: str

    @classmethod
    def of(cls, lst: MailingList) -> ListSender:
        return cls(
            lst.id,
            lst.slug,
            lst.name,
            lst.from_name,
            lst.from_email,
            lst.reply_to,
            lst.postal_address,
            lst.language,
        )

    @property
    def facts(self) -> ListFacts:
        """What the list-fit check compares the issue with."""
        return ListFacts(self.slug, self.name, self.from_name, self.language)


@dataclass(frozen=True)
class Frozen:
    """What a send of an issue to a list freezes: the email, the web version; with warnings."""

    composed: ComposedIssue
    snapshot: Snapshot
    sender: ListSender
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FreezeState:
    """When a send was frozen and, before it starts, how the issue's files differ since."""

    frozen_at: datetime | None
    changes: list[str] = field(default_factory=list)
    problem: str = ""  # the files cannot be compared now (broken, gone)


def issue_files(settings: Settings) -> IssueSource:
    """Load an issue by slug (or folder) from the issues folder, as it is now."""
    from mailer.content import load_issue, resolve_issue_path

    return lambda ref: load_issue(resolve_issue_path(ref, settings), settings)


def list_sender(database: Database, slug: str) -> ListSender:
    """The list ``slug``; ``NotFoundError`` if there is none."""
    with database.session() as session:
        return ListSender.of(get_list(session, slug))


def first_list(database: Database) -> str:
    """The slug of the first list (by slug): where a test copy goes when none is chosen."""
    with database.session() as session:
        lists = all_lists(session)
        if not lists:
            raise MailerError("there is no list yet", hint=Hint.SYNC_LISTS)
        return lists[0].slug


def fit_warnings(issue: Issue, sender: ListSender) -> list[str]:
    """Where ``issue`` differs from the list in language or newsletter name."""
    return list_warnings(issue.language, issue.newsletter.name, sender.facts)


def list_fit(database: Database, issue: Issue, list_slug: str) -> list[str]:
    """:func:`fit_warnings` for the list ``list_slug``."""
    return fit_warnings(issue, list_sender(database, list_slug))


def compose_for_list(settings: Settings, issue: Issue, sender: ListSender) -> ComposedIssue:
    """Compose ``issue`` as ``sender``'s list sends it; refuse it while it has lint errors."""
    from mailer.compose.pipeline import compose_issue

    composed = compose_issue(
        issue,
        settings,
        postal_address=sender.postal_address or None,
        from_name=sender.from_name or None,
    )
    if composed.errors:
        details = "; ".join(r.message for r in composed.errors)
        raise MailerError(f"issue {composed.slug!r} does not pass lint, not sending: {details}")
    return composed


def freeze_with(settings: Settings, issue: Issue, sender: ListSender) -> Frozen:
    """Everything a send of ``issue`` to ``sender``'s list freezes, with list-fit warnings."""
    from mailer.compose.snapshot import snapshot_issue

    composed = compose_for_list(settings, issue, sender)
    snapshot = snapshot_issue(issue, settings, sender.slug)
    return Frozen(composed, snapshot, sender, fit_warnings(issue, sender))


def freeze_for_list(settings: Settings, database: Database, issue: Issue, list_slug: str) -> Frozen:
    """:func:`freeze_with` for the list ``list_slug`` (read once, here)."""
    return freeze_with(settings, issue, list_sender(database, list_slug))


def freeze_state(
    settings: Settings, database: Database, send_id: int, issues: IssueSource
) -> FreezeState:
    """When send ``send_id`` was frozen and, before it starts, what changed in its files."""
    from mailer.compose.snapshot import changes, manifest_of

    with database.session() as session:
        send = store.get_send(session, send_id)
        frozen_at, manifest = send.frozen_at, send.manifest
        slug, started, status = send.issue_slug, send.started_at, send.status
    if started is not None or status not in (SendStatus.SCHEDULED, SendStatus.PAUSED):
        return FreezeState(frozen_at)
    try:
        current = manifest_of(issues(slug), settings)
    except ValidationError as exc:
        first = exc.problems[0].message if exc.problems else exc.message
        problem = f"the issue's files have problems now ({first}); the frozen version goes out"
        return FreezeState(frozen_at, problem=problem)
    except MailerError:
        return FreezeState(
            frozen_at, problem="the issue's folder is gone; the frozen version goes out"
        )
    return FreezeState(frozen_at, changes(manifest, current))
