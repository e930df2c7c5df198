"""Fixtures for the events tests."""

from __future__ import annotations

import pytest

from mailer.db import Database
from tests.support.events import World, make_world


@pytest.fixture
def world(db: Database) -> World:
    return make_world(db)
