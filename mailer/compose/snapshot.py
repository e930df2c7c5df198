"""A send's published snapshot: its web version, frozen with it, and what it was made of.

When a send is created (or re-frozen) its whole web version, whatever
``render_web_pages`` produces, is stored with it, so the public archive shows
what was sent however the issue's files change later. The manifest records
what the content was made of (subject, stories, a digest of every file) so a
scheduled send can say what changed in the files since it was frozen.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailer import links
from mailer.compose import placeholders
from mailer.config import Settings

if TYPE_CHECKING:
    from mailer.compose.pipeline import ComposedIssue
    from mailer.content.model import Issue

SOURCE_FILES = "files"
SOURCE_EMAIL = "email-html"


@dataclass(frozen=True)
class Snapshot:
    """The web version of an issue (relative path -> content) and its manifest."""

    pages: dict[str, str]
    manifest: dict[str, Any]

    def files(self) -> dict[str, tuple[str, str]]:
        """Relative path -> (media type, body), as stored with the send."""
        return {path: (media_type(path), body) for path, body in self.pages.items()}


def media_type(path: str) -> str:
    """The Content-Type a snapshot file is served with."""
    guessed = mimetypes.guess_type(path)[0] or "text/html"
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def folder_digests(folder: Path) -> dict[str, str]:
    """Relative path -> content digest of every file in ``folder`` (hidden files skipped)."""
    if not folder.is_dir():
        return {}
    return {
        path.relative_to(folder).as_posix(): _digest(path.read_bytes())
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not any(part.startswith(".") for part in path.parts[-1:])
    }


def _template_digest(settings: Settings, name: str) -> str:
    files = folder_digests(settings.path(settings.paths.templates_dir) / name)
    return _digest("\n".join(f"{k}\0{v}" for k, v in files.items()).encode())


def manifest_of(issue: Issue, settings: Settings) -> dict[str, Any]:
    """What ``issue`` is made of now: subject, stories, file and template digests."""
    return {
        "source": SOURCE_FILES,
        "subject": issue.subject_line,
        "title": issue.title,
        "preheader": issue.preheader or "",
        "language": issue.language,
        "newsletter": issue.newsletter.name,
        "stories": [
            {
                "slug": story.slug,
                "headline": story.headline or story.slug,
                "digest": _digest(story.model_dump_json().encode()),
            }
            for story in issue.stories()
        ],
        "files": folder_digests(issue.folder),
        "template": _template_digest(settings, issue.template or settings.compose.template),
    }


def snapshot_issue(issue: Issue, settings: Settings, list_slug: str | None = None) -> Snapshot:
    """The web version of ``issue`` as its files are now, with its manifest.

    With ``list_slug`` (the list the send goes to) its pages' subscribe links
    lead to that list's sign-up page.
    """
    from mailer.compose.web import render_web_pages

    pages = render_web_pages(issue, settings, list_slug=list_slug)
    return Snapshot(pages, manifest_of(issue, settings))


def freeze_issue(
    issue: Issue,
    settings: Settings,
    *,
    postal_address: str | None = None,
    from_name: str | None = None,
    list_slug: str | None = None,
) -> tuple[ComposedIssue, Snapshot]:
    """Everything a send freezes: the email composed for its list, and the web version."""
    from mailer.compose.pipeline import compose_issue

    composed = compose_issue(issue, settings, postal_address=postal_address, from_name=from_name)
    return composed, snapshot_issue(issue, settings, list_slug)


def email_as_web_page(html: str, issue_slug: str, settings: Settings | None) -> str:
    """A sent email's HTML as a public page: no per-recipient link or name left in it."""
    if settings is not None:
        issue_url, home = links.issue_url(settings, issue_slug), links.home_url(settings)
    else:
        # Relative links work in any browser when the base URL is unknown.
        issue_url, home = f"/issues/{issue_slug}/", "/"

    def value(match: Any) -> str:
        key = match.group(1)
        if key == "web_url":
            return issue_url
        if key in ("unsubscribe_url", "preferences_url"):
            return home
        return ""

    return placeholders.PATTERN.sub(value, html)


def snapshot_from_email(
    issue_slug: str, subject: str, html: str, settings: Settings | None
) -> Snapshot:
    """A snapshot of a send whose files are not at hand: its issue page from the email."""
    manifest = {
        "source": SOURCE_EMAIL,
        "subject": subject,
        "title": subject,
        "preheader": "",
        "language": "",
        "newsletter": "",
        "stories": [],
        "files": {},
        "template": "",
    }
    return Snapshot({"index.html": email_as_web_page(html, issue_slug, settings)}, manifest)


def snapshot_for_existing_send(
    settings: Settings | None, issue_slug: str, subject: str, html: str
) -> Snapshot:
    """The best snapshot for a send made before snapshots existed (or without one).

    From the issue's files when they still load and give the subject that was
    sent; otherwise (gone, broken, changed) from the email HTML stored with it.
    """
    if settings is not None:
        from mailer.content import load_issue

        folder = settings.path(settings.paths.issues_dir) / issue_slug
        if (folder / "issue.toml").is_file():
            try:
                issue = load_issue(folder, settings)
                if issue.subject_line == subject:
                    return snapshot_issue(issue, settings)
            except Exception:  # any failure: what was mailed is the truth we keep
                pass
    return snapshot_from_email(issue_slug, subject, html, settings)


def changes(frozen: dict[str, Any] | None, current: dict[str, Any]) -> list[str]:
    """What differs between a frozen manifest and the files now, one line each; [] if nothing."""
    if not frozen:
        return ["this send was frozen before mailer kept what it was made of"]
    out: list[str] = []
    if frozen.get("subject") != current.get("subject"):
        out.append(f"subject: “{frozen.get('subject')}” → “{current.get('subject')}”")
    if frozen.get("preheader") != current.get("preheader") and frozen.get("source") == SOURCE_FILES:
        out.append("preheader edited")
    if frozen.get("source") != SOURCE_FILES:
        if frozen.get("files") != current.get("files"):
            out.append("frozen from the sent email: stories cannot be compared one by one")
        return out
    old = {s["slug"]: s for s in frozen.get("stories", [])}
    new = {s["slug"]: s for s in current.get("stories", [])}
    out += [f"story added: “{new[s]['headline']}”" for s in new if s not in old]
    out += [f"story removed: “{old[s]['headline']}”" for s in old if s not in new]
    out += [
        f"story edited: “{new[s]['headline']}”"
        for s in new
        if s in old and new[s]["digest"] != old[s]["digest"]
    ]
    if frozen.get("template") != current.get("template"):
        out.append("template files changed")
    if not out and frozen.get("files") != current.get("files"):
        before, after = frozen.get("files", {}), current.get("files", {})
        names = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        out.append("files changed: " + ", ".join(names))
    return out
