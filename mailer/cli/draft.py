"""CLI command of the draft stage: ``mailer draft SOURCE... --out issues/<slug>``."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from mailer.cli import AppContext, pass_app
from mailer.errors import MailerError

commands: list[click.Command] = []


def _date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"must be a date like 2026-01-31 (got {value!r})") from exc


@click.command("draft", short_help="Draft an issue folder from pasted text or a web page.")
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The issue folder to create, e.g. issues/weekly-2026-02-02.",
)
@click.option(
    "--shape",
    type=click.Choice(["auto", "briefing", "article", "digest"]),
    default="auto",
    show_default=True,
    help="How the text is laid out (auto: recognised from the text).",
)
@click.option("--language", default=None, help="Language code [default: detected].")
@click.option("--newsletter", default=None, help="Newsletter name (copies its [newsletter]).")
@click.option("--date", callback=_date, default=None, help="Issue date, YYYY-MM-DD.")
@click.option("--force", is_flag=True, help="Replace an existing folder.")
@pass_app
def draft_command(
    app: AppContext,
    sources: tuple[str, ...],
    out_dir: Path,
    shape: str,
    language: str | None,
    newsletter: str | None,
    date: dt.date | None,
    force: bool,
) -> None:
    """Draft an issue from SOURCE files (.txt, .md, .html, or - for standard input).

    Several sources become the stories of one issue. What was recognised
    (sections, stories, briefs, dropped lines) is printed; lines that could
    not be placed are kept in a commented "# unplaced:" block of issue.toml.
    """
    from mailer.content import check_issue
    from mailer.content.loader import display
    from mailer.draft import create, draft, read

    if out_dir.exists() and not force:
        raise MailerError(f"{out_dir} already exists; use --force to replace it")
    if sources.count("-") > 1:
        raise MailerError("standard input (-) can be given only once")
    stdin = sys.stdin.buffer.read() if "-" in sources else None
    read_sources = [read(ref, stdin) for ref in sources]
    result = draft(
        read_sources,
        app.settings,
        shape=shape,
        language=language,
        newsletter=newsletter,
        date=date,
    )
    for line in result.report():
        click.echo(line)
    files = create(result, [s.name for s in read_sources], out_dir, force)
    problems = check_issue(out_dir, app.settings)
    for problem in problems:
        click.echo(str(problem), err=True)
    click.echo(f"wrote {display(out_dir)}/: {', '.join(sorted(files))}")
    if problems:
        raise MailerError(
            f"the draft has {len(problems)} problems; fix them in {display(out_dir)}/"
        )


commands.append(draft_command)
