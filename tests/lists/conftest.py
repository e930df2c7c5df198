"""Fixtures of the lists stage: list files in the temporary project, synced lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailer.config import Settings
from mailer.db import Database
from mailer.lists.files import sync_lists
from tests.support.lists import DAILY, WEEKLY


@pytest.fixture
def lists_dir(settings: Settings) -> Path:
    """The project's lists folder with two lists: weekly (double opt-in), daily (single)."""
    folder = settings.path(settings.paths.lists_dir)
    (folder / "weekly.toml").write_text(WEEKLY, encoding="utf-8")
    (folder / "daily.toml").write_text(DAILY, encoding="utf-8")
    return folder


@pytest.fixture
def lists_db(db: Database, settings: Settings, lists_dir: Path) -> Database:
    """A migrated database (both dialects) with the weekly and daily lists synced."""
    sync_lists(db, settings)
    return db


@pytest.fixture
def outbox(settings: Settings) -> Path:
    """Where the outbox transport writes messages sent outside a send (confirmations)."""
    return settings.path(settings.delivery.outbox_dir) / "single"
