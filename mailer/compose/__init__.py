"""MJML/HTML/text out: compose an issue, lint it, and build its web version."""

from mailer.compose.build import BuildResult, LintFailed, build_issue
from mailer.compose.lint import LintResult
from mailer.compose.pipeline import ComposedIssue, compose_issue
from mailer.compose.system import render_system_email
from mailer.compose.web import render_web_pages

__all__ = [
    "BuildResult",
    "ComposedIssue",
    "LintFailed",
    "LintResult",
    "build_issue",
    "compose_issue",
    "render_system_email",
    "render_web_pages",
]
