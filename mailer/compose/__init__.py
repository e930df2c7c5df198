"""MJML/HTML/text out: compose an issue, lint it, and build its web version.

The public names load their modules on first use (PEP 562), so code that only
needs ``mailer.compose.placeholders`` (delivery, the web app) does not pull in
MJML, premailer and Babel.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mailer.compose.build import BuildResult, build_issue
    from mailer.compose.lint import LintResult
    from mailer.compose.pipeline import ComposedIssue, compose_issue
    from mailer.compose.system import render_system_email
    from mailer.compose.web import render_web_pages

_HOMES = {
    "BuildResult": "build",
    "build_issue": "build",
    "LintResult": "lint",
    "ComposedIssue": "pipeline",
    "compose_issue": "pipeline",
    "render_system_email": "system",
    "render_web_pages": "web",
}

__all__ = [
    "BuildResult",
    "ComposedIssue",
    "LintResult",
    "build_issue",
    "compose_issue",
    "render_system_email",
    "render_web_pages",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'mailer.compose' has no attribute {name!r}")
    return getattr(importlib.import_module(f"mailer.compose.{home}"), name)
