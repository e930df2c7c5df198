"""CLI commands of the events stage: ``events``, ``ses`` and ``report``."""

from __future__ import annotations

import json
import logging
import signal
import threading
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from mailer.cli import AppContext, pass_app
from mailer.errors import Problem, ValidationError

commands: list[click.Command] = []


@click.group("events")
def events_group() -> None:
    """SES feedback: poll the SQS queue, replay files, look at stored events."""


@events_group.command("poll")
@click.option(
    "--once", is_flag=True, help="Stop when the queue is empty instead of polling forever."
)
@click.option(
    "--wait", default=20, show_default=True, help="Long-poll wait per receive, seconds (0-20)."
)
@pass_app
def poll_cmd(app: AppContext, once: bool, wait: int) -> None:
    """Long-poll events.sqs_queue_url and apply the feedback (Ctrl-C stops cleanly)."""
    from mailer.events.sqs import poll

    database = app.database  # checked before logging is on: its refusal is one line
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    stop = threading.Event()

    def on_signal(_signum: int, _frame: Any) -> None:
        stop.set()  # finish the batch in hand (commit, delete), then leave

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
    result = poll(database, app.settings, stop=stop, once=once, wait_seconds=wait)
    click.echo(
        f"{result.received} messages received, {result.deleted} deleted; {result.ingest.summary()}"
    )


@events_group.command("ingest")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@pass_app
def ingest_cmd(app: AppContext, files: tuple[Path, ...]) -> None:
    """Replay SES feedback from FILES (JSON per file, JSON array, or JSON lines).

    Every file is checked first; a bad document stops the run with its file and
    line, and nothing is stored. Events already stored are skipped.
    """
    from mailer.events.ingest import ingest_files

    missing = [p for p in files if not p.exists()]
    if missing:
        raise ValidationError([Problem(str(p), "", "no such file") for p in missing])
    result = ingest_files(app.database, app.settings, list(files))
    click.echo(result.summary())
    for kind, n in sorted(result.by_kind.items()):
        click.echo(f"  {kind}: {n}")


@events_group.command("rematch")
@click.option("--limit", default=10_000, show_default=True, help="Orphans to examine.")
@pass_app
def rematch_cmd(app: AppContext, limit: int) -> None:
    """Match orphan events again (e.g. feedback that arrived before its send was recorded)."""
    from mailer.events.ingest import rematch

    result = rematch(app.database, limit)
    click.echo(f"{result.received} orphans examined, {result.matched} matched now")


@events_group.command("simulate")
@click.argument("send_id", type=int)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="JSON-lines file to write.",
)
@click.option("--seed", default=1, show_default=True, help="Random seed (same seed, same events).")
@pass_app
def simulate_cmd(app: AppContext, send_id: int, out: Path, seed: int) -> None:
    """Write the SES events a send might get back (for demos; nothing is stored).

    Feed the file to `mailer events ingest` to rehearse the whole feedback path.
    """
    from mailer.events.simulate import for_send

    docs, recipients = for_send(app.database, send_id, seed)
    count = 0
    with out.open("w", encoding="utf-8") as fh:
        for doc in docs:
            fh.write(json.dumps(doc) + "\n")
            count += 1
    click.echo(f"{count} events for {recipients} sent recipients written to {out}")


