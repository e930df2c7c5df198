"""The web app factory: ``create_app(settings) -> Starlette``.

This module only assembles: the state (``pages.WebState``), the routes of
each page module, the middleware and the error handlers. What a handler
needs (``render``, ``flash``, ``web_state``) lives in ``pages``, the login
guard in ``auth``, so no page module imports this one.

One application serves the three kinds of users: editors and operators behind
a login under ``/admin/``, and subscribers on the public pages whose URLs
``mailer.links`` builds (unsubscribe, preferences, confirm, subscribe, archive,
feeds). Pages are rendered on the server with Jinja2; the little JavaScript
there is lives in ``static/`` (the CSP forbids inline script).
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from mailer.config import Settings
from mailer.db import Database
from mailer.keys import site_key
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
from mailer.web.errors import HANDLERS
from mailer.web.issues import IssueCache
from mailer.web.pages import HERE, WebState
from mailer.web.security import (
    BodyLimitMiddleware,
    LoginBackoff,
    RateLimiter,
    SecurityHeadersMiddleware,
)

SESSION_COOKIE = "mailer_session"
MAX_FORM_BYTES = 1_000_000


def _pool_size(db: Database) -> int:
    size = getattr(db.engine.pool, "size", None)
    return max(2, int(size())) if callable(size) else 5


def create_app(settings: Settings, database: Database | None = None) -> Starlette:
    """Build the web application for ``settings`` (and ``database``, made if not given)."""
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
    app.state.web = state
    return app
