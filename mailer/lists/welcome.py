"""Welcome mail: the message a list sends once, when a subscription becomes active.

A list file names its welcome with ``welcome = "…"``, either

- a *message folder* under the lists folder (``welcome = "welcome/china-ai2x"``
  for ``lists/welcome/china-ai2x/``) holding ``message.toml`` with a
  ``subject``, an optional ``preheader`` and a Markdown ``body`` (or
  ``body_file``), shown in the shipped ``templates/welcome/`` layout; or
- a *template folder* under ``templates/`` with ``email.mjml.j2``,
  ``email.txt.j2`` and ``subject.txt.j2``, like ``templates/confirm/``.

Either is written in the list's language; the template's own words follow it.
The welcome is queued (``mailer.deliver.queue``) in the transaction that
makes the subscription active: on confirmation, on a single opt-in sign-up,
on ``subscribers add --welcome`` and on ``subscribers import --welcome``,
never on a plain import. ``subscriptions.welcomed_at`` is claimed with the
queueing, so nobody is welcomed twice, whatever happens to their
subscription later.
"""

from __future__ import annotations

import html as html_lib
import logging
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from mailer import links
from mailer.clock import utcnow
from mailer.compose import placeholders
from mailer.config import Settings
from mailer.db import Database, history, welcomes
from mailer.db import subscribers as store
from mailer.db.models import MailingList, Subscriber
from mailer.deliver import queue
from mailer.deliver.tokens import RecipientLinks
from mailer.errors import MailerError, NotFoundError, Problem, ValidationError

log = logging.getLogger(__name__)

MESSAGE_FILE = "message.toml"
LAYOUT = "welcome"  # the template folder that lays out message folders
TEMPLATE_FILES = ("email.mjml.j2", "email.txt.j2", "subject.txt.j2")
_MESSAGE_KEYS = ("subject", "preheader", "body", "body_file")


@dataclass(frozen=True)
class WelcomeSource:
    """Where a list's welcome comes from."""

    ref: str
    folder: Path
    template: str  # the template folder that renders it
    is_message: bool  # a message folder (message.toml), not a template folder


@dataclass(frozen=True)
class WelcomeMessage:
    """The contents of a message folder's ``message.toml``."""

    subject: str
    preheader: str
    body: str  # Markdown


@dataclass(frozen=True)
class RenderedWelcome:
    """A welcome composed once per list, with the per-recipient placeholders still in."""

    subject: str
    html: str
    text: str


def resolve(ref: str, lists_dir: Path, templates_dir: Path, file: str) -> WelcomeSource:
    """The source ``welcome = ref`` names in list file ``file``; ``ValidationError`` if none."""
    ref = ref.strip().strip("/")
    where = Problem(file, "welcome", "")
    if not ref or ".." in Path(ref).parts or Path(ref).is_absolute():
        raise ValidationError(
            [Problem(where.file, where.path, "must name a folder inside the lists folder")]
        )
    folder = lists_dir / ref
    if (folder / MESSAGE_FILE).is_file():
        return WelcomeSource(ref, folder, LAYOUT, True)
    template = templates_dir / ref
    if all((template / name).is_file() for name in TEMPLATE_FILES):
        return WelcomeSource(ref, template, ref, False)
    raise ValidationError(
        [
            Problem(
                file,
                "welcome",
                f"no {ref}/{MESSAGE_FILE} in {lists_dir} and no template folder {ref!r} "
                f"with {', '.join(TEMPLATE_FILES)} in {templates_dir}",
            )
        ]
    )


