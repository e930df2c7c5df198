"""Operators' pages: lists with counts and health; sends and reports are routed from here."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mailer.lists import overview
from mailer.reports import health as list_health
from mailer.web import health, report, sends
from mailer.web.auth import login_required
from mailer.web.pages import render, web_state


@login_required
async def lists_page(request: Request) -> Response:
    state = web_state(request)
    rows = await state.run(overview.list_counts, state.database)
    found = await state.run(list_health.lists_health, state.database, [r.slug for r in rows])
    return render(request, "admin/lists.html", {"lists": rows, "health": found})


routes = [
    Route("/admin/lists", lists_page),
    *sends.routes,
    *report.routes,
    *health.routes,
]
