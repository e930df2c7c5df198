"""CLI commands of the web stage: ``mailer serve`` and ``mailer users``."""

from __future__ import annotations

import sys

import click

from mailer.cli import AppContext, pass_app
from mailer.keys import site_keys

commands: list[click.Command] = []


@click.command("serve")
@click.option("--host", default=None, help="Address to bind [default: web.host].")
@click.option("--port", type=int, default=None, help="Port to listen on [default: web.port].")
@click.option("--workers", type=int, default=1, show_default=True, help="Worker processes.")
@click.option(
    "--access-log/--no-access-log", default=True, show_default=True, help="Log every request."
)
@pass_app
def serve(
    app: AppContext, host: str | None, port: int | None, workers: int, access_log: bool
) -> None:
    """Run the web app: editors' previews, ops' reports, subscribers' pages."""
    import uvicorn

    from mailer.web import create_app

    settings = app.settings
    database = app.database  # a fresh or outdated schema stops here, in one line
    bind_host = host or settings.web.host
    bind_port = port or settings.web.port
    site_keys(settings)  # an unusable key stops here, in one line
    click.echo(f"mailer web app on http://{bind_host}:{bind_port}/ (Ctrl-C to stop)", err=True)
    if workers > 1:
        # Several processes need an import string; the factory reads MAILER_CONFIG.
        import os

        if app.config_path:
            os.environ["MAILER_CONFIG"] = str(app.config_path)
        uvicorn.run(
            "mailer.web:app_from_environment",
            factory=True,
            host=bind_host,
            port=bind_port,
            workers=workers,
            log_level="info",
            access_log=access_log,
        )
    else:
        uvicorn.run(
            create_app(settings, database),
            host=bind_host,
            port=bind_port,
            log_level="info",
            access_log=access_log,
        )


@click.group("users")
def users_group() -> None:
    """Manage the editors and operators who can log in to the web app."""


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_group.command("add")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (scripts).")
@click.option("--replace", is_flag=True, help="Set a new password if the user exists.")
@pass_app
def users_add(app: AppContext, username: str, password_stdin: bool, replace: bool) -> None:
    """Create USERNAME with a password (argon2id hash); --replace ends their sessions."""
    from mailer.accounts import add_user

    add_user(app.database, username, _read_password(password_stdin), replace=replace)
    click.echo(f"user {username} {'updated' if replace else 'added'}")


@users_group.command("list")
@pass_app
def users_list(app: AppContext) -> None:
    """Show every user who can log in, and where the user is defined."""
    from mailer.accounts import list_users

    users = list_users(app.database, app.settings)
    if not users:
        click.echo("no users yet: add one with `mailer users add NAME`")
    for u in users:
        created = f"  created {u.created_at:%Y-%m-%d %H:%M} UTC" if u.created_at else ""
        click.echo(f"{u.username}  ({u.source}){created}")


@users_group.command("remove")
@click.argument("username")
@pass_app
def users_remove(app: AppContext, username: str) -> None:
    """Delete USERNAME from the database; their sessions end at once."""
    from mailer.accounts import remove_user

    remove_user(app.database, username)
    click.echo(f"user {username} removed")


@users_group.command("logout-all")
@click.argument("username", required=False)
@pass_app
def users_logout_all(app: AppContext, username: str | None) -> None:
    """End every web session of USERNAME (or of every database user)."""
    from mailer.accounts import logout_all

    count = logout_all(app.database, username)
    who = f"user {username}" if username else f"{count} database user{'s' if count != 1 else ''}"
    click.echo(f"sessions of {who} ended")
    if username is None and app.settings.web.users:
        click.echo(
            "users from web.users in the configuration: their sessions end when their hash "
            "changes, or for everyone when site.secret_key does"
        )


@users_group.command("hash")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (scripts).")
def users_hash(password_stdin: bool) -> None:
    """Print the argon2id hash of a password, for `web.users` in config.toml."""
    from mailer.accounts import hash_password

    click.echo(hash_password(_read_password(password_stdin)))


commands += [serve, users_group]
