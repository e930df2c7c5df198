"""The content tests' kit: a minimal valid issue.toml, and the type of ``write_issue``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

MINIMAL = """
title = "Weekly"
date = 2026-01-12
language = "en"
preheader = "The week in brief."

[newsletter]
name = "Test Letter"

[[sections]]
label = "News"

[[sections.stories]]
headline = "First story"
body = "Something happened. Then more happened."
"""

WriteIssue = Callable[..., Path]
