"""Sends: create or schedule one, re-freeze it, test copies, pause, resume, cancel, retry.

A send freezes its content (the composed HTML and text, and the web version
the public archive will serve) when it is created, and its recipients when it
starts; the worker (or ``mailer send`` in-process) then delivers it. Until it
starts, an editor may re-freeze it from the issue's files. The same issue
goes to the same list once unless ``again`` says otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailer import links
from mailer.clock import utcnow
from mailer.compose.snapshot import Snapshot, snapshot_for_existing_send
from mailer.config import Settings
from mailer.db import Database, snapshots
from mailer.db import guardrails as guard_store
from mailer.db import outbox as store
from mailer.db.models import Send
from mailer.db.subscribers import get_list
from mailer.deliver import guardrails
from mailer.deliver.engine import personal, template_for
from mailer.deliver.freeze import (
    Frozen,
    IssueSource,
    ListSender,
    first_list,
    freeze_for_list,
    freeze_with,
)
from mailer.deliver.mime import addr_spec, check_header
from mailer.deliver.tokens import RecipientLinks
from mailer.deliver.transports import OutgoingMessage, SendResult, open_transport
from mailer.deliver.transports.base import Transport
from mailer.errors import ConflictError, Hint, InvalidEmail, MailerError, UnsafeHeader
from mailer.lists.addresses import email_hash, normalise_email
from mailer.status import RecipientStatus, SendStatus

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mailer.content.model import Issue

TEST_PREFIX = "[TEST] "
MAX_TEST_ADDRESSES = 10
log = logging.getLogger(__name__)


class Composed(Protocol):
    """What a send needs from a composed issue.

    A composed issue may also carry ``links`` (``mailer.compose.ComposedIssue``
    does): the map of its links to stories, kept with the send for reports.
    """

    @property
    def slug(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def html(self) -> str: ...
    @property
    def text(self) -> str: ...


def parse_when(text: str, tz_name: str, now: datetime | None = None) -> datetime:
    """``"2026-11-24 08:00"`` in ``tz_name`` as naive UTC; refuses past times."""
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise MailerError(
            f"unknown timezone {tz_name!r} (e.g. Europe/Brussels)", field="timezone"
        ) from exc
    try:
        local = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise MailerError(
            f'{text!r} is not a date and time like "2026-11-24 08:00"', field="when"
        ) from exc
    if local.tzinfo is None:
        local = local.replace(tzinfo=tz)
    when = local.astimezone(UTC).replace(tzinfo=None)
    if when <= (now or utcnow()):
        raise MailerError(f"{text} ({tz_name}) is in the past", field="when")
    return when


def create_send(
    settings: Settings,
    database: Database,
    composed: Composed,
    list_slug: str | ListSender,
    *,
    at: datetime | None = None,
    again: bool = False,
    snapshot: Snapshot | None = None,
) -> Send:
    """Create a send of ``composed`` to ``list_slug``: due now, or at ``at`` (naive UTC).

    ``list_slug`` may be the list as the freeze read it (``Frozen.sender``):
    it is not read again. ``snapshot`` is the web version frozen with it
    (``freeze_for_list``); without one it is built from the issue's files
    when they give the same subject, else from the email itself.
    """
    check_header("Subject", composed.subject)
    if snapshot is None:
        snapshot = snapshot_for_existing_send(
            settings, composed.slug, composed.subject, composed.html
        )
    with database.session() as session:
        mailing_list = _sender(session, list_slug)
        # Builds the template once now so a bad header or placeholder fails here.
        template_for(
            settings,
            mailing_list,
            issue_slug=composed.slug,
            subject=composed.subject,
            html=composed.html,
            text=composed.text,
            send_id=0,
        )
        earlier = store.earlier_sends(session, composed.slug, mailing_list.id)
        if earlier and not again:
            last = earlier[-1]
            raise ConflictError(
                f"issue {composed.slug!r} already went to list {mailing_list.slug!r} "
                f"(send #{last.id}, {last.status})",
                hint=Hint.SEND_AGAIN,
            )
        send = store.create_send(
            session,
            issue_slug=composed.slug,
            list_id=mailing_list.id,
            subject=composed.subject,
            html=composed.html,
            text=composed.text,
            scheduled_at=at,
            links=getattr(composed, "links", None),
        )
        snapshots.save_snapshot(session, send.id, snapshot.files(), snapshot.manifest, utcnow())
        send.frozen_at, send.manifest = utcnow(), snapshot.manifest
        return send


def _sender(session: Session, list_slug: str | ListSender) -> ListSender:
    if isinstance(list_slug, ListSender):
        return list_slug
    return ListSender.of(get_list(session, list_slug))


@dataclass(frozen=True)
class Created:
    """A send just created from an issue's files: its id, and what was frozen."""

    send_id: int
    frozen: Frozen


