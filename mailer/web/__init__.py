"""The web app: editors preview and schedule, ops read reports, subscribers
subscribe and leave in one click. Build it with :func:`create_app`."""

from __future__ import annotations

from starlette.applications import Starlette

from mailer.web.app import create_app

__all__ = ["app_from_environment", "create_app"]


def app_from_environment() -> Starlette:
    """Factory for ``uvicorn --factory`` (several workers): settings from MAILER_CONFIG."""
    from mailer.config import load_settings

    return create_app(load_settings())
