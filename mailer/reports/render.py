"""Reports as a terminal table, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from rich.console import Console
from rich.table import Table

from mailer.csvcells import cell
from mailer.reports import ENGAGEMENT_ROWS, ROWS, ListReport, SendReport

TRACKED = ENGAGEMENT_ROWS


def _visible_rows(report: SendReport) -> list[tuple[str, str, str]]:
    return [r for r in ROWS if report.tracked or r[0] not in TRACKED]


def send_table(report: SendReport) -> Table:
    title = f"Send {report.send_id}: {report.issue} to {report.list_slug} ({report.status})"
    table = Table(title=title, caption=report.subject)
    table.add_column("")
    table.add_column("count", justify="right")
    table.add_column("rate", justify="right")
    table.add_column("of", style="dim")
    for name, label, base in _visible_rows(report):
        rate = report.rates.get(name)
        style = ""
        if name in ("hard_bounced", "soft_bounced") and report.bounce_rate > 0.05:
            style = "bold red"
        if name == "complained" and report.complaint_rate > 0.001:
            style = "bold red"
        table.add_row(
            label,
            f"{report.counts.get(name, 0):,}",
            f"{rate:.2%}" if rate is not None and base else "",
            base,
            style=style,
        )
    if report.tracked:
        table.add_row("Opens (total)", f"{report.counts['opens']:,}", "", "")
        table.add_row("Clicks (total)", f"{report.counts['clicks']:,}", "", "")
    else:
        table.add_row("Opens, clicks", "not tracked", "", "", style="dim")
    return table


def engagement_table(report: SendReport) -> Table | None:
    """Per story, then per link: people who clicked (unique), machines set apart."""
    eng = report.engagement
    if eng is None or not (eng.links or eng.stories):
        return None
    table = Table(
        title="Clicks per story and link",
        caption=f"opens: {eng.opens:,} people, {eng.machine_opens:,} machines (unique)",
    )
    table.add_column("story / link")
    table.add_column("people", justify="right")
    table.add_column("machines", justify="right")
    for story in eng.stories:
        table.add_row(
            f"{story.number}. {story.story or '(no headline)'}",
            f"{story.clicks:,}",
            f"{story.machine_clicks:,}",
            style="bold",
        )
    for link in eng.links:
        where = f" [dim]({link.story})[/]" if link.story else ""
        table.add_row(f"  {link.url}{where}", f"{link.clicks:,}", f"{link.machine_clicks:,}")
    return table


def print_send(report: SendReport, console: Console) -> None:
    console.print(send_table(report))
    per_story = engagement_table(report)
    if per_story is not None:
        console.print(per_story)
    for warning in report.warnings:
        console.print(f"[bold red]warning:[/] {warning}")


def send_json(report: SendReport) -> str:
    return json.dumps(report.to_dict(), indent=2)


def send_csv(report: SendReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["measure", "count", "rate", "of"])
    for name, _label, base in ROWS:
        rate = report.rates.get(name)
        writer.writerow(
            [
                name,
                report.counts.get(name, 0),
                f"{rate:.6f}" if base and rate is not None else "",
                base,
            ]
        )
    writer.writerow(["opens", report.counts.get("opens", 0), "", ""])
    writer.writerow(["clicks", report.counts.get("clicks", 0), "", ""])
    return out.getvalue()


RECIPIENT_FIELDS = [
    "email",
    "status",
    "bounce_type",
    "feedback",
    "error",
    "sent_at",
    "delivered_at",
    "bounced_at",
    "complained_at",
    "unsubscribed_at",
    "opens",
    "clicks",
]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return str(value.isoformat(sep=" ", timespec="seconds"))
    return str(value)


def recipients_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=RECIPIENT_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: cell(_cell(row.get(k))) for k in RECIPIENT_FIELDS})
    return out.getvalue()


def recipients_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(
        [{k: _cell(r.get(k)) or None for k in RECIPIENT_FIELDS} for r in rows], indent=2
    )


def recipients_table(rows: list[dict[str, Any]], status: str) -> Table:
    table = Table(title=f"{len(rows):,} recipients: {status}")
    for col in ("email", "status", "detail", "when"):
        table.add_column(col)
    for row in rows:
        detail = row.get("error") or row.get("feedback") or row.get("bounce_type") or ""
        when = (
            row.get("bounced_at")
            or row.get("complained_at")
            or row.get("delivered_at")
            or row.get("sent_at")
        )
        table.add_row(row["email"], row["status"], str(detail)[:80], _cell(when))
    return table


def list_table(report: ListReport) -> Table:
    subs = report.subscriptions
    caption = ", ".join(f"{k}: {v:,}" for k, v in sorted(subs.items())) or "no subscriptions"
    table = Table(title=f"List {report.slug}: {report.name}", caption=f"subscriptions: {caption}")
    for col in (
        "send",
        "issue",
        "when",
        "recipients",
        "delivered",
        "bounces",
        "complaints",
        "unsubs",
        "opens",
        "clicks",
    ):
        table.add_column(col, justify="left" if col in ("issue", "when") else "right")
    for r in report.sends:
        when = r.started_at or r.created_at
        table.add_row(
            str(r.send_id),
            r.issue,
            _cell(when),
            f"{r.counts['recipients']:,}",
            f"{r.rates['delivered']:.1%}",
            f"{r.bounce_rate:.2%}",
            f"{r.complaint_rate:.3%}",
            f"{r.rates['unsubscribed']:.2%}",
            f"{r.rates['opened']:.1%}" if r.tracked else "-",
            f"{r.rates['clicked']:.1%}" if r.tracked else "-",
            style="bold red" if r.warnings else "",
        )
    return table


def list_csv(report: ListReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    names = [name for name, _, _ in ROWS]
    writer.writerow(["send_id", "issue", "status", *names, "bounce_rate", "complaint_rate"])
    for r in report.sends:
        writer.writerow(
            [
                r.send_id,
                cell(r.issue),
                cell(r.status),
                *[r.counts.get(n, 0) for n in names],
                f"{r.bounce_rate:.6f}",
                f"{r.complaint_rate:.6f}",
            ]
        )
    return out.getvalue()
