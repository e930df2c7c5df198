"""The CLI's shared behaviour."""

from __future__ import annotations

from mailer.db import Database


def test_db_upgrade_creates_schema(mailer_cli, db: Database) -> None:
    result = mailer_cli("db", "current")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == db.current_revision()


# Run in a fresh process: commands load lazily, so a walk of ``cli.commands`` in
# a process where few stages were imported yet sees only those few.
WALK_COMMANDS = """
import json, click
from click.testing import CliRunner
from mailer.cli import cli

found = []

def walk(group, ctx, path):
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if cmd is None:
            found.append({"path": [*path, name], "missing": True})
            continue
        result = CliRunner().invoke(cli, [*path, name, "--help"], prog_name="mailer")
        found.append({
            "path": [*path, name],
            "help": cmd.help or cmd.short_help or "",
            "exit_code": result.exit_code,
            "usage": result.output.splitlines()[0] if result.output else "",
        })
        if isinstance(cmd, click.Group):
            walk(cmd, click.Context(cmd, info_name=name, parent=ctx), [*path, name])

walk(cli, click.Context(cli, info_name="mailer"), [])
print(json.dumps(found))
"""


def test_every_command_has_help() -> None:
    import json
    import subprocess
    import sys

    from mailer.cli import COMMAND_MODULES

    out = subprocess.run(
        [sys.executable, "-c", WALK_COMMANDS], capture_output=True, text=True, check=True
    )
    found = json.loads(out.stdout)
    top = sorted(c["path"][0] for c in found if len(c["path"]) == 1)
    assert top == sorted({"config", *COMMAND_MODULES})
    assert len(top) >= 15
    # Subcommands of the groups (db, lists, sends, events, ses, users …) are visited too.
    assert len(found) > 2 * len(top), [c["path"] for c in found]
    for command in found:
        name = " ".join(["mailer", *command["path"]])
        assert not command.get("missing"), f"{name} is listed but does not load"
        assert command["help"].strip(), f"{name} has no help"
        assert command["exit_code"] == 0, f"{name} --help exits {command['exit_code']}"
        assert command["usage"].startswith(f"Usage: {name}"), (name, command["usage"])


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
