"""The ops Health page: `mailer doctor`, in the browser."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mailer.doctor import LABELS, diagnose
from mailer.web.auth import login_required
from mailer.web.pages import render, web_state

# The badge class of each verdict, from the stylesheet's ok/warning/error set.
BADGES = {"pass": "ok", "warn": "warning", "fail": "error", "unknown": "warning"}


@login_required
async def health_page(request: Request) -> Response:
    state = web_state(request)
    result = await state.run(diagnose, state.settings, state.database)
    return render(
        request,
        "admin/health.html",
        {"result": result, "labels": LABELS, "badges": BADGES},
    )


routes = [Route("/admin/health", health_page)]
