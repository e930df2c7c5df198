"""CLI commands of the deliver stage: ``mailer send``, ``mailer sends …``, ``mailer worker``."""

from __future__ import annotations

import getpass
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from mailer.cli import AppContext, pass_app
from mailer.clock import local_time
from mailer.deliver import freeze, overview, queue, sends
from mailer.deliver.engine import SenderList
from mailer.deliver.guardrails import tripped
from mailer.deliver.worker import Worker
from mailer.errors import MailerError, WorkerBusy
from mailer.keys import site_keys
from mailer.status import MailStatus, RecipientStatus, SendStatus

commands: list[click.Command] = []
RS = RecipientStatus
DONE_STATES = (RS.SENT, RS.FAILED, RS.SKIPPED, RS.UNCERTAIN)


def _warn(warnings: list[str]) -> None:
    for line in warnings:
        click.echo(f"warning: {line}", err=True)


def _when(app: AppContext, value: Any) -> str:
    return local_time(value, app.settings.site.timezone, seconds=True)


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM/SIGINT: finish the messages in flight, release the rest, exit."""

    def handler(signum: int, _frame: Any) -> None:
        if not stop.is_set():
            # os.write, not click.echo: a signal may land in the middle of
            # another write to the same buffered stream.
            os.write(2, b"stopping: finishing the messages in flight, releasing the rest\n")
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


class _Bar:
    """A rich progress bar on a terminal: sent/total, rate, ETA."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("send #{task.fields[send_id]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>8.0f} msg/s"),
            TimeRemainingColumn(),
            console=console,
        )
        self.task: Any = None
        self.start = time.monotonic()

    def update(self, send_id: int, counts: dict[str, int], total: int) -> None:
        done = sum(counts[s] for s in DONE_STATES)
        rate = done / max(time.monotonic() - self.start, 1e-6)
        if self.task is None:
            self.task = self.progress.add_task("send", total=total, send_id=send_id, rate=rate)
        self.progress.update(self.task, completed=done, total=total, rate=rate)


def _console() -> Console:
    """A console; piped output is not cut to 80 columns (scripts read whole rows)."""
    console = Console()
    return console if console.is_terminal else Console(width=200)


