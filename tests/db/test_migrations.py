"""The Alembic migrations and the models describe the same schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from mailer.db import Database
from mailer.db.models import Base
from tests.support.paths import PAYLOADS


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

    from sqlalchemy import text

    database = Database(db_url)
    database.upgrade("0001")
    click = json.loads((PAYLOADS / "event-click.json").read_text())
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


def test_0007_downgrade_keeps_every_outbox_row(db_url: str) -> None:
    from alembic import command
    from sqlalchemy import text

    from mailer.db import alembic_config

    database = Database(db_url)
    database.upgrade()
    with database.session() as s:
        s.execute(
            text(
                "INSERT INTO lists (id, slug, name, description, from_name, from_email, reply_to,"
                " language, template, double_opt_in, postal_address, created_at, updated_at)"
                " VALUES (1, 'l', 'l', '', 'f', 'f@x.example', '', 'en', 'default', true, '',"
                " '2026-01-01', '2026-01-01')"
            )
        )
        s.execute(
            text(
                "INSERT INTO sends (id, issue_slug, list_id, subject, status, status_reason,"
                " created_at, total) VALUES (1, 'i', 1, 's', 'done', '', '2026-01-01', 1)"
            )
        )
        s.execute(
            text(
                "INSERT INTO send_recipients (send_id, email, email_hash, status, attempts,"
                " error, opens, clicks) VALUES (1, 'a@x.example', 'h', 'sent', 1, '', 0, 0)"
            )
        )
    database.dispose()
    command.downgrade(alembic_config(db_url), "0001")
    with database.session() as s:
        assert s.execute(text("SELECT count(*) FROM send_recipients")).scalar() == 1
        assert s.execute(text("SELECT count(*) FROM sends")).scalar() == 1
    database.dispose()
