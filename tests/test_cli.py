"""The CLI's shared behaviour."""

from __future__ import annotations

from mailer.db import Database


def test_db_upgrade_creates_schema(mailer_cli, db: Database) -> None:  # type: ignore[no-untyped-def]
    result = mailer_cli("db", "current")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == db.current_revision()


def test_every_command_has_help() -> None:
    import click

    from mailer.cli import cli

    def walk(cmd: click.Command, path: list[str]) -> None:
        assert cmd.help or cmd.short_help, f"{' '.join(path)} has no help"
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])

    walk(cli, ["mailer"])
