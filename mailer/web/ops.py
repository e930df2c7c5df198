"""Operators' pages: lists with counts and health; sends and reports are routed from here."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mailer import reports
from mailer.db import web as store
from mailer.web import health, report, sends
from mailer.web.auth import login_required
from mailer.web.pages import WebState, render, web_state


@login_required
async def lists_page(request: Request) -> Response:
    state = web_state(request)
    rows = await state.run(store.list_overview, state.database)
    health = await state.run(_health, state, [r.slug for r in rows])
    return render(request, "admin/lists.html", {"lists": rows, "health": health})


@dataclass(frozen=True)
class Health:
    level: str  # ok or warning
    label: str
    detail: str


def _health(state: WebState, slugs: list[str]) -> dict[str, Health]:
    """Each list's health over its recent sends (bounce and complaint rates, warnings)."""
    out: dict[str, Health] = {}
    for slug in slugs:
        # Bounces and complaints only: no need to classify opens and clicks.
        found = reports.list_report(state.database, slug, limit=5, engagement=False)
        started = [r for r in found.sends if r.started_at is not None]
        if not started:
            continue
        sent = sum(r.counts.get("sent", 0) for r in started)
        bounced = sum(r.counts.get("bounced", 0) for r in started)
        complained = sum(r.counts.get("complained", 0) for r in started)
        detail = (
            f"last {len(started)} send{'s' if len(started) != 1 else ''}: "
            f"{bounced / sent if sent else 0:.1%} bounces, "
            f"{complained / sent if sent else 0:.2%} complaints"
        )
        if found.warnings:
            out[slug] = Health("warning", "needs attention", found.warnings[0])
        else:
            out[slug] = Health("ok", "healthy", detail)
    return out


routes = [
    Route("/admin/lists", lists_page),
    *sends.routes,
    *report.routes,
    *health.routes,
]
