"""``mailer build``: compose an issue and write the email and its web version."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mailer.compose.pipeline import ComposedIssue, compose_issue
from mailer.compose.web import render_web_pages
from mailer.config import Settings
from mailer.content import Issue, load_issue
from mailer.errors import LintFailed


@dataclass(frozen=True)
class BuildResult:
    issue: Issue
    composed: ComposedIssue
    out_dir: Path
    files: list[Path]


def build_issue(path: Path, out_dir: Path | None, settings: Settings) -> BuildResult:
    """Load, compose and lint the issue at ``path``; write its files into ``out_dir``.

    ``out_dir`` defaults to ``<paths.build_dir>/<slug>``. Writes ``email.html``,
    ``email.txt`` and ``web/`` (the issue page and one page per story). Raises
    ``ValidationError`` for a bad issue and ``LintFailed`` for lint errors.
    """
    issue = load_issue(path, settings)
    composed = compose_issue(issue, settings)
    if composed.errors:
        raise LintFailed(composed.lint)
    pages = render_web_pages(issue, settings)
    target = out_dir or settings.path(settings.paths.build_dir) / issue.slug
    outputs = {"email.html": composed.html, "email.txt": composed.text}
    outputs.update({f"web/{rel}": html for rel, html in pages.items()})
    written: list[Path] = []
    for rel, content in outputs.items():
        file = target / rel
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(content, encoding="utf-8")
        written.append(file)
    return BuildResult(issue, composed, target, written)
