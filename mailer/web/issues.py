"""Issue folders as the web app sees them: found, checked, composed, cached.

Also the archive's cache of sent issues' snapshots (``SnapshotCache``).

Composing costs tens of milliseconds, and one preview page asks for the same
email several times (desktop, mobile, dark), so results are cached under a
fingerprint of the issue's files and the templates: editing a file on disk
changes the fingerprint, which is also what the preview page polls to reload.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from mailer.config import Settings
from mailer.content import check_issue, load_issue
from mailer.errors import NotFoundError, Problem

SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")
ISSUE_FILE = "issue.toml"
T = TypeVar("T")
CACHED_SNAPSHOTS = 64


@dataclass(frozen=True)
class IssueSummary:
    slug: str
    title: str
    date: str
    language: str
    problems: list[Problem]


def issues_root(settings: Settings) -> Path:
    return settings.path(settings.paths.issues_dir)


def issue_folder(settings: Settings, slug: str) -> Path:
    """The folder of issue ``slug``; ``NotFoundError`` for unknown or unsafe names."""
    if not SLUG.match(slug) or ".." in slug:
        raise NotFoundError(f"no issue {slug!r}")
    folder = issues_root(settings) / slug
    if not (folder / ISSUE_FILE).is_file():
        raise NotFoundError(f"no issue {slug!r} in {settings.paths.issues_dir}/")
    return folder


def issue_slugs(settings: Settings) -> list[str]:
    root = issues_root(settings)
    if not root.is_dir():
        return []
    return sorted(
        p.name for p in root.iterdir() if (p / ISSUE_FILE).is_file() and SLUG.match(p.name)
    )


def fingerprint(settings: Settings, slug: str) -> str:
    """A short hash of every file the issue's email depends on (names, sizes, mtimes)."""
    digest = hashlib.sha256()
    for root in (issue_folder(settings, slug), settings.path(settings.paths.templates_dir)):
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                st = path.stat()
                digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


class IssueCache:
    """Results per (what, issue), valid while the issue's fingerprint stays the same."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._data: dict[tuple[str, str], tuple[str, float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, what: str, slug: str, make: Callable[[Path], T], max_age: float = 0.0) -> T:
        """``make(folder)``, cached until the issue's files change.

        With ``max_age`` a cached value younger than that many seconds is used
        without looking at the files again (public pages under load).
        """
        key = (what, slug)
        with self._lock:
            hit = self._data.get(key)
        now = time.monotonic()
        if hit is not None and max_age and now - hit[1] < max_age:
            fresh: T = hit[2]
            return fresh
        stamp = fingerprint(self.settings, slug)
        if hit is not None and hit[0] == stamp:
            with self._lock:
                self._data[key] = (stamp, now, hit[2])
            cached: T = hit[2]
            return cached
        value = make(issue_folder(self.settings, slug))
        with self._lock:
            self._data[key] = (stamp, now, value)
        return value

    def remember(self, key: str, max_age: float, make: Callable[[], T], keep: bool = True) -> T:
        """``make()``, kept for ``max_age`` seconds (answers that may be a little stale).

        ``keep=False`` keeps only answers that are not None: misses for names
        anyone can make up must not grow the cache.
        """
        now = time.monotonic()
        with self._lock:
            hit = self._data.get(("remember", key))
        if hit is not None and now - hit[1] < max_age:
            kept: T = hit[2]
            return kept
        value = make()
        if keep or value is not None:
            with self._lock:
                self._data[("remember", key)] = ("", now, value)
        return value

    def summary(self, slug: str) -> IssueSummary:
        def make(folder: Path) -> IssueSummary:
            problems = check_issue(folder, self.settings)
            title, date, language = slug, "", ""
            if not problems:
                issue = load_issue(folder, self.settings)
                title, date, language = issue.title, issue.date.isoformat(), issue.language
            return IssueSummary(slug, title, date, language, problems)

        return self.get("summary", slug, make)

    def issue(self, slug: str) -> Any:
        """The validated ``Issue`` (raises ``ValidationError`` listing its problems)."""
        return self.get("issue", slug, lambda folder: load_issue(folder, self.settings))

    def composed(self, slug: str) -> Any:
        """The ``ComposedIssue`` of ``slug`` (raises ``ValidationError`` when it has problems)."""
        from mailer.compose import compose_issue

        return self.get(
            "composed",
            slug,
            lambda folder: compose_issue(load_issue(folder, self.settings), self.settings),
        )

    def composed_for(self, slug: str, from_name: str, postal_address: str) -> Any:
        """The ``ComposedIssue`` of ``slug`` as a list with this sender and address sends it."""
        from mailer.compose import compose_issue

        return self.get(
            f"composed\0{from_name}\0{postal_address}",
            slug,
            lambda folder: compose_issue(
                load_issue(folder, self.settings),
                self.settings,
                postal_address=postal_address or None,
                from_name=from_name or None,
            ),
        )

    def web_pages(self, slug: str, max_age: float = 0.0) -> dict[str, str]:
        """The static web version of ``slug``: relative path -> HTML."""
        from mailer.compose import render_web_pages

        return self.get(
            "web",
            slug,
            lambda folder: render_web_pages(load_issue(folder, self.settings), self.settings),
            max_age,
        )


class SnapshotCache:
    """The snapshots of the most recently read sends, by send id.

    A published snapshot never changes (a re-freeze is refused once a send
    has started), so entries need no expiry, only a bound on their number.
    """

    def __init__(self, size: int = CACHED_SNAPSHOTS) -> None:
        self.size = size
        self._data: OrderedDict[int, dict[str, tuple[str, str]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, send_id: int, load: Any) -> dict[str, tuple[str, str]]:
        with self._lock:
            hit = self._data.get(send_id)
            if hit is not None:
                self._data.move_to_end(send_id)
                return hit
        pages: dict[str, tuple[str, str]] = load(send_id)
        with self._lock:
            self._data[send_id] = pages
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return pages
