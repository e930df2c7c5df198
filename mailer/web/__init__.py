"""The web app: editors preview and schedule, ops read reports, subscribers
subscribe and leave in one click. Build it with :func:`create_app`.

Where things live: ``app`` only assembles the application (state, routes,
middleware, error handlers); ``pages`` holds what every handler uses (the
``WebState``, ``render``, ``flash``, and ``error_text``, which words an
error's hint as this app's controls); ``auth`` logs editors in and guards
their pages (``login_required``); ``security`` has the headers, CSRF, rate
limits; ``errors`` renders every refusal, with the HTTP status the error
carries (``mailer.errors``). The other modules are pages, one area each, and
none of them imports ``app``: tests/test_imports.py keeps ``mailer/`` free of
import cycles.
"""

from __future__ import annotations

from starlette.applications import Starlette

from mailer.web.app import create_app

__all__ = ["app_from_environment", "create_app"]


def app_from_environment() -> Starlette:
    """Factory for ``uvicorn --factory`` (several workers): settings from MAILER_CONFIG."""
    from mailer.config import load_settings

    return create_app(load_settings())