def send_issue(
    settings: Settings,
    database: Database,
    issue: Issue,
    list_slug: str,
    *,
    at: datetime | None = None,
    again: bool = False,
) -> Created:
    """Freeze ``issue`` for ``list_slug`` and create its send: due now, or at ``at``.

    What ``mailer send`` and the editors' schedule form do; the list is read once.
    """
    frozen = freeze_for_list(settings, database, issue, list_slug)
    send = create_send(
        settings,
        database,
        frozen.composed,
        frozen.sender,
        at=at,
        again=again,
        snapshot=frozen.snapshot,
    )
    return Created(int(send.id), frozen)


def refreeze_from_files(
    settings: Settings, database: Database, send_id: int, issues: IssueSource
) -> Frozen:
    """Freeze a scheduled send again from its issue's files as they are now."""
    with database.session() as session:
        send = store.get_send(session, send_id)
        if send.started_at is not None:
            raise ConflictError(f"send #{send_id} has started: what it sends can no longer change")
        slug, sender = send.issue_slug, ListSender.of(store.list_of(session, send))
    frozen = freeze_with(settings, issues(slug), sender)
    refreeze(settings, database, send_id, frozen.composed, frozen.snapshot)
    return frozen


def refreeze(
    settings: Settings,
    database: Database,
    send_id: int,
    composed: Composed,
    snapshot: Snapshot,
) -> None:
    """Replace a scheduled send's frozen content with ``composed`` and ``snapshot``.

    Refused (``ConflictError``) once the send has started: recipients may
    already have the old version, and the archive shows it.
    """
    check_header("Subject", composed.subject)
    with database.session() as session:
        send = store.get_send(session, send_id, lock=True)
        if composed.slug != send.issue_slug:
            raise MailerError(
                f"send #{send_id} is of issue {send.issue_slug!r}, not {composed.slug!r}"
            )
        if send.started_at is not None or send.status not in (
            SendStatus.SCHEDULED,
            SendStatus.PAUSED,
        ):
            raise ConflictError(
                f"send #{send_id} is {send.status} and has started or ended: "
                "what it sends can no longer change"
            )
        mailing_list = store.list_of(session, send)
        template_for(
            settings,
            mailing_list,
            issue_slug=composed.slug,
            subject=composed.subject,
            html=composed.html,
            text=composed.text,
            send_id=send_id,
        )
        if not snapshots.refreeze(
            session,
            send_id,
            subject=composed.subject,
            html=composed.html,
            text=composed.text,
            files=snapshot.files(),
            manifest=snapshot.manifest,
            now=utcnow(),
        ):
            raise ConflictError(f"send #{send_id} started meanwhile: it was not re-frozen")


def as_draft(settings: Settings, issue_slug: str, content: str, draft: str) -> str:
    """``content`` with every link into the issue's public web version sent to ``draft``.

    A test copy goes out before the issue is published; its "View in browser"
    and "Read more" links must open, so they point at a signed draft URL.
    """
    return content.replace(links.issue_url(settings, issue_slug), draft)


def send_test(
    settings: Settings,
    database: Database,
    composed: Composed,
    list_slug: str | ListSender,
    addresses: Sequence[str],
    transport: Transport | None = None,
) -> list[SendResult]:
    """Send a ``[TEST]`` copy to each address, personalised as them; records nothing.

    Its links to the web version open the signed draft pages (``links.draft_url``).
    ``list_slug`` may be the list as the freeze read it: it is not read again.
    """
    if isinstance(list_slug, ListSender):
        mailing_list = list_slug
    else:
        with database.session() as session:
            mailing_list = _sender(session, list_slug)
    draft = links.draft_url(settings, composed.slug)
    template = template_for(
        settings,
        mailing_list,
        issue_slug=composed.slug,
        subject=TEST_PREFIX + composed.subject,
        html=as_draft(settings, composed.slug, composed.html, draft),
        text=as_draft(settings, composed.slug, composed.text, draft),
        send_id=None,
        web_url=draft,
    )
    signer = RecipientLinks(settings, mailing_list.slug)
    own = transport is None
    used = transport or open_transport(settings)
    results = []
    try:
        for address in addresses:
            data = template.render(
                personal(
                    signer,
                    email=address,
                    name="",
                    attributes={},
                    hashed=email_hash(address),
                )
            )
            recipient = addr_spec("test address", address)
            results.append(used.send(OutgoingMessage(template.from_email, recipient, data)))
    finally:
        if own:
            used.close()
    return results


