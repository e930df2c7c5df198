"""The lists tests' kit: two list files (weekly, double opt-in; daily, single) and CSV files."""

from __future__ import annotations

from pathlib import Path

WEEKLY = """
name = "Weekly Briefing"
description = "Every Monday."
from_name = "The Editors"
from_email = "editors@example.org"
reply_to = "reply@example.org"
language = "en"
template = "default"
double_opt_in = true
postal_address = "Example Media, 1 Example Street, Brussels"
"""

DAILY = """
name = "Daily Digest"
from_name = "Digest"
from_email = "digest@example.org"
language = "nl"
double_opt_in = false
postal_address = "Example Media, 1 Example Street, Brussels"
"""


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path
