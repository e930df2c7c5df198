"""The web app factory: ``create_app(settings) -> Starlette``.

One application serves the three kinds of users: editors and operators behind
a login under ``/admin/``, and subscribers on the public pages whose URLs
``mailer.links`` builds (unsubscribe, preferences, confirm, subscribe, archive,
feeds). Pages are rendered on the server with Jinja2; the little JavaScript
there is lives in ``static/`` (the CSP forbids inline script).
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import jinja2
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from mailer import __version__
from mailer.clock import local_time
from mailer.config import Settings
from mailer.db import Database
from mailer.keys import site_key
from mailer.web.errors import HANDLERS
from mailer.web.i18n import translations
from mailer.web.issues import IssueCache
from mailer.web.security import (
    CSRF_FIELD,
    SESSION_USER,
    BodyLimitMiddleware,
    LoginBackoff,
    RateLimiter,
    SecurityHeadersMiddleware,
    session_csrf_token,
)

HERE = Path(__file__).resolve().parent
T = TypeVar("T")
SESSION_COOKIE = "mailer_session"
MAX_FORM_BYTES = 1_000_000


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
    snapshots: Any = None  # archive.SnapshotCache, made in create_app

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking ``fn(*args)`` (database, composing) in a worker thread.

        At most as many run at once as the database pool keeps connections:
        beyond that, SQLAlchemy opens and closes a connection per request, which
        on PostgreSQL costs more than the request itself.
        """
        return await anyio.to_thread.run_sync(partial(fn, *args), limiter=self.threads)


def web_state(request: Request) -> WebState:
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


def flash(request: Request, message: str, kind: str = "ok") -> None:
    """Show ``message`` on the next page the editor sees."""
    request.session["flash"] = {"message": message, "kind": kind}


def _pool_size(db: Database) -> int:
    size = getattr(db.engine.pool, "size", None)
    return max(2, int(size())) if callable(size) else 5


def create_app(settings: Settings, database: Database | None = None) -> Starlette:
    """Build the web application for ``settings`` (and ``database``, made if not given)."""
    from mailer.web import (
        auth,
        drafting,
        editing,
        editors,
        members,
        ops,
        public,
        subscribers,
        welcome,
    )

    db = database or Database.from_settings(settings)
    owns_db = database is None
    state = WebState(
        settings=settings,
        database=db,
        subscribe_limiter=RateLimiter(settings.web.subscribe_per_minute),
        login_limiter=RateLimiter(settings.web.login_per_minute),
        login_backoff=LoginBackoff(settings.web.login_account_failures),
        issues=IssueCache(settings),
        threads=anyio.CapacityLimiter(_pool_size(db)),
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # What exists once the app is up (modules, templates, the engine) lives
        # as long as the process: keep it out of the collector's full passes,
        # which otherwise stall every request for tens of milliseconds.
        gc.collect()
        gc.freeze()
        yield
        if owns_db:
            db.dispose()

    routes: list[BaseRoute] = [
        *auth.routes,
        *editors.routes,
        *drafting.routes,
        *editing.routes,
        *ops.routes,
        *welcome.routes,
        *subscribers.routes,
        *members.routes,
        *public.routes,
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeadersMiddleware),
        Middleware(
            BodyLimitMiddleware,
            # Forms are small; only the SNS webhook may bring more, up to its own limit.
            limit=max(MAX_FORM_BYTES, settings.events.max_body_bytes),
            upload_limit=settings.web.max_upload_mb * 1_000_000,
            upload_path=members.UPLOAD_PATH,
        ),
        Middleware(
            SessionMiddleware,
            # Sessions take the current key only: a rotation logs everyone out.
            secret_key=site_key(settings),
            session_cookie=SESSION_COOKIE,
            max_age=settings.web.session_hours * 3600,
            same_site="lax",
            https_only=settings.web.secure_cookies,
        ),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers=HANDLERS,
        lifespan=lifespan,
    )
    from mailer.web.archive import SnapshotCache

    state.snapshots = SnapshotCache()
    app.state.web = state
    return app
