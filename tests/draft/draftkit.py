"""Helpers for the draft tests (a uniquely named module: test folders have no packages)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from mailer.config import Settings
from mailer.draft import Draft, draft, read

HERE = Path(__file__).resolve().parent
SEEDS = HERE / "seeds"
INPUTS = HERE / "inputs"


def seed(number: int) -> Path:
    return next(SEEDS.glob(f"{number:03d}_*.txt"))


def draft_text(text: str, settings: Settings, name: str = "pasted.txt", **options: Any) -> Draft:
    """Draft one pasted text."""
    from mailer.draft import Source

    return draft([Source(name, text)], settings, **options)


def draft_file(path: Path, settings: Settings, **options: Any) -> Draft:
    return draft([read(str(path))], settings, **options)


def load_toml(folder: Path) -> dict[str, Any]:
    return tomllib.loads((folder / "issue.toml").read_text(encoding="utf-8"))
