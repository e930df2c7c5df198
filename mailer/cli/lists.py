"""CLI commands of the lists stage: ``mailer lists …`` and ``mailer subscribers …``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from mailer.cli import AppContext, pass_app
from mailer.cli.hints import error_line
from mailer.errors import MailerError, ValidationError
from mailer.lists import people
from mailer.lists.exporter import export_csv
from mailer.lists.files import sync_lists
from mailer.lists.importer import Reject, import_csv
from mailer.lists.overview import list_counts
from mailer.status import SubscriptionStatus

commands: list[click.Command] = []


def _show_problems(exc: ValidationError) -> None:
    """Print every problem but the first (the CLI prints that one as ``Error:``)."""
    for problem in exc.problems[1:]:
        click.echo(f"  {problem}", err=True)


# --- mailer lists ---------------------------------------------------------------


@click.group("lists", invoke_without_command=True)
@click.pass_context
def lists_group(ctx: click.Context) -> None:
    """Show lists with subscriber counts per status (sync: apply lists/*.toml)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(show_lists)


@lists_group.command("show")
@pass_app
def show_lists(app: AppContext) -> None:
    """Show each list with its subscriber counts per status."""
    counts = list_counts(app.database)
    if not counts:
        click.echo("no lists yet: add lists/<slug>.toml and run `mailer lists sync`")
        return
    table = Table(title="lists")
    for col in ("list", "name", "active", "unconfirmed", "unsubscribed", "suppressed", "mailable"):
        table.add_column(col, justify="left" if col in ("list", "name") else "right", no_wrap=True)
    for c in counts:
        table.add_row(
            c.slug,
            c.name,
            f"{c.active:,}",
            f"{c.unconfirmed:,}",
            f"{c.unsubscribed:,}",
            f"{c.suppressed:,}",
            f"{c.mailable:,}",
        )
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)  # piped: never truncate names and counts
    console.print(table)


@lists_group.command("sync")
@pass_app
def sync(app: AppContext) -> None:
    """Create or update lists from lists/<slug>.toml (never deletes subscribers)."""
    try:
        results = sync_lists(app.database, app.settings)
    except ValidationError as exc:
        _show_problems(exc)
        raise
    for r in results:
        click.echo(f"{r.slug}: {r.action}")
    if not results:
        click.echo(f"no list files in {app.settings.path(app.settings.paths.lists_dir)}")


commands.append(lists_group)


# --- mailer subscribers ---------------------------------------------------------


@click.group("subscribers")
def subscribers_group() -> None:
    """Add, inspect, unsubscribe, suppress, forget, import and export subscribers."""


def _attributes(pairs: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r}: expected KEY=VALUE", param_hint="--attr")
        out[key.strip()] = value
    return out


@subscribers_group.command("add")
@click.argument("email")
@click.option("--list", "list_slug", required=True, help="List slug.")
@click.option("--name", default="", help="The subscriber's name.")
@click.option("--attr", "attrs", multiple=True, metavar="KEY=VALUE", help="An attribute (repeat).")
@click.option(
    "--send-confirmation",
    is_flag=True,
    help="Mail a confirmation link; the address stays unconfirmed until clicked.",
)
@click.option(
    "--welcome",
    is_flag=True,
    help="Queue the list's welcome mail (a confirmed address always gets it).",
)
@pass_app
def add(
    app: AppContext,
    email: str,
    list_slug: str,
    name: str,
    attrs: tuple[str, ...],
    send_confirmation: bool,
    welcome: bool,
) -> None:
    """Add EMAIL to a list (active at once, or after confirming with --send-confirmation)."""
    if send_confirmation:
        from mailer.keys import site_keys

        site_keys(app.settings)  # the link is signed: refuse an unusable key before any change
    message = people.add(
        app.database,
        app.settings,
        list_slug,
        email,
        name=name,
        attributes=_attributes(attrs),
        send_confirmation=send_confirmation,
        welcome=welcome,
    )
    click.echo(message)


@subscribers_group.command("show")
@click.argument("email")
@pass_app
def show(app: AppContext, email: str) -> None:
    """Show everything stored about EMAIL: data, lists, suppression."""
    p = people.show(app.database, email)
    if p.subscriber is not None:
        s = p.subscriber
        click.echo(f"email:      {s.email}")
        click.echo(f"name:       {s.name}")
        click.echo(f"source:     {s.source}")
        click.echo(f"created:    {s.created_at:%Y-%m-%d %H:%M} UTC")
        click.echo(f"updated:    {s.updated_at:%Y-%m-%d %H:%M} UTC")
        for key, value in sorted((s.attributes or {}).items()):
            click.echo(f"attribute:  {key} = {value}")
        for lst, sub in p.subscriptions:
            welcomed = (
                f"; welcome mail queued {sub.welcomed_at:%Y-%m-%d %H:%M}" if sub.welcomed_at else ""
            )
            click.echo(
                f"list:       {lst.slug}: {sub.status} since "
                f"{sub.status_changed_at:%Y-%m-%d %H:%M} ({sub.status_reason}){welcomed}"
            )
        if not p.subscriptions:
            click.echo("list:       (none)")
    else:
        click.echo(f"email:      {p.email} (no personal data stored)")
    if p.suppression is not None:
        r = p.suppression
        detail = f": {r.detail}" if r.detail else ""
        click.echo(f"suppressed: {r.reason} since {r.created_at:%Y-%m-%d %H:%M}{detail}")
    else:
        click.echo("suppressed: no")
    for h in people.history(app.database, email):
        where = f" {h.list_slug}" if h.list_slug else ""
        why = f": {h.detail}" if h.detail else ""
        click.echo(f"history:    {h.at:%Y-%m-%d %H:%M} {h.action}{where}{why} ({h.actor})")


@subscribers_group.command("find")
@click.argument("query")
@click.option("--limit", default=50, show_default=True, help="At most this many results.")
@pass_app
def find(app: AppContext, query: str, limit: int) -> None:
    """Find subscribers whose address or name contains QUERY."""
    found = people.find(app.database, query, limit)
    for s in found:
        click.echo(f"{s.email}\t{s.name}")
    if not found:
        click.echo(f"no subscriber matches {query!r}", err=True)
        sys.exit(1)


@subscribers_group.command("unsubscribe")
@click.argument("email")
@click.option("--list", "list_slug", help="List slug.")
@click.option("--all", "all_lists", is_flag=True, help="Unsubscribe from every list.")
@click.option("--reason", default="by operator", show_default=True, help="Recorded why.")
@pass_app
def unsubscribe(
    app: AppContext, email: str, list_slug: str | None, all_lists: bool, reason: str
) -> None:
    """Unsubscribe EMAIL from one list (--list) or from all (--all)."""
    if bool(list_slug) == all_lists:
        raise click.UsageError("give either --list SLUG or --all")
    changed = people.unsubscribe(app.database, email, None if all_lists else list_slug, reason)
    where = "every list" if all_lists else list_slug
    click.echo(
        f"{email}: unsubscribed from {changed} list(s)"
        if changed
        else f"{email}: was not subscribed to {where}"
    )


@subscribers_group.command("suppress")
@click.argument("email")
@click.option("--detail", default="", help="A note kept with the suppression.")
@pass_app
def suppress(app: AppContext, email: str, detail: str) -> None:
    """Never mail EMAIL again, on any list (until unsuppressed)."""
    new = people.suppress(app.database, email, detail)
    click.echo(f"{email}: suppressed" if new else f"{email}: was already suppressed")


@subscribers_group.command("unsuppress")
@click.argument("email")
@pass_app
def unsuppress(app: AppContext, email: str) -> None:
    """Lift EMAIL's suppression (its subscriptions keep their status)."""
    if not people.unsuppress(app.database, email):
        raise MailerError(f"{email} is not suppressed")
    click.echo(f"{email}: no longer suppressed")


@subscribers_group.command("forget")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def forget(app: AppContext, email: str, yes: bool) -> None:
    """Erase EMAIL's personal data; keep only its hash so it is never mailed again."""
    database = app.database  # a database without tables says so before the question
    if not yes:
        click.confirm(f"Erase everything about {email}? This cannot be undone", abort=True)
    erased = people.forget(database, email)
    click.echo(
        f"{email}: personal data erased; the address hash stays suppressed"
        if erased
        else f"{email}: nothing stored; its hash is now suppressed"
    )


@subscribers_group.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--list", "list_slug", required=True, help="List slug.")
@click.option("--dry-run", is_flag=True, help="Check and count, then roll back: change nothing.")
@click.option("--encoding", default="utf-8", show_default=True, help="Text encoding of FILE.")
@click.option(
    "--rejects",
    "rejects_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write rejected rows [default: var/rejects/<file>.rejects.csv].",
)
@click.option("--quiet", is_flag=True, help="Do not list rejected rows on stderr.")
@click.option(
    "--welcome",
    is_flag=True,
    help="Queue the list's welcome mail for everyone the import adds (default: none).",
)
@pass_app
def import_(
    app: AppContext,
    file: Path,
    list_slug: str,
    dry_run: bool,
    encoding: str,
    rejects_path: Path | None,
    quiet: bool,
    welcome: bool,
) -> None:
    """Import subscribers from a CSV FILE (header with an email column) into a list.

    All or nothing: the whole file is imported in one transaction. Bad rows are
    reported (line and reason) and written to a rejects CSV; good rows are kept.
    """
    err = Console(stderr=True)
    progress: Progress | None = None
    task: Any = None
    if err.is_terminal:
        progress = Progress(
            TextColumn("importing"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        )
        task = progress.add_task("import", total=file.stat().st_size if file.is_file() else 0)

    def on_reject(r: Reject) -> None:
        if quiet:
            return
        if progress is not None:
            progress.console.print(f"{file}:{r.line}: {r.reason}", markup=False, highlight=False)
        else:
            click.echo(f"{file}:{r.line}: {r.reason}", err=True)

    def on_notice(r: Reject) -> None:
        # Warnings show even with --quiet: these rows were kept.
        if progress is not None:
            progress.console.print(f"{file}:{r.line}: {r.reason}", markup=False, highlight=False)
        else:
            click.echo(f"{file}:{r.line}: {r.reason}", err=True)

    def on_progress(done: int, total: int) -> None:
        if progress is not None:
            progress.update(task, completed=done, total=total)

    try:
        if progress is not None:
            progress.start()
        report = import_csv(
            app.database,
            app.settings,
            file,
            list_slug,
            dry_run=dry_run,
            encoding=encoding,
            rejects_path=rejects_path,
            on_reject=on_reject,
            on_progress=on_progress,
            on_notice=on_notice,
            welcome=welcome,
        )
    except ValidationError as exc:
        _show_problems(exc)
        raise MailerError(f"{error_line(exc)}; nothing was imported") from exc
    finally:
        if progress is not None:
            progress.stop()
    prefix = "dry run (nothing changed): " if dry_run else ""
    click.echo(prefix + report.summary())
    if report.rejects_file is not None:
        click.echo(f"rejected rows written to {report.rejects_file}")


@subscribers_group.command("export")
@click.option("--list", "list_slug", required=True, help="List slug.")
@click.option(
    "--status",
    type=click.Choice(SubscriptionStatus.ALL),
    help="Only this status; 'active' is exactly who the next send mails (no suppressed).",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write here, not to stdout."
)
@pass_app
def export(app: AppContext, list_slug: str, status: str | None, out: Path | None) -> None:
    """Export a list's subscribers as CSV (email first) to stdout or --out."""
    if out is None:
        count = export_csv(app.database, list_slug, sys.stdout, status)
        sys.stdout.flush()
    else:
        tmp = out.with_name(out.name + ".part")
        try:
            with tmp.open("w", encoding="utf-8", newline="") as fh:
                count = export_csv(app.database, list_slug, fh, status)
            tmp.replace(out)
        finally:
            tmp.unlink(missing_ok=True)
        click.echo(f"{count} subscribers written to {out}", err=True)


commands.append(subscribers_group)
