"""``mailer doctor``: check the whole sending setup, item by item."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from mailer.cli import AppContext, pass_app

commands: list[click.Command] = []

STYLES = {"pass": "green", "warn": "yellow", "fail": "bold red", "unknown": "magenta"}


@click.command("doctor")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_app
def doctor_cmd(app: AppContext, fmt: str) -> None:
    """Check configuration, DNS (SPF, DKIM, DMARC), SES and list health: pass/warn/fail.

    Exits 1 when any check fails, 3 when none failed but some could not be
    checked (DNS or AWS unreachable), 0 otherwise.
    """
    from mailer.doctor import LABELS, diagnose

    result = diagnose(app.settings, app.database)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        console = Console() if Console().is_terminal else Console(width=200)
        table = Table(title="mailer doctor")
        for col in ("area", "check", "result", "seen", "fix"):
            table.add_column(col, overflow="fold")
        for c in result.checks:
            table.add_row(
                c.area,
                c.item,
                f"[{STYLES[c.status]}]{LABELS[c.status]}[/]",
                c.detail,
                c.fix,
            )
        console.print(table)
        console.print(result.summary())
    click.get_current_context().exit(result.exit_code)


commands.append(doctor_cmd)