def _log_to_stderr() -> None:
    """mailer's own log (a circuit breaker tripping or overridden) goes to stderr.

    Only the ``mailer`` logger: the root logger at INFO would let every
    library (Alembic, botocore) talk on the worker's stderr too.
    """
    logger = logging.getLogger("mailer")
    if any(getattr(h, "mailer_cli", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.mailer_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def _operator() -> str:
    """Who runs this command, for the log of a breaker override."""
    try:
        return f"{getpass.getuser()} (CLI)"
    except (KeyError, OSError):
        return "CLI user"


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts[s]:,} {s}" for s in RS.ALL if counts[s]) or "no recipients"


def _deliver_now(app: AppContext, send_id: int, send_list: SenderList | None = None) -> None:
    console = Console()
    stop = threading.Event()
    bar = _Bar(console) if console.is_terminal else None
    worker = Worker(app.settings, app.database, stop=stop)
    try:
        with _stop_on_signals(stop):
            if bar is not None:
                with bar.progress:
                    worker.run(only_send=send_id, on_progress=bar.update, send_list=send_list)
            else:
                worker.run(only_send=send_id, send_list=send_list)
    except WorkerBusy:
        click.echo(f"a worker is running: it will deliver send #{send_id}")
        return
    send = overview.progress(app.database, send_id)
    counts = send.counts
    click.echo(f"send #{send_id} {send.status}: {_summary(counts)}")
    if send.status == SendStatus.PAUSED:
        click.echo(f"paused: {send.status_reason}")
    elif stop.is_set() and send.status == SendStatus.RUNNING:
        click.echo("stopped: `mailer worker` (or `mailer send` again) resumes it")
    if counts[RS.UNCERTAIN]:
        click.echo(f"{counts[RS.UNCERTAIN]} uncertain: see `mailer sends show {send_id}`")


@click.command("send")
@click.argument("issue")
@click.option("--list", "list_slug", required=True, help="Slug of the list to send to.")
@click.option("--at", "at", default=None, help='Schedule for this local time: "2026-11-24 08:00".')
@click.option("--tz", default=None, help="Timezone of --at [default: site.timezone].")
@click.option("--test-to", default=None, help="Send a [TEST] copy to these addresses only.")
@click.option("--again", is_flag=True, help="Send even though this issue already went to the list.")
@pass_app
def send_cmd(
    app: AppContext,
    issue: str,
    list_slug: str,
    at: str | None,
    tz: str | None,
    test_to: str | None,
    again: bool,
) -> None:
    """Send ISSUE (a slug under issues/ or a folder) to a list, now or --at a time."""
    settings = app.settings
    site_keys(settings)  # every message carries signed links: refuse an unusable key first
    load = freeze.issue_files(settings)
    if test_to is not None:
        try:
            addresses = sends.test_addresses(test_to)
        except MailerError as exc:
            raise MailerError(f"--test-to: {exc.message}") from exc
        copy = sends.send_test_copy(settings, app.database, load(issue), list_slug, addresses)
        _warn(copy.warnings)
        click.echo(f"test copy of {copy.issue_slug!r} sent to {', '.join(copy.addresses)}")
        return
    when = sends.parse_when(at, tz or settings.site.timezone) if at else None
    created = sends.send_issue(settings, app.database, load(issue), list_slug, at=when, again=again)
    composed, send_id = created.frozen.composed, created.send_id
    _warn(created.frozen.warnings)
    if at:
        click.echo(
            f"send #{send_id} of {composed.slug!r} to {list_slug!r} scheduled for {at} "
            f"({tz or settings.site.timezone}); `mailer worker` will start it"
        )
        return
    click.echo(f"send #{send_id}: {composed.slug!r} to list {list_slug!r}")
    _deliver_now(app, send_id, created.frozen.sender)


commands.append(send_cmd)


# --- mailer sends ------------------------------------------------------------------


@click.group("sends", invoke_without_command=True)
@click.pass_context
def sends_group(ctx: click.Context) -> None:
    """List sends with status and counts; show, pause, resume, cancel or retry one."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_sends)


@sends_group.command("list")
@click.option("--limit", default=50, show_default=True, help="How many of the latest sends.")
@pass_app
def list_sends(app: AppContext, limit: int = 50) -> None:
    """The latest sends, newest first."""
    rows = overview.sends_overview(app.database, limit)
    if not rows:
        click.echo("no sends yet: `mailer send ISSUE --list SLUG`")
        return
    table = Table(title="sends")
    for col in ("id", "issue", "list", "status", "when", "total", *DONE_STATES, "queued"):
        table.add_column(col, justify="right" if col in ("id", "total", *RS.ALL) else "left")
    for send in rows:
        c = send.counts
        when = send.started_at or send.scheduled_at or send.created_at
        table.add_row(
            str(send.id),
            send.issue_slug,
            send.list_slug,
            send.status,
            local_time(when, app.settings.site.timezone),
            f"{send.total:,}",
            *(f"{c[s]:,}" for s in DONE_STATES),
            f"{c[RS.QUEUED] + c[RS.SENDING]:,}",
        )
    _console().print(table)


@sends_group.command("show")
@click.argument("send_id", type=int)
@click.option("--limit", default=100, show_default=True, help="Recipients listed per status.")
@pass_app
def show_send(app: AppContext, send_id: int, limit: int) -> None:
    """One send: status, counts, and its uncertain and failed recipients."""
    detail = overview.send_detail(app.database, send_id, limit)
    send, slug, counts = detail.row, detail.row.list_slug, detail.row.counts
    click.echo(f"send #{send.id}: issue {send.issue_slug!r} to list {slug!r}")
    click.echo(f"subject: {send.subject}")
    status = send.status + (f" ({send.status_reason})" if send.status_reason else "")
    click.echo(f"status: {status}")
    if send.status == SendStatus.PAUSED and tripped(send.status_reason):
        click.echo(f"resume past the breaker: `mailer sends resume {send_id} --override`")
    if detail.breaker_overridden_at:
        when = detail.breaker_overridden_at
        click.echo(f"circuit breaker overridden: {when:%Y-%m-%d %H:%M:%S} UTC")
    for label, value in (
        ("scheduled", send.scheduled_at),
        ("started", send.started_at),
        ("finished", send.finished_at),
    ):
        if value:
            click.echo(f"{label}: {_when(app, value)}")
    if detail.frozen_at:
        click.echo(f"content frozen: {_when(app, detail.frozen_at)}")
    if detail.audience is not None:
        audience = detail.audience
        click.echo(f"audience now: {audience:,} (active, not suppressed; counted again at start)")
        if send.status in (SendStatus.SCHEDULED, SendStatus.PAUSED):
            state = freeze.freeze_state(
                app.settings, app.database, send_id, freeze.issue_files(app.settings)
            )
            if state.problem:
                click.echo(f"note: {state.problem}")
            if state.changes:
                click.echo("the issue's files changed since this send was frozen:")
                for line in state.changes:
                    click.echo(f"  - {line}")
                click.echo(
                    f"the frozen version goes out; `mailer sends refreeze {send_id}` "
                    "freezes the files as they are now"
                )
    click.echo(f"recipients: {send.total:,} ({_summary(counts)})")
    for label, rows, hint in (
        ("uncertain", detail.uncertain, "--uncertain"),
        ("failed", detail.failed, "--failed"),
    ):
        if not rows:
            continue
        click.echo(f"{label} ({counts[label]:,}; `mailer sends retry {send_id} {hint}` re-sends):")
        for email, error, attempts in rows:
            click.echo(f"  {email}  [{attempts} tries] {error}")
        if counts[label] > len(rows):
            click.echo(f"  … and {counts[label] - len(rows):,} more")


@sends_group.command("refreeze")
@click.argument("send_id", type=int)
@pass_app
def refreeze_send(app: AppContext, send_id: int) -> None:
    """Freeze a scheduled send again from its issue's files as they are now."""
    frozen = sends.refreeze_from_files(
        app.settings, app.database, send_id, freeze.issue_files(app.settings)
    )
    _warn(frozen.warnings)
    click.echo(f"send #{send_id} re-frozen: subject {frozen.composed.subject!r}")


@sends_group.command("pause")
@click.argument("send_id", type=int)
@pass_app
def pause_send(app: AppContext, send_id: int) -> None:
    """Stop handing out messages of a send (those in flight finish)."""
    sends.pause(app.database, send_id)
    click.echo(f"send #{send_id} paused")


@sends_group.command("resume")
@click.argument("send_id", type=int)
@click.option("--now/--queue-only", default=True, help="Deliver in-process now [default].")
@click.option(
    "--override",
    is_flag=True,
    help="Resume a send its circuit breaker paused (logged; the breaker stays off for it).",
)
@pass_app
def resume_send(app: AppContext, send_id: int, now: bool, override: bool) -> None:
    """Resume a paused send and deliver it (or leave it to `mailer worker`)."""
    site_keys(app.settings)
    _log_to_stderr()
    status = sends.resume(app.database, send_id, override=override, by=_operator())
    note = " (circuit breaker overridden)" if override else ""
    click.echo(f"send #{send_id} {status} again{note}")
    if now and status == SendStatus.RUNNING:
        _deliver_now(app, send_id)


@sends_group.command("cancel")
@click.argument("send_id", type=int)
@pass_app
def cancel_send(app: AppContext, send_id: int) -> None:
    """Cancel a send: its queued recipients will not get it."""
    left = sends.cancel(app.database, send_id)
    click.echo(f"send #{send_id} cancelled; {left:,} recipients will not get it")


@sends_group.command("retry")
@click.argument("send_id", type=int)
@click.option("--uncertain", "which", flag_value=RS.UNCERTAIN, help="Re-send uncertain ones.")
@click.option("--failed", "which", flag_value=RS.FAILED, help="Re-send failed ones.")
@click.option("--now/--queue-only", default=True, help="Deliver in-process now [default].")
@pass_app
def retry_send(app: AppContext, send_id: int, which: str | None, now: bool) -> None:
    """Queue a send's uncertain (maybe sent twice!) or failed recipients again."""
    if which is None:
        raise MailerError("say which recipients to retry: --uncertain or --failed")
    site_keys(app.settings)
    n = sends.retry(app.database, send_id, which)
    click.echo(f"send #{send_id}: {n:,} {which} recipients queued again")
    if n and now:
        _deliver_now(app, send_id)


commands.append(sends_group)


# --- mailer queue ----------------------------------------------------------------------


@click.group("queue", invoke_without_command=True)
@click.option("--limit", default=20, show_default=True, help="Failed and uncertain rows shown.")
@click.pass_context
def queue_group(ctx: click.Context, limit: int) -> None:
    """The mail queue (confirmations): counts, and the failed and uncertain messages."""
    if ctx.invoked_subcommand is not None:
        return
    app = ctx.find_object(AppContext)
    assert app is not None
    state = queue.queue_state(app.database, limit)
    click.echo(", ".join(f"{n:,} {status}" for status, n in state.counts.items() if n) or "empty")
    for row in state.stuck:
        click.echo(
            f"  #{row.id} {row.kind} to {row.to_email} {row.status} "
            f"[{row.attempts} tries, {row.created_at:%Y-%m-%d %H:%M} UTC] {row.error}"
        )
    if any(row.status == MailStatus.UNCERTAIN for row in state.stuck):
        click.echo("uncertain ones may have been sent: `mailer queue retry --uncertain` re-sends")


@queue_group.command("retry")
@click.option("--uncertain", "which", flag_value=MailStatus.UNCERTAIN, help="Re-send uncertain.")
@click.option("--failed", "which", flag_value=MailStatus.FAILED, help="Re-send failed ones.")
@pass_app
def queue_retry(app: AppContext, which: str | None) -> None:
    """Queue failed (or uncertain: maybe sent twice!) messages again for the worker."""
    if which is None:
        raise MailerError("say which messages to retry: --uncertain or --failed")
    n = queue.requeue(app.database, which)
    click.echo(f"{n:,} {which} messages queued again; `mailer worker` delivers them")


commands.append(queue_group)


# --- mailer worker --------------------------------------------------------------------


@click.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@pass_app
def worker_cmd(app: AppContext, once: bool) -> None:
    """Start due sends and deliver their messages; SIGTERM finishes in-flight ones and exits."""
    _log_to_stderr()
    stop = threading.Event()
    worker = Worker(app.settings, app.database, stop=stop)
    with _stop_on_signals(stop):
        stats = worker.run(once=once)
    click.echo(
        f"worker {worker.worker_id}: {stats.handled:,} messages handled, "
        f"{stats.started} sends started"
        + (
            f", {stats.uncertain_found} left in flight by a dead worker marked uncertain"
            if stats.uncertain_found
            else ""
        )
        + (f", {stats.queued_mail} queued mails and requests handled" if stats.queued_mail else "")
        + (
            f", {stats.feedback_messages} feedback messages ingested"
            if stats.feedback_messages
            else ""
        )
    )


commands.append(worker_cmd)