def test_addresses(raw: str | Sequence[str]) -> list[str]:
    """The test addresses in ``raw`` (separated by commas, semicolons or new lines), normalised.

    Both front doors check test addresses here: at least one, at most
    ``MAX_TEST_ADDRESSES``, each a valid address that is safe in a header.
    """
    parts = [raw] if isinstance(raw, str) else list(raw)
    found = [
        a.strip()
        for part in parts
        for a in part.replace(";", ",").replace("\n", ",").split(",")
        if a.strip()
    ]
    if not found:
        raise MailerError("give one or more test addresses, comma-separated")
    if len(found) > MAX_TEST_ADDRESSES:
        raise MailerError(f"at most {MAX_TEST_ADDRESSES} test addresses at a time")
    checked = []
    for address in found:
        try:
            check_header("test address", address)
        except UnsafeHeader as exc:
            raise MailerError(str(exc)) from exc
        try:
            checked.append(normalise_email(address))
        except InvalidEmail as exc:
            raise MailerError(f"test address {exc.message}") from exc
    return checked


@dataclass(frozen=True)
class TestCopy:
    """A test copy sent: of which issue, to whom, with the list-fit warnings."""

    issue_slug: str
    addresses: list[str]
    warnings: list[str] = field(default_factory=list)


def send_test_copy(
    settings: Settings,
    database: Database,
    issue: Issue,
    list_slug: str | None,
    addresses: str | Sequence[str],
) -> TestCopy:
    """Check ``addresses``, freeze ``issue`` for the list (the first one if none) and test it."""
    checked = test_addresses(addresses)
    frozen = freeze_for_list(settings, database, issue, list_slug or first_list(database))
    send_test(settings, database, frozen.composed, frozen.sender, checked)
    return TestCopy(frozen.composed.slug, checked, frozen.warnings)


def pause(database: Database, send_id: int, reason: str = "paused by the operator") -> None:
    with database.session() as session:
        send = store.get_send(session, send_id)
        if not store.set_status(
            session,
            send_id,
            SendStatus.PAUSED,
            reason=reason,
            only_from=[SendStatus.SCHEDULED, SendStatus.RUNNING],
        ):
            raise ConflictError(
                f"send #{send_id} is {send.status}: only a scheduled or running send can pause"
            )


def resume(database: Database, send_id: int, *, override: bool = False, by: str = "") -> str:
    """Resume a paused send; returns its new status (running, or scheduled if not started).

    A send its circuit breaker paused resumes only with ``override``, which is
    recorded on the send (the breaker stays quiet for the rest of it) and logged.
    """
    with database.session() as session:
        send = store.get_send(session, send_id)
        tripped = send.status == SendStatus.PAUSED and guardrails.tripped(send.status_reason)
        if tripped and not override:
            raise ConflictError(
                f"send #{send_id} was paused by its {send.status_reason}",
                hint=Hint.OVERRIDE_BREAKER,
            )
        target = SendStatus.RUNNING if send.started_at is not None else SendStatus.SCHEDULED
        if not store.set_status(session, send_id, target, only_from=[SendStatus.PAUSED]):
            raise ConflictError(f"send #{send_id} is {send.status}, not paused")
        if tripped:
            guard_store.mark_overridden(session, send_id, utcnow())
            log.warning(
                "send #%d resumed past its circuit breaker by %s (%s)",
                send_id,
                by or "an operator",
                send.status_reason,
            )
        return target


def cancel(database: Database, send_id: int) -> int:
    """Cancel a send; returns how many recipients will not get it."""
    with database.session() as session:
        send = store.get_send(session, send_id)
        if not store.set_status(
            session,
            send_id,
            SendStatus.CANCELLED,
            reason="cancelled by the operator",
            only_from=[SendStatus.SCHEDULED, SendStatus.RUNNING, SendStatus.PAUSED],
            finished_at=utcnow(),
        ):
            raise ConflictError(f"send #{send_id} is {send.status}: it cannot be cancelled")
        return store.counts(session, send_id)[RecipientStatus.QUEUED]


def retry(database: Database, send_id: int, status: str) -> int:
    """Queue a send's ``uncertain`` or ``failed`` recipients again; returns how many."""
    with database.session() as session:
        send = store.get_send(session, send_id)
        if send.status == SendStatus.CANCELLED:
            raise ConflictError(f"send #{send_id} was cancelled", hint=Hint.NEW_SEND)
        n = store.requeue(session, send_id, status)
        if n and send.status == SendStatus.DONE:
            store.set_status(
                session, send_id, SendStatus.RUNNING, only_from=[SendStatus.DONE], finished_at=None
            )
        return n
