"""One send's page: live progress, controls, the report, its chart, who is behind each number."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mailer import clock, reports
from mailer.deliver import overview
from mailer.deliver.guardrails import tripped
from mailer.errors import NotFoundError
from mailer.reports import activity
from mailer.reports import render as report_render
from mailer.web import sending
from mailer.web.auth import login_required
from mailer.web.charts import Panel, timeline
from mailer.web.pages import WebState, render, web_state
from mailer.web.sends import ACTIVE, send_id_of

RECIPIENT_PAGE = 100
# Report rows that are people (clickable), and those that are sums over messages.
LINKED = {"recipients", *reports.STATUSES}
SERIES = activity.SERIES


def build_chart(state: WebState, send_id: int, started: datetime | None) -> Markup | None:
    """The send's activity over time as SVG, or None before it has any."""
    zone = state.settings.site.timezone
    found = activity.send_activity(state.database, send_id, started, zone)
    if found is None:
        return None
    unit, times, lines = found.unit, found.times, found.lines
    panels = [
        Panel("Messages sent and delivered (cumulative)", {k: lines[k] for k in SERIES[:2]}),
        Panel(
            "Bounces, complaints and unsubscribes (cumulative)", {k: lines[k] for k in SERIES[2:]}
        ),
    ]
    title = f"Activity of send {send_id} per {unit}, times in {zone} ({clock.offset(times[-1])})"
    return timeline(times, panels, title, unit)


def _load(state: WebState, send_id: int) -> dict[str, Any]:
    row = overview.send_row(state.database, send_id)
    report = reports.send_report(state.database, send_id, state.settings.guardrails)
    not_started = row.started_at is None
    return {
        "send": row,
        "report": report,
        "chart": build_chart(state, send_id, row.started_at),
        "freeze": sending.freeze_state(state, send_id),
        "audience": overview.audience(state.database, row.list_slug) if not_started else None,
    }


@login_required
async def send_page(request: Request) -> Response:
    state = web_state(request)
    send_id = send_id_of(request)
    data = await state.run(_load, state, send_id)
    report = data["report"]
    figures = [
        {
            "name": name,
            "label": label,
            "value": report.counts.get(name, 0),
            "rate": report.rates.get(name) if base else None,
            "base": base,
            "linked": name in LINKED,
            "alert": (name == "complained" and report.complaint_rate > reports.COMPLAINT_WARNING)
            or (
                name in ("hard_bounced", "soft_bounced")
                and report.bounce_rate > reports.BOUNCE_WARNING
            ),
        }
        for name, label, base in reports.ROWS
        if report.tracked or name not in reports.ENGAGEMENT_ROWS
    ]
    return render(
        request,
        "admin/send.html",
        {
            **data,
            "figures": figures,
            "active": data["send"].status in ACTIVE,
            "can_refreeze": data["send"].started_at is None
            and data["send"].status in ("scheduled", "paused"),
            "breaker_tripped": tripped(data["send"].status_reason or ""),
        },
    )


def _status(request: Request) -> str | None:
    """The recipients filter: a number of the report, or None (everyone)."""
    status = request.query_params.get("status", "").replace("-", "_")
    if status in ("", "recipients"):
        return None
    if status not in LINKED:
        raise NotFoundError(f"no recipient status {status!r}; one of: {', '.join(sorted(LINKED))}")
    return status


def _after(request: Request) -> int | None:
    raw = request.query_params.get("after", "")
    if raw and not raw.isdigit():
        raise NotFoundError(f"no page after {raw!r}")
    return int(raw) if raw else None


@login_required
async def recipients_page(request: Request) -> Response:
    state = web_state(request)
    send_id = send_id_of(request)
    status = _status(request)
    after = _after(request)
    row = await state.run(overview.send_row, state.database, send_id)
    people = await state.run(
        partial(
            reports.recipients_for,
            state.database,
            send_id,
            status,
            RECIPIENT_PAGE + 1,
            after_id=after or 0,
        )
    )
    shown = people[:RECIPIENT_PAGE]
    key = status or "recipients"
    label = next((lbl for name, lbl, _ in reports.ROWS if name == key), key)
    query = f"status={key}&" if status else ""
    return render(
        request,
        "admin/recipients.html",
        {
            "send": row,
            "status": key,
            "label": label,
            "people": shown,
            "choices": [(name, lbl) for name, lbl, _ in reports.ROWS if name in LINKED],
            "next_url": f"?{query}after={shown[-1]['id']}"
            if len(people) > RECIPIENT_PAGE
            else None,
            "first_url": (f"?status={key}" if status else "?") if after else None,
            "csv_url": f"/admin/sends/{send_id}/recipients.csv"
            + (f"?status={status}" if status else ""),
        },
    )


def _csv(body: str, filename: str) -> Response:
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


@login_required
async def report_csv(request: Request) -> Response:
    state = web_state(request)
    send_id = send_id_of(request)
    report = await state.run(reports.send_report, state.database, send_id)
    return _csv(report_render.send_csv(report), f"send-{send_id}-report.csv")


@login_required
async def recipients_csv(request: Request) -> Response:
    state = web_state(request)
    send_id = send_id_of(request)
    status = _status(request)
    people = await state.run(reports.recipients_for, state.database, send_id, status, None)
    return _csv(report_render.recipients_csv(people), f"send-{send_id}-{status or 'all'}.csv")


routes = [
    Route("/admin/sends/{send_id}", send_page),
    Route("/admin/sends/{send_id}/recipients", recipients_page),
    Route("/admin/sends/{send_id}/report.csv", report_csv),
    Route("/admin/sends/{send_id}/recipients.csv", recipients_csv),
]
