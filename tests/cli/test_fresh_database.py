"""Every database command on a fresh or outdated database: one line saying what to do."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click
import pytest

from mailer.cli import cli
from mailer.db import Database, head_revision
from tests.support.paths import ROOT

MAILER = str(Path(sys.executable).parent / "mailer")
FRESH = "Error: the database has no tables yet: run mailer db upgrade"

# Commands that never open the database; every other one must refuse an empty one.
NOT_DATABASE = {
    ("config",),
    ("check",),
    ("build",),
    ("schema",),
    ("draft",),
    ("db", "upgrade"),
    ("db", "current"),
    ("users", "hash"),
    ("ses", "setup"),
    ("ses", "status"),
}


def _commands() -> list[tuple[tuple[str, ...], click.Command]]:
    """Every command ``mailer --help`` lists, walked through the groups."""
    out: list[tuple[tuple[str, ...], click.Command]] = []

    def walk(command: click.Command, path: tuple[str, ...], parent: click.Context) -> None:
        ctx = click.Context(command, info_name=path[-1] if path else "mailer", parent=parent)
        if isinstance(command, click.Group):
            if path and command.invoke_without_command:
                out.append((path, command))  # `mailer sends`, `mailer lists` alone
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None, name
                walk(sub, (*path, name), ctx)
        else:
            out.append((path, command))

    walk(cli, (), click.Context(cli))
    return out


def _args(path: tuple[str, ...], command: click.Command, tmp: Path) -> list[str]:
    """Values for the command's required parameters: real enough to reach the database."""
    csv = tmp / "people.csv"
    csv.write_text("email\nreader@example.org\n", encoding="utf-8")
    events = tmp / "events.jsonl"
    events.write_text("", encoding="utf-8")
    values = {
        "issue": "ai2x-briefing-2026-01-12",
        "list_slug": "weekly",
        "send_id": "1",
        "email": "reader@example.org",
        "query": "reader",
        "username": "editor",
        "file": str(csv),
        "files": str(events),
        "out": str(tmp / "simulated.jsonl"),
    }
    args: list[str] = []
    for param in command.params:
        if not param.required or param.name is None:
            continue
        value = values[param.name]
        if isinstance(param, click.Option):
            args += [param.opts[0], value]
        else:
            args.append(value)
    if path in (("sends", "retry"), ("queue", "retry")):
        args.append("--failed")
    if path == ("subscribers", "unsubscribe"):
        args.append("--all")
    if path == ("report",):
        args.append("1")
    if path == ("users", "add"):
        args.append("--password-stdin")
    return args


def _config(tmp: Path) -> Path:
    cfg = tmp / "config.toml"
    cfg.write_text(
        f"""
[paths]
issues_dir = "{ROOT / "issues"}"
templates_dir = "{ROOT / "templates"}"
[site]
secret_key = "test-secret-key-0123456789-abcdefghij"
[database]
url = "sqlite:///{tmp / "fresh.db"}"
""",
        encoding="utf-8",
    )
    return cfg


def test_the_walk_finds_every_command() -> None:
    found = {path for path, _ in _commands()}
    assert found >= NOT_DATABASE
    assert {("worker",), ("send",), ("users", "add"), ("subscribers", "find")} <= found
    assert len(found) > 35


def test_every_database_command_on_an_empty_database(tmp_path: Path) -> None:
    config = _config(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILER_")}
    runs = [
        (path, [MAILER, "--config", str(config), *path, *_args(path, command, tmp_path)])
        for path, command in _commands()
        if path not in NOT_DATABASE
    ]

    def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
        # A fresh process each: nothing imported or cached by another command helps.
        return subprocess.run(
            argv, capture_output=True, text=True, input="", timeout=120, env=env, cwd=tmp_path
        )

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(run, [argv for _, argv in runs]))
    wrong = {}
    for (path, _), result in zip(runs, results, strict=True):
        lines = result.stderr.strip().splitlines()
        if result.returncode == 0 or lines != [FRESH] or "Traceback" in result.stdout:
            wrong[" ".join(path)] = (result.returncode, result.stderr[-300:])
    assert not wrong, wrong
    assert len(runs) > 25


def test_an_outdated_schema_says_so(
    mailer_cli,
    settings: object,
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    settings.database.url = url  # type: ignore[attr-defined]
    database = Database(url)
    database.upgrade("0001")
    database.dispose()
    result = mailer_cli("lists")
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"Error: the database schema is at revision 0001, this mailer needs {head_revision()}: "
        "run mailer db upgrade"
    )
    assert mailer_cli("db", "upgrade").exit_code == 0
    assert mailer_cli("lists").exit_code == 0


@pytest.mark.parametrize("command", [("lists",), ("users", "list")])
def test_an_unreachable_server_is_one_line(
    mailer_cli,
    settings: object,
    command: tuple[str, ...],
) -> None:
    settings.database.url = "postgresql+psycopg://nobody:pw@127.0.0.1:1/none"  # type: ignore[attr-defined]
    result = mailer_cli(*command)
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line.startswith("Error: cannot open the database postgresql+psycopg://nobody:***@")
