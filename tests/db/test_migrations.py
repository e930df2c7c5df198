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
