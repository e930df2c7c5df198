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
from datetime import UTC, datetime
from typing import Protocol
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
from mailer.deliver.mime import addr_spec, check_header
from mailer.deliver.tokens import RecipientLinks
from mailer.deliver.transports import OutgoingMessage, SendResult, open_transport
from mailer.deliver.transports.base import Transport
from mailer.errors import ConflictError, Hint, MailerError
from mailer.lists.addresses import email_hash
from mailer.status import RecipientStatus, SendStatus

TEST_PREFIX = "[TEST] "
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
    list_slug: str,
    *,
    at: datetime | None = None,
    again: bool = False,
    snapshot: Snapshot | None = None,
) -> Send:
    """Create a send of ``composed`` to ``list_slug``: due now, or at ``at`` (naive UTC).

    ``snapshot`` is the web version frozen with it (``freeze_issue``); without
    one it is built from the issue's files when they give the same subject,
    else from the email itself.
    """
    check_header("Subject", composed.subject)
    if snapshot is None:
        snapshot = snapshot_for_existing_send(
            settings, composed.slug, composed.subject, composed.html
        )
    with database.session() as session:
        mailing_list = get_list(session, list_slug)
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
                f"issue {composed.slug!r} already went to list {list_slug!r} "
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
    list_slug: str,
    addresses: Sequence[str],
    transport: Transport | None = None,
) -> list[SendResult]:
    """Send a ``[TEST]`` copy to each address, personalised as them; records nothing.

    Its links to the web version open the signed draft pages (``links.draft_url``).
    """
    with database.session() as session:
        mailing_list = get_list(session, list_slug)
        session.expunge(mailing_list)
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
                f"send #{send_id} was paused by its {send.status_reason}; "
                "to send on regardless, resume with --override"
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
