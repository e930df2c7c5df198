"""What every page handler reaches for: the app's state, ``render`` and ``flash``.

``WebState`` is what ``create_app`` (in ``app``) puts on the application and
``web_state`` hands back to a handler; ``render`` fills a template with what
every page expects (user, CSRF token, site timezone, the flash message), and
``error_text`` words an error's hint and field as this app's controls. The
route modules import these from here, and ``app`` imports the route modules:
nothing imports ``app`` but the package itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import jinja2
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from mailer import __version__
from mailer.clock import local_time
from mailer.config import Settings
from mailer.db import Database
from mailer.errors import Hint, MailerError
from mailer.web.i18n import translations
from mailer.web.issues import IssueCache, SnapshotCache
from mailer.web.security import (
    CSRF_FIELD,
    SESSION_USER,
    LoginBackoff,
    RateLimiter,
    session_csrf_token,
)

HERE = Path(__file__).resolve().parent
T = TypeVar("T")


@dataclass
class WebState:
    """What every request handler reaches through ``request.app.state.web``."""

    settings: Settings
    database: Database
    subscribe_limiter: RateLimiter
    login_limiter: RateLimiter
    login_backoff: LoginBackoff
    issues: IssueCache
    threads: anyio.CapacityLimiter
    snapshots: SnapshotCache = field(default_factory=SnapshotCache)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking ``fn(*args)`` (database, composing) in a worker thread.

        At most as many run at once as the database pool keeps connections:
        beyond that, SQLAlchemy opens and closes a connection per request, which
        on PostgreSQL costs more than the request itself.
        """
        return await anyio.to_thread.run_sync(partial(fn, *args), limiter=self.threads)


def web_state(request: Request) -> WebState:
    """The ``WebState`` of the app serving ``request``."""
    state = request.app.state.web
    assert isinstance(state, WebState)
    return state


@jinja2.pass_context
def _when(ctx: Any, when: Any) -> str:
    """A stored (naive UTC) time in the site's timezone, with its offset."""
    return local_time(when, str(ctx.get("site_timezone") or "UTC"))


@jinja2.pass_context
def _stamp(ctx: Any, when: datetime | None) -> Markup | str:
    """:func:`_when` for a table cell: one ``<time>`` that never wraps mid-value."""
    if not when:
        return "–"
    # Only digits, separators and a zone abbreviation go in: nothing to escape
    # (and a page of 50 rows calls this hundreds of times).
    shown = local_time(when, str(ctx.get("site_timezone") or "UTC"))
    return Markup(f'<time datetime="{when:%Y-%m-%dT%H:%M:%S}Z">{shown}</time>')


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    # English unless a page passes its own ``gettext`` (see ``render``).
    env.install_null_translations()  # type: ignore[attr-defined]
    env.filters["number"] = lambda n: f"{int(n or 0):,}"
    env.filters["percent"] = lambda r: f"{100 * float(r or 0):.1f}%"
    env.filters["when"] = _when
    env.filters["stamp"] = _stamp
    return Jinja2Templates(env=env)


TEMPLATES = _templates()


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Render template ``name`` with the context every page expects."""
    session = request.scope.get("session")
    user = session.get(SESSION_USER) if isinstance(session, dict) else None
    ctx: dict[str, Any] = {
        "user": user,
        "csrf_field": CSRF_FIELD,
        "csrf_token": session_csrf_token(request) if user else "",
        "version": __version__,
        "path": request.url.path,
        "site_timezone": _site_timezone(request),
        "flash": session.pop("flash", None) if isinstance(session, dict) and user else None,
    }
    ctx.update(context or {})
    if "language" in ctx:
        # Per render, not per environment: requests for different languages
        # run at the same time. {% trans %} looks ``gettext`` up here first.
        catalog = translations(str(ctx["language"]))
        ctx["gettext"], ctx["ngettext"] = catalog.gettext, catalog.ngettext
    return TEMPLATES.TemplateResponse(request, name, ctx, status_code=status, headers=headers)


def _site_timezone(request: Request) -> str:
    state = getattr(request.app.state, "web", None)
    return state.settings.site.timezone if isinstance(state, WebState) else "UTC"


# How this app words an error's field and hint (the CLI's words are in
# ``mailer.cli.hints``). A hint with no entry adds nothing: it names
# something only the command line can do.
FIELD_LABELS = {"timezone": "timezone"}
HINTS = {
    Hint.SEND_AGAIN: '; tick "Send again" to send it once more',
    Hint.CHOOSE_ENCODING: ", or choose the encoding below (e.g. latin-1)",
    Hint.SYNC_LISTS: " (lists are declared in files under lists/ and synced from there)",
    Hint.UNSUPPRESS: " (Unsuppress on their page lifts that)",
    Hint.SEND_CONFIRMATION: ': add them with "Send a confirmation email" ticked',
    Hint.OVERRIDE_BREAKER: '; to send on regardless, use "Resume past the breaker" and confirm',
}


def error_text(exc: MailerError) -> str:
    """``exc``'s message as the web app shows it: its field's label first, its hint after."""
    return exc.worded(FIELD_LABELS, HINTS)


def flash(request: Request, message: str, kind: str = "ok") -> None:
    """Show ``message`` on the next page the editor sees."""
    request.session["flash"] = {"message": message, "kind": kind}
