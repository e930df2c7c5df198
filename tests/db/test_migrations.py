"""The Alembic migrations and the models describe the same schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from mailer.db import Database
from mailer.db.models import Base


def test_migrations_match_models(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_upgrade_is_idempotent_and_downgrade_empties(db: Database) -> None:
    head = db.current_revision()
    assert head is not None
    db.upgrade()  # a second upgrade is a no-op, not an error
    assert db.current_revision() == head
    db.dispose()
    from alembic import command

    from mailer.db import alembic_config

    command.downgrade(alembic_config(db.url), "base")
    tables = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
    assert tables == set()


def test_0007_backfills_open_and_click_details_from_stored_payloads(db_url: str) -> None:
    import json
    from datetime import datetime
    from pathlib import Path

    from sqlalchemy import text

    database = Database(db_url)
    database.upgrade("0001")
    click = json.loads(
        (Path(__file__).parent.parent / "events" / "payloads" / "event-click.json").read_text()
    )
    envelope = json.dumps({"Type": "Notification", "Message": json.dumps(click)})
    with database.session() as s:
        s.execute(
            text(
                "INSERT INTO events (dedupe_key, source, event_type, detail, occurred_at,"
                " received_at, orphan, payload) VALUES (:k, 'sqs', 'click', '', :t, :t, :o, :p)"
            ),
            {"k": "click:1", "t": datetime(2026, 11, 2), "o": True, "p": envelope},
        )
    database.upgrade()
    with database.session() as s:
        row = s.execute(text("SELECT link, link_tags, user_agent, ip_address FROM events")).one()
    database.dispose()
    assert row == (
        "https://news.example.org/issues/42/autumn",
        '{"story": ["autumn"]}',
        click["click"]["userAgent"],
        "198.51.100.7",
    )
