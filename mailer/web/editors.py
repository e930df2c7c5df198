"""Editors' pages: the issues, a live preview, test sends and scheduling."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from mailer import links
from mailer.db import web as store
from mailer.errors import MailerError, NotFoundError, ValidationError
from mailer.web import preview, sending
from mailer.web.app import flash, render, web_state
from mailer.web.archive import ARCHIVE_CSP
from mailer.web.issues import fingerprint, issue_slugs
from mailer.web.security import EMAIL_FRAME_CSP, form_str, login_required

VIEWS = ("devices", "dark", "text")
COMMON_ZONES = ("UTC", "Europe/Brussels", "Europe/Amsterdam", "Europe/London", "America/New_York")


@login_required
async def admin_home(request: Request) -> Response:
    return RedirectResponse("/admin/issues", status_code=303)


@login_required
async def issues(request: Request) -> Response:
    state = web_state(request)

    def summaries() -> list[Any]:
        found = [state.issues.summary(slug) for slug in issue_slugs(state.settings)]
        # Newest first; issues that do not parse (no date) go last.
        return sorted(found, key=lambda s: (s.date or "0000", s.slug), reverse=True)

    items = await state.run(summaries)
    states = await state.run(store.issue_states, state.database)
    return render(
        request,
        "admin/issues.html",
        {"issues": items, "states": states, "draft": store.DRAFT},
    )


@login_required
async def issue_preview(request: Request) -> Response:
    state = web_state(request)
    slug = request.path_params["slug"]
    view = request.query_params.get("view", "devices")
    view = view if view in VIEWS else "devices"
    summary = await state.run(state.issues.summary, slug)
    composed = None
    problems = [str(p) for p in summary.problems]
    if not problems:
        try:
            composed = await state.run(state.issues.composed, slug)
        except ValidationError as exc:
            problems = [str(p) for p in exc.problems]
        except MailerError as exc:
            problems = [exc.message]
    lists = await state.run(store.public_lists, state.database)
    findings = composed.lint if composed is not None else []
    lint = [{"level": r.level, "text": r.message, "code": r.code} for r in findings]
    text_part = ""
    if composed is not None and view == "text":
        text_part = preview.fill_placeholders(
            composed.text, links.issue_url(state.settings, slug), escape=False
        )
    zones = sorted(zoneinfo.available_timezones())
    return render(
        request,
        "admin/preview.html",
        {
            "slug": slug,
            "summary": summary,
            "composed": composed,
            "problems": problems,
            "lint": lint,
            "view": view,
            "text_part": text_part,
            "dark_rules": composed is not None and preview.has_dark_rules(composed.html),
            "fingerprint": await state.run(_fingerprint, state, slug),
            "lists": lists,
            "zones": zones,
            "common_zones": [z for z in COMMON_ZONES if z in zones],
            "default_zone": state.settings.site.timezone,
            "today": datetime.now(zoneinfo.ZoneInfo(state.settings.site.timezone)).date(),
            "from_name": _from_name(composed, summary),
        },
    )


def _from_name(composed: Any, summary: Any) -> str:
    return str(getattr(composed, "from_name", None) or summary.title)


def _fingerprint(state: Any, slug: str) -> str:
    return fingerprint(state.settings, slug)


@login_required
async def issue_frame(request: Request) -> Response:
    """The composed email alone, for the preview iframes (same-origin framing only)."""
    state = web_state(request)
    slug = request.path_params["slug"]
    composed = await state.run(state.issues.composed, slug)
    dark = request.query_params.get("dark") == "1"
    doc = preview.frame_document(
        composed.html,
        links.issue_url(state.settings, slug),
        dark,
        draft_url=f"/admin/issues/{slug}/web/",
    )
    return HTMLResponse(
        doc,
        headers={"content-security-policy": EMAIL_FRAME_CSP, "x-frame-options": "SAMEORIGIN"},
    )


@login_required
async def issue_web(request: Request) -> Response:
    """The issue's web version and story pages, before it is published."""
    state = web_state(request)
    slug = request.path_params["slug"]
    rest = request.path_params.get("rest", "").strip("/")
    pages = await state.run(state.issues.web_pages, slug)
    for key in [rest, f"{rest}/index.html"] if rest else ["index.html"]:
        if key in pages:
            page = str(pages[key]).replace(
                links.issue_url(state.settings, slug), f"/admin/issues/{slug}/web/"
            )
            return HTMLResponse(page, headers={"content-security-policy": ARCHIVE_CSP})
    raise NotFoundError(f"no page {rest!r} in issue {slug!r}")


@login_required
async def issue_state(request: Request) -> Response:
    """The issue's fingerprint: the preview polls it and reloads when it changes."""
    state = web_state(request)
    stamp = await state.run(_fingerprint, state, request.path_params["slug"])
    return JSONResponse({"fingerprint": stamp})


@login_required
async def test_send(request: Request) -> Response:
    state = web_state(request)
    slug = request.path_params["slug"]
    form = await request.form()
    raw = form_str(form, "addresses")
    addresses = [
        a.strip() for a in raw.replace(";", ",").replace("\n", ",").split(",") if a.strip()
    ]
    list_slug = form_str(form, "list") or None
    back = f"/admin/issues/{slug}"
    if not addresses:
        flash(request, "Type at least one address for the test.", "error")
        return RedirectResponse(back, status_code=303)
    try:
        count = await state.run(sending.test_send, state, slug, addresses, list_slug)
    except MailerError as exc:
        flash(request, f"Test not sent: {exc.message}", "error")
    else:
        flash(request, f"Test copy sent to {count} address{'es' if count != 1 else ''}.")
    return RedirectResponse(back, status_code=303)


@login_required
async def schedule(request: Request) -> Response:
    state = web_state(request)
    slug = request.path_params["slug"]
    form = await request.form()
    list_slug = form_str(form, "list")
    when = form_str(form, "when", "later")
    date, time, zone = form_str(form, "date"), form_str(form, "time"), form_str(form, "timezone")
    again = form_str(form, "again") == "1"
    try:
        send_id = await state.run(
            sending.schedule, state, slug, list_slug, when == "now", date, time, zone, again
        )
    except MailerError as exc:
        flash(request, f"Not scheduled: {exc.message}", "error")
        return RedirectResponse(f"/admin/issues/{slug}", status_code=303)
    flash(request, f"Send #{send_id} {'started' if when == 'now' else 'scheduled'}.")
    return RedirectResponse(f"/admin/sends/{send_id}", status_code=303)


routes = [
    Route("/admin", admin_home),
    Route("/admin/", admin_home),
    Route("/admin/issues", issues),
    Route("/admin/issues/{slug}", issue_preview),
    Route("/admin/issues/{slug}/frame", issue_frame),
    Route("/admin/issues/{slug}/state.json", issue_state),
    Route("/admin/issues/{slug}/web/", issue_web),
    Route("/admin/issues/{slug}/web/{rest:path}", issue_web),
    Route("/admin/issues/{slug}/test", test_send, methods=["POST"]),
    Route("/admin/issues/{slug}/schedule", schedule, methods=["POST"]),
]
