"""The ``mailer`` command line.

Each stage of the pipeline keeps its commands in its own module here; this one
builds the group, loads settings once, and turns ``MailerError`` into a
one-line ``Error: …`` on stderr with the error's exit code, its hint worded
as a command (``hints``).
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mailer import __version__
from mailer.cli.hints import error_line
from mailer.config import Settings, load_settings
from mailer.errors import MailerError

if TYPE_CHECKING:
    from mailer.db import Database

# One module per stage; each exposes ``commands``, a list of click commands.
# The map from command name to module lets ``mailer build`` start without
# importing SQLAlchemy, boto3 or Starlette (tests/test_cli.py keeps it whole).
COMMAND_MODULES = {
    "db": "db",
    "check": "compose",
    "build": "compose",
    "schema": "compose",
    "draft": "draft",
    "lists": "lists",
    "subscribers": "lists",
    "send": "deliver",
    "sends": "deliver",
    "worker": "deliver",
    "queue": "deliver",
    "events": "events",
    "ses": "events",
    "report": "events",
    "doctor": "doctor",
    "serve": "web",
    "users": "web",
}


class AppContext:
    """What every command gets: the config path and, loaded on first use, settings."""

    def __init__(self, config_path: Path | None) -> None:
        self.config_path = config_path
        self._settings: Settings | None = None
        self._database: Database | None = None
        self._schema_checked = False

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
        return self._settings

    @property
    def unmigrated_database(self) -> Database:
        """The configured database as it is, tables or not (for ``mailer db``)."""
        if self._database is None:
            from mailer.db import Database

            self._database = Database.from_settings(self.settings)
        return self._database

    @property
    def database(self) -> Database:
        """The configured database, its schema up to date.

        Raises ``MailerError`` (one line, with the hint to run ``mailer db
        upgrade``) on a fresh or outdated database, before any command touches
        a table.
        """
        database = self.unmigrated_database
        if not self._schema_checked:
            problem = database.schema_problem()
            if problem is not None:
                raise problem
            self._schema_checked = True
        return database


pass_app = click.make_pass_decorator(AppContext)


class MailerGroup(click.Group):
    """The top-level group: loads a stage's commands on first use, and shows
    ``MailerError`` as one line, no traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMAND_MODULES})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            module = importlib.import_module(f"mailer.cli.{COMMAND_MODULES[cmd_name]}")
            for command in module.commands:
                self.add_command(command)
        return self.commands.get(cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MailerError as exc:
            click.echo(f"Error: {error_line(exc)}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=MailerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="MAILER_CONFIG",
    default=None,
    help="Configuration file [default: ./config.toml, or $MAILER_CONFIG].",
)
@click.version_option(__version__, prog_name="mailer")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """Compose newsletter issues and deliver them to managed lists."""
    ctx.obj = AppContext(config_path)


@cli.command("config")
@pass_app
def show_config(app: AppContext) -> None:
    """Print the effective settings (file + MAILER_* variables), secrets masked."""
    click.echo(json.dumps(app.settings.redacted(), indent=2))


def main() -> None:
    """Console-script entry point."""
    sys.exit(cli.main(standalone_mode=True))
