"""CLI commands of the compose stage: check, build, schema."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mailer.cli import AppContext, pass_app
from mailer.errors import MailerError, Problem, ValidationError

# The compose stack (MJML, premailer, Markdown, Babel) is imported inside the
# commands: every other `mailer` command starts faster without it.
if TYPE_CHECKING:
    from mailer.compose import LintResult

commands: list[click.Command] = []


def _count(items: Sequence[object], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def _echo_warnings(warnings: Sequence[Problem]) -> None:
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)


def _echo_lint(results: list[LintResult]) -> None:
    for result in results:
        click.echo(str(result), err=result.level == "error")


@click.command("check", short_help="Validate an issue and list every problem.")
@click.argument("issue")
@click.option(
    "--list",
    "list_slug",
    default=None,
    help="Also warn where the issue's language or newsletter name differs from this list's.",
)
@pass_app
def check(app: AppContext, issue: str, list_slug: str | None) -> None:
    """Validate ISSUE (a folder, its issue.toml, or a slug) and list every problem.

    Warnings (raw HTML in Markdown, shown as text; with --list, a language or
    newsletter name that differs from the list's) are printed but do not fail.
    """
    from mailer.content import load_issue, resolve_issue_path
    from mailer.content.hints import issue_warnings
    from mailer.content.loader import display

    path = resolve_issue_path(issue, app.settings)
    try:
        loaded = load_issue(path, app.settings)
    except ValidationError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise MailerError(_count(exc.problems, "problem") + f" in {display(path)}") from exc
    warnings = issue_warnings(loaded)
    _echo_warnings(warnings)
    count = len(warnings)
    if list_slug is not None:
        from mailer.deliver.freeze import list_fit

        for line in list_fit(app.database, loaded, list_slug):
            click.echo(f"warning: {line}", err=True)
            count += 1
    more = f" ({count} warning{'s' if count != 1 else ''})" if count else ""
    click.echo(f"{display(path)}: ok{more}")


@click.command("build", short_help="Build an issue: email, text part, web pages.")
@click.argument("issue")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder [default: <paths.build_dir>/<slug>].",
)
@pass_app
def build(app: AppContext, issue: str, out_dir: Path | None) -> None:
    """Compose ISSUE into email.html, email.txt and its web pages; print the lint report."""
    from mailer.compose import build_issue
    from mailer.content import resolve_issue_path
    from mailer.content.hints import issue_warnings
    from mailer.content.loader import display
    from mailer.errors import LintFailed

    path = resolve_issue_path(issue, app.settings)
    try:
        result = build_issue(path, out_dir, app.settings)
    except ValidationError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise MailerError(_count(exc.problems, "problem") + f" in {display(path)}") from exc
    except LintFailed as exc:
        _echo_lint(exc.results)
        errors = [r for r in exc.results if r.level == "error"]
        raise MailerError(_count(errors, "lint error") + "; nothing written") from exc
    composed = result.composed
    _echo_warnings(issue_warnings(result.issue))
    _echo_lint(composed.lint)
    html_kb = len(composed.html.encode("utf-8")) / 1000
    click.echo(
        f"built {composed.slug} into {display(result.out_dir)}/: email.html ({html_kb:.1f} KB), "
        f"email.txt, web/ ({_count(result.files[2:], 'page')}); "
        + _count(composed.warnings, "warning")
    )


@click.command("schema")
def schema() -> None:
    """Print the JSON Schema of issue.toml."""
    from mailer.content import issue_schema

    click.echo(json.dumps(issue_schema(), indent=2, ensure_ascii=False))


commands.extend([check, build, schema])
