"""What the editors' forms ask of the delivery stage: test copies and scheduled sends.

The issue is composed for the chosen list (its sender name and postal
address win, as with ``mailer send``), and refused while it has lint errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mailer.db import web as store
from mailer.deliver import sends
from mailer.errors import ConflictError, Hint, InvalidEmail, MailerError, ValidationError
from mailer.lists.addresses import normalise_email
from mailer.web.pages import WebState

MAX_TEST_ADDRESSES = 10


def compose_for_list(state: WebState, slug: str, list_slug: str) -> Any:
    """Compose issue ``slug`` for list ``list_slug``; refuse it while it has lint errors."""
    from mailer.compose import compose_issue

    issue = state.issues.issue(slug)
    sender = store.list_sender(state.database, list_slug)
    composed = compose_issue(
        issue,
        state.settings,
        postal_address=sender.postal_address or None,
        from_name=sender.from_name or None,
    )
    errors = [r for r in composed.lint if getattr(r, "level", "") == "error"]
    if errors:
        raise MailerError(f"the issue has {len(errors)} lint error(s): {errors[0].message}")
    return composed


def freeze_for_list(state: WebState, slug: str, list_slug: str) -> tuple[Any, Any]:
    """What a send of ``slug`` to ``list_slug`` freezes: the email and the web version."""
    from mailer.compose.snapshot import snapshot_issue

    composed = compose_for_list(state, slug, list_slug)
    return composed, snapshot_issue(state.issues.issue(slug), state.settings, list_slug)


def refreeze(state: WebState, send_id: int) -> None:
    """Freeze a scheduled send again from the issue's files as they are now."""
    row = store.send_row(state.database, send_id)
    if row.started_at is not None:
        raise ConflictError(f"send #{send_id} has started: what it sends can no longer change")
    composed, snapshot = freeze_for_list(state, row.issue_slug, row.list_slug)
    sends.refreeze(state.settings, state.database, send_id, composed, snapshot)


def freeze_state(state: WebState, send_id: int) -> dict[str, Any]:
    """When a send was frozen and, before it starts, how the issue's files differ since."""
    from mailer.compose.snapshot import changes, manifest_of

    row = store.send_row(state.database, send_id)
    frozen_at, manifest = store.send_manifest(state.database, send_id)
    out: dict[str, Any] = {"frozen_at": frozen_at, "changes": [], "problem": ""}
    if row.started_at is not None or row.status not in ("scheduled", "paused"):
        return out
    try:
        current = manifest_of(state.issues.issue(row.issue_slug), state.settings)
    except ValidationError as exc:
        first = exc.problems[0].message if exc.problems else exc.message
        out["problem"] = (
            f"the issue's files have problems now ({first}); the frozen version goes out"
        )
        return out
    except MailerError:
        out["problem"] = "the issue's folder is gone; the frozen version goes out"
        return out
    out["changes"] = changes(manifest, current)
    return out


def fit_warnings(state: WebState, slug: str, list_slug: str) -> list[str]:
    """Where issue ``slug`` differs from list ``list_slug`` in language or newsletter name."""
    from mailer.compose.fit import ListFacts, list_warnings

    issue = state.issues.issue(slug)
    sender = store.list_sender(state.database, list_slug)
    facts = ListFacts(sender.slug, sender.name, sender.from_name, sender.language)
    return list_warnings(issue.language, issue.newsletter.name, facts)


def _first_list(state: WebState) -> str:
    lists = store.public_lists(state.database)
    if not lists:
        raise MailerError("there is no list yet", hint=Hint.SYNC_LISTS)
    return lists[0].slug


def test_send(state: WebState, slug: str, addresses: Sequence[str], list_slug: str | None) -> int:
    """Send a ``[TEST]`` copy of ``slug`` to ``addresses``; returns how many went."""
    if len(addresses) > MAX_TEST_ADDRESSES:
        raise MailerError(f"at most {MAX_TEST_ADDRESSES} test addresses at a time")
    checked = []
    for raw in addresses:
        try:
            checked.append(normalise_email(raw))
        except InvalidEmail as exc:
            raise MailerError(f"{raw!r}: {exc.message}") from exc
    list_slug = list_slug or _first_list(state)
    composed = compose_for_list(state, slug, list_slug)
    sends.send_test(state.settings, state.database, composed, list_slug, checked)
    return len(checked)


def schedule(
    state: WebState,
    slug: str,
    list_slug: str,
    now: bool,
    date: str,
    time: str,
    zone: str,
    again: bool,
) -> int:
    """Create a send of ``slug`` to ``list_slug``, due now or at ``date time`` in ``zone``."""
    if not list_slug:
        raise MailerError("choose a list")
    at = None
    if not now:
        if not date or not time:
            raise MailerError("give a date and a time, or press Send now")
        at = sends.parse_when(f"{date} {time}", zone or state.settings.site.timezone)
    composed, snapshot = freeze_for_list(state, slug, list_slug)
    send = sends.create_send(
        state.settings,
        state.database,
        composed,
        list_slug,
        at=at,
        again=again,
        snapshot=snapshot,
    )
    return int(send.id)
