"""The draft tests' kit: the seed texts and raw inputs kept in tests/draft/, drafted."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from mailer.config import Settings
from mailer.draft import Draft, draft, read
from tests.support.paths import TESTS

SEEDS = TESTS / "draft" / "seeds"
INPUTS = TESTS / "draft" / "inputs"


def seed(number: int) -> Path:
    """The seed text numbered ``number`` (``seeds/000_*.txt`` …)."""
    return next(SEEDS.glob(f"{number:03d}_*.txt"))


def draft_text(text: str, settings: Settings, name: str = "pasted.txt", **options: Any) -> Draft:
    """Draft one pasted text."""
    from mailer.draft import Source

    return draft([Source(name, text)], settings, **options)


def draft_file(path: Path, settings: Settings, **options: Any) -> Draft:
    """Draft one file, read the way ``mailer draft`` reads it."""
    return draft([read(str(path))], settings, **options)


def load_toml(folder: Path) -> dict[str, Any]:
    """The ``issue.toml`` of a drafted issue folder, parsed."""
    return tomllib.loads((folder / "issue.toml").read_text(encoding="utf-8"))
