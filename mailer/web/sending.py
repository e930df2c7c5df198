"""What the editors' forms ask of the delivery stage: test copies and scheduled sends.

The rules live in the deliver stage (``mailer.deliver.freeze``: compose for a
list, refuse lint errors, freeze; ``mailer.deliver.sends``: test addresses,
creating and re-freezing sends); here the form's fields become their
arguments, with the web app's cached issues.
"""

from __future__ import annotations

from collections.abc import Sequence

from mailer.deliver import freeze, sends
from mailer.errors import MailerError
from mailer.web.pages import WebState


def refreeze(state: WebState, send_id: int) -> None:
    """Freeze a scheduled send again from the issue's files as they are now."""
    sends.refreeze_from_files(state.settings, state.database, send_id, state.issues.issue)


def freeze_state(state: WebState, send_id: int) -> freeze.FreezeState:
    """When a send was frozen and, before it starts, how the issue's files differ since."""
    return freeze.freeze_state(state.settings, state.database, send_id, state.issues.issue)


def fit_warnings(state: WebState, slug: str, list_slug: str) -> list[str]:
    """Where issue ``slug`` differs from list ``list_slug`` in language or newsletter name."""
    return freeze.list_fit(state.database, state.issues.issue(slug), list_slug)


def test_send(
    state: WebState, slug: str, addresses: str | Sequence[str], list_slug: str | None
) -> int:
    """Send a ``[TEST]`` copy of ``slug`` to ``addresses``; returns how many went."""
    copy = sends.send_test_copy(
        state.settings, state.database, state.issues.issue(slug), list_slug, addresses
    )
    return len(copy.addresses)


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
    created = sends.send_issue(
        state.settings,
        state.database,
        state.issues.issue(slug),
        list_slug,
        at=at,
        again=again,
    )
    return created.send_id
