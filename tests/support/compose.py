"""The compose tests' kit: the shipped sample issues, and small issues of a test's own."""

from __future__ import annotations

from pathlib import Path

from mailer.config import Settings
from mailer.content import Issue, load_issue
from tests.support.paths import ROOT

ENGLISH = "ai2x-briefing-2026-01-12"
ARTICLE = "china-6g-ai-plus-2024-03-09"
DUTCH = "china-tech-2025-01-27"
SAMPLES = [ENGLISH, ARTICLE, DUTCH]


def sample_path(slug: str) -> Path:
    """The folder of the shipped sample issue ``slug``."""
    return ROOT / "issues" / slug


def make_issue(tmp_path: Path, settings: Settings, toml: str) -> Issue:
    """Write ``toml`` as the issue ``safety`` under ``tmp_path`` and load it."""
    folder = tmp_path / "issues" / "safety"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "issue.toml").write_text(toml, encoding="utf-8")
    return load_issue(folder, settings)