@events_group.command("list")
@click.option("--orphans", is_flag=True, help="Only events that matched no outbox row.")
@click.option("--email", default=None, help="Only this address's events.")
@click.option("--limit", default=50, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_app
def list_cmd(app: AppContext, orphans: bool, email: str | None, limit: int, fmt: str) -> None:
    """Show the latest stored feedback events."""
    from mailer.events.stored import recent_events

    rows = recent_events(app.database, orphans_only=orphans, email=email, limit=limit)
    data: list[dict[str, Any]] = [
        {
            "id": e.id,
            "type": e.event_type,
            "email": e.email,
            "send": e.send_id,
            "orphan": e.orphan,
            "occurred_at": e.occurred_at.isoformat(sep=" ", timespec="seconds"),
            "detail": e.detail,
        }
        for e in rows
    ]
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
        return
    table = Table(title=f"{len(data)} events")
    for col in ("id", "type", "email", "send", "occurred_at", "detail"):
        table.add_column(col)
    for d in data:
        send = "orphan" if d["orphan"] else str(d["send"])
        table.add_row(
            str(d["id"]), d["type"], d["email"] or "", send, d["occurred_at"], str(d["detail"])[:60]
        )
    Console().print(table)


@click.group("ses")
def ses_group() -> None:
    """Amazon SES: set up feedback publishing, show the account's state."""


@ses_group.command("setup")
@click.option(
    "--tracking/--no-tracking",
    default=True,
    show_default=True,
    help="Turn SES open and click tracking on (or off) for the configuration set.",
)
@pass_app
def ses_setup(app: AppContext, tracking: bool) -> None:
    """Create (or find) the configuration set, SNS topic and SQS queue feedback needs."""
    from mailer.events import ses
    from mailer.events.aws import client

    s = app.settings
    result = ses.setup(
        s,
        sesv2=client(s, "sesv2"),
        sns=client(s, "sns"),
        sqs=client(s, "sqs"),
        tracking=tracking,
    )
    for step in result.steps:
        click.echo(f"{step.outcome:>8}  {step.what}: {step.name}")
    click.echo("\nPut these in config.toml (or the MAILER_EVENTS_* variables):")
    click.echo(f'  [events]\n  sqs_queue_url = "{result.queue_url}"')
    click.echo(f'  topic_arns = ["{result.topic_arn}"]   # only if you use the HTTPS webhook')
    click.echo(f'  [ses]\n  configuration_set = "{s.ses.configuration_set}"')


@ses_group.command("status")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_app
def ses_status(app: AppContext, fmt: str) -> None:
    """Show sending quota and rate, whether sending is enabled, and each identity's state."""
    from dataclasses import asdict

    from mailer.events import ses
    from mailer.events.aws import client

    st = ses.status(client(app.settings, "sesv2"))
    if fmt == "json":
        click.echo(json.dumps(asdict(st), indent=2))
        return
    console = Console()
    enabled = "[green]enabled[/]" if st.sending_enabled else "[bold red]DISABLED[/]"
    mode = "production" if st.production_access else "sandbox"
    console.print(f"Sending {enabled} ({mode}, enforcement {st.enforcement or 'unknown'})")
    console.print(
        f"Quota: {st.sent_24h:,.0f} of {st.max_24h:,.0f} sent in the last 24 h; "
        f"max rate {st.max_rate:g} messages/s"
    )
    table = Table(title="Identities")
    for col in ("identity", "type", "verification", "DKIM", "DKIM signing", "sending"):
        table.add_column(col)
    for i in st.identities:
        table.add_row(
            i.name,
            i.type,
            i.verification,
            i.dkim_status,
            "yes" if i.dkim_signing else "no",
            "yes" if i.sending_enabled else "no",
        )
    console.print(table)


@click.command("report")
@click.argument("send_id", type=int, required=False)
@click.option("--list", "list_slug", default=None, help="Report on a list's recent sends instead.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
@click.option("--recipients", "status", default=None, help="List the addresses behind one number.")
@click.option("--limit", default=None, type=int, help="At most this many recipients or sends.")
@pass_app
def report_cmd(
    app: AppContext,
    send_id: int | None,
    list_slug: str | None,
    fmt: str,
    status: str | None,
    limit: int | None,
) -> None:
    """Delivery report of SEND_ID, or of a list with --list SLUG.

    --recipients takes: sent, delivered, bounced, hard_bounced, soft_bounced,
    complained, unsubscribed, opened, clicked, failed, skipped, uncertain, pending.
    """
    from mailer import reports
    from mailer.reports import render

    console = Console(width=120)
    if list_slug is not None:
        lr = reports.list_report(
            app.database, list_slug, limit or 10, guardrails=app.settings.guardrails
        )
        if fmt == "json":
            click.echo(json.dumps(lr.to_dict(), indent=2))
        elif fmt == "csv":
            click.echo(render.list_csv(lr), nl=False)
        else:
            console.print(render.list_table(lr))
            for w in lr.warnings:
                console.print(f"[bold red]warning:[/] {w}")
        return
    if send_id is None:
        raise click.UsageError("give a SEND_ID, or --list SLUG")
    if status is not None:
        rows = reports.recipients_for(app.database, send_id, status, limit)
        if fmt == "json":
            click.echo(render.recipients_json(rows))
        elif fmt == "csv":
            click.echo(render.recipients_csv(rows), nl=False)
        else:
            console.print(render.recipients_table(rows, status))
        return
    report = reports.send_report(app.database, send_id, app.settings.guardrails)
    if fmt == "json":
        click.echo(render.send_json(report))
    elif fmt == "csv":
        click.echo(render.send_csv(report), nl=False)
    else:
        render.print_send(report, console)
        if report.counts.get("uncertain"):
            click.echo(f"the uncertain ones: `mailer report {send_id} --recipients uncertain`")


commands.extend([events_group, ses_group, report_cmd])
