"""The ``mailer`` command line.

Each stage of the pipeline keeps its commands in its own module here; this one
builds the group, loads settings once, and turns ``MailerError`` into a
one-line ``Error: …`` on stderr with the error's exit code.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import click

from mailer import __version__
from mailer.config import Settings, load_settings
from mailer.db import Database
from mailer.errors import MailerError

# One module per stage; each exposes ``commands``, a list of click commands.
COMMAND_MODULES = ["db", "compose", "lists", "deliver", "events", "web"]


class AppContext:
    """What every command gets: the config path and, loaded on first use, settings."""

    def __init__(self, config_path: Path | None) -> None:
        self.config_path = config_path
        self._settings: Settings | None = None
        self._database: Database | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
        return self._settings

    @property
    def database(self) -> Database:
        """The configured database (not migrated: commands that need tables say so)."""
        if self._database is None:
            self._database = Database.from_settings(self.settings)
        return self._database


pass_app = click.make_pass_decorator(AppContext)


class MailerGroup(click.Group):
    """A click group that shows ``MailerError`` as one line, no traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MailerError as exc:
            click.echo(f"Error: {exc.message}", err=True)
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


for _name in COMMAND_MODULES:
    _module = importlib.import_module(f"mailer.cli.{_name}")
    for _command in _module.commands:
        cli.add_command(_command)


def main() -> None:
    """Console-script entry point."""
    sys.exit(cli.main(standalone_mode=True))
