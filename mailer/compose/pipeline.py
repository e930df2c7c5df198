"""Issue in, email out: Jinja2 -> MJML -> HTML (mjml-python) -> inlined CSS (premailer).

Measured quirks this module works around (mjml-python 1.4.2, premailer 3.10):
``mj-style inline="inline"`` rules stay in ``<head>``, so premailer inlines
them; premailer drops a lower-case ``<!doctype html>``, so it is put back; and
premailer looks up CSS ``@import``s even with ``allow_network=False``, so
MJML's default web fonts are switched off and any ``@import`` is removed
before inlining.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import cssutils
from mjml import mjml2html
from premailer import Premailer

from mailer.compose.context import issue_context
from mailer.compose.environment import render
from mailer.compose.lint import LintResult, lint_html
from mailer.compose.tagging import tag_links
from mailer.config import Settings
from mailer.content.model import Issue
from mailer.errors import TemplateError

T = TypeVar("T")
_DOCTYPE = re.compile(r"^\s*<!doctype[^>]*>\s*", re.IGNORECASE)
_IMPORT = re.compile(r"@import\s+(?:url\()?[^;]*;", re.IGNORECASE)
# External stylesheets (mj-font web fonts): premailer would try to load them.
_STYLESHEET_LINK = re.compile(r"<link\b[^>]*\bstylesheet\b[^>]*>", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*){2,}")

# premailer logs every CSS property cssutils does not know (mso-*, -webkit-*).
logging.getLogger("CSSUTILS").setLevel(logging.CRITICAL)
# premailer validates every inline style with cssutils even when told not to
# (merge_styles ignores disable_validation). Validation only logs, never
# changes the output, and compiling its property profiles costs ~150 ms per
# process, a tenth of a `mailer build`: with no profiles nothing is validated.
cssutils.profile.removeProfile(all=True)


@dataclass
class ComposedIssue:
    """An issue ready for delivery; placeholders still in ``html`` and ``text``."""

    slug: str
    subject: str
    preheader: str
    language: str
    html: str
    text: str
    lint: list[LintResult]
    from_name: str
    postal_address: str | None
    web_url: str
    timings: dict[str, float] = field(default_factory=dict)
    # Every link of the email with its SES link tag and story (mailer.compose.tagging).
    links: list[dict[str, Any]] = field(default_factory=list)

    @property
    def errors(self) -> list[LintResult]:
        return [r for r in self.lint if r.level == "error"]

    @property
    def warnings(self) -> list[LintResult]:
        return [r for r in self.lint if r.level == "warning"]


def _timed(timings: dict[str, float], name: str, fn: Callable[[], T]) -> T:
    start = time.perf_counter()
    result = fn()
    timings[name] = timings.get(name, 0.0) + (time.perf_counter() - start) * 1000
    return result


def compile_mjml(source: str) -> str:
    """MJML to HTML with mjml-python; no web fonts are added."""
    try:
        return mjml2html(source, fonts={})
    except Exception as exc:  # mjml-python raises plain exceptions for bad markup
        raise TemplateError(f"MJML does not compile: {exc}") from exc


def inline_css(html: str) -> str:
    """Inline every ``<style>`` rule premailer can (media queries stay), offline."""
    html = _DOCTYPE.sub("", html)
    html = _STYLESHEET_LINK.sub("", _IMPORT.sub("", html))
    inlined = Premailer(
        html,
        allow_network=False,
        allow_loading_external_files=False,
        disable_validation=True,
        cssutils_logging_level=logging.CRITICAL,
        remove_classes=False,
        keep_style_tags=False,
        strip_important=False,
        cache_css_parsing=True,
        # premailer would copy CSS widths into width="100%" attributes, which
        # Outlook applies literally to images; MJML already sets the right ones.
        disable_basic_attributes=["width", "height"],
    ).transform()
    return "<!DOCTYPE html>\n" + _DOCTYPE.sub("", inlined)


def tidy_text(text: str) -> str:
    """At most one blank line in a row, no trailing spaces, one final newline."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)) + "\n"


def template_dir(settings: Settings) -> Path:
    return settings.path(settings.paths.templates_dir)


def render_email(
    templates: Path,
    name: str,
    language: str,
    context: dict[str, Any],
    timings: dict[str, float] | None = None,
    inline: bool = True,
) -> tuple[str, str]:
    """Render ``<name>/email.mjml.j2`` and ``<name>/email.txt.j2``: (html, text).

    ``inline=False`` keeps the CSS in ``<style>`` blocks: enough for a web
    page in a browser, and it skips the costliest step.
    """
    t = timings if timings is not None else {}
    mjml = _timed(t, "jinja", lambda: render(templates, f"{name}/email.mjml.j2", language, context))
    raw = _timed(t, "mjml", lambda: compile_mjml(mjml))
    if inline:
        html = _timed(t, "inline", lambda: inline_css(raw))
    else:
        html = "<!DOCTYPE html>\n" + _DOCTYPE.sub("", raw)
    text = _timed(
        t,
        "text",
        lambda: tidy_text(render(templates, f"{name}/email.txt.j2", language, context, html=False)),
    )
    return html, text


def compose_issue(
    issue: Issue,
    settings: Settings,
    *,
    postal_address: str | None = None,
    from_name: str | None = None,
    web: bool = False,
    list_slug: str | None = None,
) -> ComposedIssue:
    """Compose ``issue`` into HTML and text with per-recipient placeholders, and lint it.

    ``postal_address`` and ``from_name`` come from the list at send time and
    win over the issue's ``[newsletter]`` block and the configuration.
    ``web`` renders the public web version: no personal links, CSS left in
    ``<style>`` blocks for the browser; its subscribe link goes to
    ``list_slug``'s sign-up page when given.
    """
    timings: dict[str, float] = {}
    start = time.perf_counter()
    context = _timed(
        timings,
        "context",
        lambda: issue_context(
            issue,
            settings,
            web=web,
            postal_address=postal_address,
            from_name=from_name,
            list_slug=list_slug,
        ),
    )
    name = issue.template or settings.compose.template
    # The web version is for browsers, which read <style> blocks themselves.
    html, text = render_email(
        template_dir(settings), name, issue.language, context, timings, inline=not web
    )
    view = context["issue"]
    link_map: list[dict[str, Any]] = []
    if not web:
        stories = [story for section in context["sections"] for story in section.stories]
        html, link_map = _timed(timings, "tag", lambda: tag_links(html, stories))
    lint = _timed(
        timings,
        "lint",
        lambda: lint_html(
            html,
            preheader=issue.preheader,
            max_bytes=settings.compose.max_html_bytes,
            personal_links=not web,
        ),
    )
    if not view.postal_address and not web:
        lint.append(
            LintResult(
                "warning",
                "postal-address",
                "no postal address in the footer (anti-spam laws require one): set "
                "[newsletter] postal_address, the list's, or compose.postal_address",
            )
        )
    timings["total"] = (time.perf_counter() - start) * 1000
    return ComposedIssue(
        slug=issue.slug,
        subject=issue.subject_line,
        preheader=issue.preheader or "",
        language=issue.language,
        html=html,
        text=text,
        lint=lint,
        from_name=view.from_name,
        postal_address=view.postal_address,
        web_url=context["links"].issue_url,
        timings=timings,
        links=link_map,
    )
