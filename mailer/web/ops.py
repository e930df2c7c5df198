"""Operators' pages: lists with counts and health, subscribers with history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from mailer import reports
from mailer.db import web as store
from mailer.errors import MailerError, NotFoundError
from mailer.lists import people
from mailer.web import health, report, sends
from mailer.web.app import flash, render, web_state
from mailer.web.security import form_str, login_required


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


def _health(state: Any, slugs: list[str]) -> dict[str, Health]:
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


@login_required
async def subscribers_page(request: Request) -> Response:
    state = web_state(request)
    query = request.query_params.get("q", "").strip()
    found: list[Any] = []
    if query:
        found = await state.run(people.find, state.database, query, 100)
    return render(request, "admin/subscribers.html", {"q": query, "found": found})


@login_required
async def subscriber_page(request: Request) -> Response:
    state = web_state(request)
    email = request.query_params.get("email", "").strip()
    if not email:
        return RedirectResponse("/admin/subscribers", status_code=303)
    profile = await state.run(people.show, state.database, email)
    deliveries, events = await state.run(store.subscriber_history, state.database, email)
    return render(
        request,
        "admin/subscriber.html",
        {"profile": profile, "deliveries": deliveries, "events": events},
    )


@login_required
async def subscriber_action(request: Request) -> Response:
    state = web_state(request)
    form = await request.form()
    email = form_str(form, "email")
    action = request.path_params["action"]
    try:
        if action == "suppress":
            detail = form_str(form, "detail") or "suppressed in the web app"
            changed = await state.run(people.suppress, state.database, email, detail)
            flash(
                request,
                f"{email} is suppressed." if changed else f"{email} was already suppressed.",
            )
        elif action == "unsuppress":
            changed = await state.run(people.unsuppress, state.database, email)
            flash(
                request,
                f"Suppression of {email} lifted." if changed else f"{email} was not suppressed.",
            )
        else:
            raise NotFoundError(f"no action {action!r}")
    except NotFoundError:
        raise
    except MailerError as exc:
        flash(request, exc.message, "error")
    return RedirectResponse(f"/admin/subscribers/show?email={quote(email)}", status_code=303)


routes = [
    Route("/admin/lists", lists_page),
    Route("/admin/subscribers", subscribers_page),
    Route("/admin/subscribers/show", subscriber_page),
    Route("/admin/subscribers/{action}", subscriber_action, methods=["POST"]),
    *sends.routes,
    *report.routes,
    *health.routes,
]
