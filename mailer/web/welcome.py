"""The welcome mail of a list: preview it and send a test copy, from the list's page.

The rules live in ``mailer.lists.welcome`` (what the welcome is, how it is
composed and personalised, the queue it goes through); these handlers only
show its result.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from mailer.errors import MailerError
from mailer.lists import welcome
from mailer.web.auth import login_required
from mailer.web.pages import error_text, flash, render, web_state
from mailer.web.security import EMAIL_FRAME_CSP, form_str


@login_required
async def welcome_page(request: Request) -> Response:
    state = web_state(request)
    slug = request.path_params["slug"]
    lst, shown, problems = await state.run(
        welcome.preview_page, state.database, state.settings, slug
    )
    return render(
        request,
        "admin/welcome.html",
        {"list": lst, "shown": shown, "problems": problems},
    )


@login_required
async def welcome_frame(request: Request) -> Response:
    """The welcome's HTML alone, for the preview iframe (same-origin framing only)."""
    state = web_state(request)
    shown = await state.run(
        welcome.preview, state.database, state.settings, request.path_params["slug"]
    )
    return HTMLResponse(
        shown.html,
        headers={"content-security-policy": EMAIL_FRAME_CSP, "x-frame-options": "SAMEORIGIN"},
    )


@login_required
async def welcome_test(request: Request) -> Response:
    state = web_state(request)
    slug = request.path_params["slug"]
    back = f"/admin/lists/{slug}/welcome"
    form = await request.form()
    address = form_str(form, "address")
    if not address:
        flash(request, "Type an address for the test copy.", "error")
        return RedirectResponse(back, status_code=303)
    try:
        await state.run(welcome.send_test, state.database, state.settings, slug, address)
    except MailerError as exc:
        flash(request, f"Test not sent: {error_text(exc)}", "error")
    else:
        flash(request, f"Test copy queued for {address}; the worker delivers it.")
    return RedirectResponse(back, status_code=303)


routes = [
    Route("/admin/lists/{slug}/welcome", welcome_page),
    Route("/admin/lists/{slug}/welcome/frame", welcome_frame),
    Route("/admin/lists/{slug}/welcome/test", welcome_test, methods=["POST"]),
]
