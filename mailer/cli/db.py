"""CLI commands for the database schema."""

from __future__ import annotations

import click

from mailer.cli import AppContext, pass_app

commands: list[click.Command] = []


@click.group("db")
def db_group() -> None:
    """Create and migrate the database schema."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@pass_app
def upgrade(app: AppContext, revision: str) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    database = app.unmigrated_database
    database.upgrade(revision, settings=app.settings)
    click.echo(f"database at revision {database.current_revision()}")


@db_group.command("current")
@pass_app
def current(app: AppContext) -> None:
    """Print the schema revision the database is at."""
    click.echo(app.unmigrated_database.current_revision() or "(empty database)")


commands.append(db_group)
