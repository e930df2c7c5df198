"""Fixtures for the events tests."""

from __future__ import annotations

import pytest
from eventkit import World, make_world

from mailer.db import Database


@pytest.fixture
def world(db: Database) -> World:
    return make_world(db)
