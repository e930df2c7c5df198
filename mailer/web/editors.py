"""Editors' pages: the issues, a live preview, test sends and scheduling."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from mailer import links
from mailer.deliver import freeze, overview
from mailer.errors import MailerError, NotFoundError, ValidationError
from mailer.lists import public
from mailer.web import preview, sending
from mailer.web.auth import login_required
from mailer.web.issues import fingerprint, issue_slugs
from mailer.web.pages import WebState, error_text, flash, render, web_state
from mailer.web.security import EMAIL_FRAME_CSP, form_str

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
    states = await state.run(overview.issue_states, state.database)
    return render(
        request,
        "admin/issues.html",
        {"issues": items, "states": states, "draft": overview.DRAFT},
    )


def _chosen_list(lists: list[Any], wanted: str) -> Any:
    """The list the preview shows the issue for: ``?list=``, else the first one."""
    for lst in lists:
        if lst.slug == wanted:
            return lst
    return lists[0] if lists else None


def _draft_path(state: WebState, slug: str) -> str:
    return links.draft_path(links.make_draft_token(state.settings, slug))


@login_required
async def issue_preview(request: Request) -> Response:
    state = web_state(request)
    slug = request.path_params["slug"]
    view = request.query_params.get("view", "devices")
    view = view if view in VIEWS else "devices"
    summary = await state.run(state.issues.summary, slug)
    lists = await state.run(public.public_lists, state.database)
    chosen = _chosen_list(lists, request.query_params.get("list", ""))
    sender = await state.run(freeze.list_sender, state.database, chosen.slug) if chosen else None
    composed = None
    warnings: list[str] = []
    problems = [str(p) for p in summary.problems]
    if not problems:
        try:
            composed = await state.run(_composed, state, slug, sender)
            issue = await state.run(state.issues.issue, slug)
        except ValidationError as exc:
            problems = [str(p) for p in exc.problems]
        except MailerError as exc:
            problems = [exc.message]
        else:
            if sender is not None:
                warnings = freeze.fit_warnings(issue, sender)
    findings = composed.lint if composed is not None else []
    lint = [{"level": r.level, "text": r.message, "code": r.code} for r in findings]
    draft = _draft_path(state, slug)
    text_part = ""
    if composed is not None and view == "text":
        text_part = preview.fill_placeholders(
            composed.text.replace(links.issue_url(state.settings, slug), draft),
            draft,
            escape=False,
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
            "chosen": chosen,
            "sender": sender,
            "fit_warnings": warnings,
            "pending": await state.run(overview.pending_sends, state.database, slug),
            "draft_url": draft,
            "zones": zones,
            "common_zones": [z for z in COMMON_ZONES if z in zones],
            "default_zone": state.settings.site.timezone,
            "today": datetime.now(zoneinfo.ZoneInfo(state.settings.site.timezone)).date(),
            "from_name": sender.from_name if sender else _from_name(composed, summary),
        },
    )


def _composed(state: WebState, slug: str, sender: Any) -> Any:
    """The email as the chosen list sends it (its sender name and postal address)."""
    if sender is None:
        return state.issues.composed(slug)
    return state.issues.composed_for(slug, sender.from_name, sender.postal_address)


def _from_name(composed: Any, summary: Any) -> str:
    return str(getattr(composed, "from_name", None) or summary.title)


def _fingerprint(state: WebState, slug: str) -> str:
    return fingerprint(state.settings, slug)


def _frame_sender(state: WebState, list_slug: str) -> Any:
    if not list_slug:
        return None
    try:
        return freeze.list_sender(state.database, list_slug)
    except NotFoundError:
        return None


@login_required
async def issue_frame(request: Request) -> Response:
    """The composed email alone, for the preview iframes (same-origin framing only)."""
    state = web_state(request)
    slug = request.path_params["slug"]
    sender = await state.run(_frame_sender, state, request.query_params.get("list", ""))
    composed = await state.run(_composed, state, slug, sender)
    dark = request.query_params.get("dark") == "1"
    doc = preview.frame_document(
        composed.html,
        links.issue_url(state.settings, slug),
        dark,
        draft_url=_draft_path(state, slug),
    )
    return HTMLResponse(
        doc,
        headers={"content-security-policy": EMAIL_FRAME_CSP, "x-frame-options": "SAMEORIGIN"},
    )


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
    addresses = form_str(form, "addresses")  # checked by the deliver stage, as for the CLI
    list_slug = form_str(form, "list") or None
    back = f"/admin/issues/{slug}"
    try:
        count = await state.run(sending.test_send, state, slug, addresses, list_slug)
    except MailerError as exc:
        flash(request, f"Test not sent: {error_text(exc)}", "error")
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
        flash(request, f"Not scheduled: {error_text(exc)}", "error")
        return RedirectResponse(f"/admin/issues/{slug}", status_code=303)
    warnings = await state.run(sending.fit_warnings, state, slug, list_slug)
    note = "".join(f" Warning: {w}." for w in warnings)
    flash(
        request,
        f"Send #{send_id} {'started' if when == 'now' else 'scheduled'}.{note}",
        "warning" if warnings else "ok",
    )
    return RedirectResponse(f"/admin/sends/{send_id}", status_code=303)


routes = [
    Route("/admin", admin_home),
    Route("/admin/", admin_home),
    Route("/admin/issues", issues),
    Route("/admin/issues/{slug}", issue_preview),
    Route("/admin/issues/{slug}/frame", issue_frame),
    Route("/admin/issues/{slug}/state.json", issue_state),
    Route("/admin/issues/{slug}/test", test_send, methods=["POST"]),
    Route("/admin/issues/{slug}/schedule", schedule, methods=["POST"]),
]
