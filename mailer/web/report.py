"""One send's page: live progress, controls, the report, its chart, who is behind each number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mailer import reports
from mailer.db import utcnow
from mailer.db import web as store
from mailer.deliver.guardrails import tripped
from mailer.errors import NotFoundError
from mailer.reports import render as report_render
from mailer.web.app import render, web_state
from mailer.web.charts import Panel, timeline
from mailer.web.security import login_required
from mailer.web.sends import ACTIVE, send_id_of

RECIPIENT_PAGE = 500
UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
# Report rows that are people (clickable), and those that are sums over messages.
LINKED = set(reports.STATUSES)


def chart_unit(start: datetime, end: datetime) -> str:
    """Bucket size that gives a readable number of points for the send's span."""
    span = end - start
    if span <= timedelta(hours=3):
        return "minute"
    if span <= timedelta(days=7):
        return "hour"
    return "day"


def build_chart(
    state: Any, send_id: int, started: datetime | None, finished: datetime | None
) -> Markup | None:
    """The send's activity over time as SVG, or None before it has any."""
    if started is None:
        return None
    unit = chart_unit(started, finished or utcnow())
    mine = store.send_activity(state.database, send_id, unit)
    events = reports.timeline(state.database, send_id, "day" if unit == "day" else "hour")
    series: dict[str, dict[datetime, int]] = {
        "sent": mine["sent"],
        "delivered": {p["at"]: int(p["delivery"]) for p in events if p["delivery"]},
        "bounced": {p["at"]: int(p["bounce"]) for p in events if p["bounce"]},
        "complained": {p["at"]: int(p["complaint"]) for p in events if p["complaint"]},
        "unsubscribed": mine["unsubscribed"],
    }
    times = sorted({t for points in series.values() for t in points})
    if not times:
        return None
    # Start every line from zero one bucket before the first activity, so a
    # send that fits in one bucket still draws a rising line, not a dot.
    times.insert(0, times[0] - UNITS[unit])

    def line(name: str) -> list[int]:
        return [series[name].get(t, 0) for t in times]

    panels = [
        Panel(
            "Messages sent and delivered (cumulative)", {k: line(k) for k in ("sent", "delivered")}
        ),
        Panel(
            "Bounces, complaints and unsubscribes (cumulative)",
            {k: line(k) for k in ("bounced", "complained", "unsubscribed")},
        ),
    ]
    return timeline(times, panels, f"Activity of send {send_id} over time (UTC)")


def _load(state: Any, send_id: int) -> dict[str, Any]:
    row = store.send_row(state.database, send_id)
    guard = state.settings.guardrails
    report = reports.send_report(
        state.database,
        send_id,
        scanner_seconds=guard.scanner_seconds,
        scanner_links=guard.scanner_links,
    )
    return {
        "send": row,
        "report": report,
        "chart": build_chart(state, send_id, row.started_at, row.finished_at),
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
            "breaker_tripped": tripped(data["send"].status_reason or ""),
            "local_due": _local(data["send"].scheduled_at, state.settings.site.timezone),
        },
    )


def _local(when: datetime | None, zone: str) -> str:
    """``when`` (naive UTC) in the site's timezone, as editors scheduled it."""
    if when is None:
        return ""
    local = when.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))
    return f"{local:%Y-%m-%d %H:%M} {zone}"


def _status(request: Request) -> str:
    status = request.query_params.get("status", "")
    if status.replace("-", "_") not in LINKED:
        raise NotFoundError(f"no recipient status {status!r}; one of: {', '.join(sorted(LINKED))}")
    return status.replace("-", "_")


@login_required
async def recipients_page(request: Request) -> Response:
    state = web_state(request)
    send_id = send_id_of(request)
    status = _status(request)
    row = await state.run(store.send_row, state.database, send_id)
    people = await state.run(
        reports.recipients_for, state.database, send_id, status, RECIPIENT_PAGE + 1
    )
    label = next((lbl for name, lbl, _ in reports.ROWS if name == status), status)
    return render(
        request,
        "admin/recipients.html",
        {
            "send": row,
            "status": status,
            "label": label,
            "people": people[:RECIPIENT_PAGE],
            "more": len(people) > RECIPIENT_PAGE,
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
    return _csv(report_render.recipients_csv(people), f"send-{send_id}-{status}.csv")


routes = [
    Route("/admin/sends/{send_id}", send_page),
    Route("/admin/sends/{send_id}/recipients", recipients_page),
    Route("/admin/sends/{send_id}/report.csv", report_csv),
    Route("/admin/sends/{send_id}/recipients.csv", recipients_csv),
]
