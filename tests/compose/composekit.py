"""Helpers of the compose tests (a uniquely named module: test folders have no packages)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.conftest import need  # noqa: E402

ENGLISH = "ai2x-briefing-2026-01-12"
ARTICLE = "china-6g-ai-plus-2024-03-09"
DUTCH = "china-tech-2025-01-27"
SAMPLES = [ENGLISH, ARTICLE, DUTCH]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

__all__ = ["need"]


def sample_path(slug: str) -> Path:
    return ROOT / "issues" / slug
