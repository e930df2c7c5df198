"""Shared fixtures: settings in a temporary project, and real databases.

``db`` is parametrised over SQLite and PostgreSQL. PostgreSQL tests skip with a
reason when no server answers, except when ``CI`` is set: then a missing server
fails the run, so CI can never go green by skipping them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from mailer.config import Settings, load_settings
from mailer.db import Database
from tests.support.paths import ROOT
from tests.support.peers import PG_ADMIN_URL, need, postgres_available


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a throwaway project under ``tmp_path`` (SQLite, outbox)."""
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f"""
[paths]
issues_dir = "{ROOT / "issues"}"
lists_dir = "lists"
templates_dir = "{ROOT / "templates"}"
[site]
secret_key = "test-secret-key-0123456789-abcdefghij"
base_url = "https://news.example.org"
""",
        encoding="utf-8",
    )
    (tmp_path / "lists").mkdir()
    return load_settings(cfg, environ={})


def _pg_database() -> Iterator[str]:
    need(postgres_available(), f"no PostgreSQL server at {PG_ADMIN_URL}")
    name = f"mailer_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'mailer.db'}"
    else:
        yield from _pg_database()


@pytest.fixture
def db(db_url: str, settings: Settings) -> Iterator[Database]:
    """A migrated database (SQLite and PostgreSQL), with ``settings`` pointing at it."""
    settings.database.url = db_url
    database = Database(db_url)
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
def config_file(settings: Settings) -> Path:
    """The config file behind ``settings``; CLI runs keep its database in step."""
    return settings.base_dir / "config.toml"


def _sync_database(config_file: Path, settings: Settings) -> None:
    # The ``db`` fixture may set the URL after the file was written.
    text = config_file.read_text(encoding="utf-8").split("\n[database]\n")[0]
    text += f'\n[database]\nurl = "{settings.database.url}"\n'
    config_file.write_text(text, encoding="utf-8")


@pytest.fixture
def mailer_cli(config_file: Path, settings: Settings):
    """Run ``mailer --config <tmp config> ARGS…`` in-process; returns click's Result."""
    from click.testing import CliRunner

    from mailer.cli import cli

    def run(*args: str, input: str | None = None):
        _sync_database(config_file, settings)
        return CliRunner().invoke(cli, ["--config", str(config_file), *args], input=input)

    return run
