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


def test_command_map_names_every_command() -> None:
    import importlib

    from mailer.cli import COMMAND_MODULES

    for module_name in set(COMMAND_MODULES.values()):
        module = importlib.import_module(f"mailer.cli.{module_name}")
        for command in module.commands:
            assert COMMAND_MODULES.get(command.name or "") == module_name, command.name


def test_build_does_not_import_the_database_layer() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from mailer.cli import cli; cli.get_command(None, 'build'); "
        "print('sqlalchemy' in sys.modules, 'boto3' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
