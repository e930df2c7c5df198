"""Fixtures of the content tests: small issues written into a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.content import MINIMAL, WriteIssue


@pytest.fixture
def write_issue(tmp_path: Path) -> WriteIssue:
    """``write_issue(toml, slug=..., **files)`` -> the issue folder (``issues/<slug>/``).

    File names use ``__`` for ``/`` (``stories__a.md`` -> ``stories/a.md``).
    """

    def write(toml: str = MINIMAL, slug: str = "weekly", **files: str | bytes) -> Path:
        folder = tmp_path / "issues" / slug
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "issue.toml").write_text(toml, encoding="utf-8")
        for name, content in files.items():
            target = folder / name.replace("__", "/")
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
        return folder

    return write
