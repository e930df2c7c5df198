"""The engine's connection pool: a connection the server dropped while idle is replaced."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

import mailer.db
from mailer.db import Database


def test_a_pooled_connection_dropped_while_idle_is_replaced(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite has no server to drop a connection")
    db = Database(db_url)
    admin = create_engine(db_url, poolclass=NullPool)
    try:
        with db.engine.connect() as conn:
            first = conn.scalar(text("SELECT pg_backend_pid()"))
        # The server goes away under the idle pooled connection (a restart, an
        # idle timeout): the next checkout pings it, finds it dead, and
        # hands out a fresh one instead of failing the request.
        with admin.connect() as conn:
            assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        monkeypatch.setattr(mailer.db, "PING_AFTER_IDLE_SECONDS", 0.0)
        with db.engine.connect() as conn:
            second = conn.scalar(text("SELECT pg_backend_pid()"))
        assert second != first
    finally:
        admin.dispose()
        db.dispose()