def read_message(folder: Path) -> WelcomeMessage:
    """Read and check ``message.toml``; every problem names the file and the field."""
    path = folder / MESSAGE_FILE
    file = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError([Problem(file, "", f"cannot be read: {exc}")]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError([Problem(file, "", f"not valid TOML: {exc}")]) from exc
    problems = [
        Problem(file, key, f"unknown field (known: {', '.join(_MESSAGE_KEYS)})")
        for key in sorted(set(data) - set(_MESSAGE_KEYS))
    ]
    for key in _MESSAGE_KEYS:
        if key in data and not (isinstance(data[key], str) and data[key].strip()):
            problems.append(Problem(file, key, "must be non-empty text in quotes"))
    subject = data.get("subject")
    if "subject" not in data:
        problems.append(Problem(file, "subject", "required field is missing"))
    elif isinstance(subject, str) and ("\n" in subject.strip() or len(subject) > 300):
        problems.append(Problem(file, "subject", "must be one line of at most 300 characters"))
    body = data.get("body")
    body_file = data.get("body_file")
    if (body is None) == (body_file is None):
        problems.append(Problem(file, "body", "give either body or body_file (Markdown)"))
    elif isinstance(body_file, str) and body_file.strip():
        target = (folder / body_file).resolve()
        if not target.is_relative_to(folder.resolve()) or not target.is_file():
            problems.append(Problem(file, "body_file", f'file "{body_file}" not found in {folder}'))
        else:
            try:
                body = target.read_text(encoding="utf-8-sig")
            except UnicodeDecodeError as exc:
                problems.append(
                    Problem(
                        file, "body_file", f'file "{body_file}" is not UTF-8 (byte {exc.start})'
                    )
                )
    if problems:
        raise ValidationError(problems)
    return WelcomeMessage(str(subject).strip(), str(data.get("preheader", "")).strip(), str(body))


def source_of(settings: Settings, lst: MailingList) -> WelcomeSource | None:
    """The list's welcome source, or None when the list has no welcome."""
    if not lst.welcome:
        return None
    file = str(settings.path(settings.paths.lists_dir) / f"{lst.slug}.toml")
    return resolve(
        lst.welcome,
        settings.path(settings.paths.lists_dir),
        settings.path(settings.paths.templates_dir),
        file,
    )


def render(settings: Settings, lst: MailingList) -> RenderedWelcome:
    """Compose the list's welcome once; ``NotFoundError`` if the list has none.

    The result holds the per-recipient placeholders (``%%unsubscribe_url%%``,
    ``%%subscriber.name%%`` …) that ``personalise`` fills in.
    """
    # Imported here: composing pulls in the MJML/premailer stack.
    from mailer.compose import render_system_email
    from mailer.compose.context import SubscriberPlaceholders
    from mailer.content import markdown

    source = source_of(settings, lst)
    if source is None:
        raise NotFoundError(f"list {lst.slug} has no welcome message (set welcome in its file)")
    context: dict[str, Any] = {
        "list": {
            "slug": lst.slug,
            "name": lst.name,
            "description": lst.description,
            "from_name": lst.from_name,
            "postal_address": lst.postal_address,
        },
        "list_name": lst.name,
        "links": {
            "unsubscribe_url": placeholders.UNSUBSCRIBE_URL,
            "preferences_url": placeholders.PREFERENCES_URL,
            "archive_url": links.archive_url(settings),
        },
        "subscriber": SubscriberPlaceholders(),
    }
    if source.is_message:
        message = read_message(source.folder)
        context["welcome"] = {
            "subject": message.subject,
            "preheader": message.preheader,
            "body_html": markdown.to_html(message.body, top_heading=1),
            "body_text": markdown.to_text(message.body),
        }
    subject, html, text = render_system_email(source.template, lst.language, context, settings)
    return RenderedWelcome(subject, html, text)


def personalise(
    rendered: RenderedWelcome, settings: Settings, lst: MailingList, sub: Subscriber
) -> tuple[str, str, str, dict[str, str]]:
    """``(subject, html, text, headers)`` of the welcome for one subscriber.

    The queue delivers messages as they are, so the placeholders are filled
    here, with the same signed links a send would use, and the message gets
    the RFC 8058 one-click unsubscribe headers like every list mail.
    """
    unsubscribe, preferences = RecipientLinks(settings, lst.slug).urls(sub.email_hash)
    values = {
        "unsubscribe_url": unsubscribe,
        "preferences_url": preferences,
        "subscriber.name": sub.name or "",
        "subscriber.email": sub.email,
    }

    def fill(text: str, escape: bool) -> str:
        def one(match: Any) -> str:
            key = match.group(1)
            if key in values:
                value = values[key]
            elif key.startswith("subscriber.attributes."):
                value = str((sub.attributes or {}).get(key.split(".", 2)[2], ""))
            else:
                value = ""
            return html_lib.escape(value, quote=True) if escape else value

        return placeholders.PATTERN.sub(one, text)

    headers = {
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    return (
        fill(rendered.subject, False),
        fill(rendered.html, True),
        fill(rendered.text, False),
        headers,
    )


def queue_welcome(
    session: Session,
    settings: Settings,
    lst: MailingList,
    sub: Subscriber,
    rendered: RenderedWelcome | None = None,
) -> int | None:
    """Queue the list's welcome for ``sub`` if it has one and they never got it.

    Call it in the transaction that made the subscription active. Returns
    the queue id, or None when there is nothing to send (no welcome, already
    welcomed, not active, suppressed). A welcome that cannot be composed
    (its folder broken since the last ``lists sync``) is logged and skipped:
    it never stops the subscription itself.
    """
    if not lst.welcome or not welcomes.may_welcome(session, lst.id, sub.id):
        return None
    if store.is_suppressed(session, sub.email):
        return None
    if rendered is None:
        try:
            rendered = render(settings, lst)
        except MailerError as exc:
            log.error("welcome for %s not sent: %s", lst.slug, exc)
            return None
    if not welcomes.claim(session, lst.id, sub.id, utcnow()):
        return None
    queued = _enqueue(session, settings, lst, sub, rendered, kind="welcome")
    history.record(
        session,
        sub.email,
        "welcome queued",
        actor="system",
        list_slug=lst.slug,
        detail=f"welcome mail #{queued}: {rendered.subject}",
    )
    return queued


def _enqueue(
    session: Session,
    settings: Settings,
    lst: MailingList,
    sub: Subscriber,
    rendered: RenderedWelcome,
    kind: str,
) -> int:
    subject, html, text, headers = personalise(rendered, settings, lst, sub)
    return queue.enqueue(
        session,
        kind=kind,
        to=sub.email,
        to_name=sub.name or "",
        subject=subject,
        html=html,
        text=text,
        from_email=lst.from_email,
        from_name=lst.from_name,
        reply_to=lst.reply_to,
        headers=headers,
        subscriber_id=sub.id if kind == "welcome" else None,
        list_id=lst.id,
    )


def queue_for_import(
    session: Session, settings: Settings, lst: MailingList, reason: str, since: datetime
) -> int:
    """Welcome everyone an import just made active on ``lst``; return how many were queued.

    Runs inside the import's transaction (a dry run rolls it back with the
    rest). The welcome is composed once and personalised per person.
    """
    if not lst.welcome:
        return 0
    rendered = render(settings, lst)
    count = 0
    for sub in welcomes.activated_by(session, lst.id, reason, since):
        if welcomes.claim(session, lst.id, sub.id, utcnow()):
            _enqueue(session, settings, lst, sub, rendered, kind="welcome")
            count += 1
    return count


def preview(db: Database, settings: Settings, list_slug: str) -> RenderedWelcome:
    """The list's welcome as subscribers will see it, placeholders shown as sample text."""
    with db.session() as session:
        lst = store.get_list(session, list_slug)
        session.expunge(lst)
    rendered = render(settings, lst)
    sample = Subscriber(
        id=0,
        email="reader@example.org",
        email_hash="0" * 64,
        name="Reader",
        attributes={},
    )
    subject, html, text, _ = personalise(rendered, settings, lst, sample)
    return RenderedWelcome(subject, html, text)


def preview_page(
    db: Database, settings: Settings, list_slug: str
) -> tuple[MailingList, RenderedWelcome | None, list[str]]:
    """The list, its welcome as :func:`preview` shows it, and why it cannot be shown.

    The welcome is None when the list has none or it is broken; the problems
    then say what is wrong (one line each), for the list's welcome page.
    """
    with db.session() as session:
        lst = store.get_list(session, list_slug)
        session.expunge(lst)
    if not lst.welcome:
        return lst, None, []
    try:
        return lst, preview(db, settings, list_slug), []
    except ValidationError as exc:
        return lst, None, [str(p) for p in exc.problems]
    except MailerError as exc:
        return lst, None, [exc.message]


def send_test(db: Database, settings: Settings, list_slug: str, to: str) -> int:
    """Queue a test copy of the list's welcome to ``to``; the worker delivers it.

    A test copy marks nobody as welcomed and is kept apart (kind
    ``welcome-test``) from real welcomes.
    """
    from mailer.lists.addresses import normalise_email

    address = normalise_email(to)
    with db.session() as session:
        lst = store.get_list(session, list_slug)
        rendered = render(settings, lst)
        tester = Subscriber(id=0, email=address, email_hash="0" * 64, name="", attributes={})
        subject, html, text, _ = personalise(rendered, settings, lst, tester)
        return queue.enqueue(
            session,
            kind="welcome-test",
            to=address,
            subject=f"[TEST] {subject}",
            html=html,
            text=text,
            from_email=lst.from_email,
            from_name=lst.from_name,
            reply_to=lst.reply_to,
            list_id=lst.id,
        )
