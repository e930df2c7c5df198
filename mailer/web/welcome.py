"""The welcome mail of a list: preview it and send a test copy, from the list's page.

The rules live in ``mailer.lists.welcome`` (what the welcome is, how it is
composed and personalised, the queue it goes through); these handlers only
show its result.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from mailer.errors import MailerError, ValidationError
from mailer.lists import welcome
from mailer.web.auth import login_required
from mailer.web.pages import WebState, error_text, flash, render, web_state
from mailer.web.security import EMAIL_FRAME_CSP, form_str


def _preview(state: WebState, slug: str) -> tuple[Any, welcome.RenderedWelcome | None, list[str]]:
    """The list, its rendered welcome (None if it has none or it is broken), and problems."""
    from mailer.db import subscribers as store

    with state.database.session() as session:
        lst = store.get_list(session, slug)
        session.expunge(lst)
    if not lst.welcome:
        return lst, None, []
    try:
        return lst, welcome.preview(state.database, state.settings, slug), []
    except ValidationError as exc:
        return lst, None, [str(p) for p in exc.problems]
    except MailerError as exc:
        return lst, None, [exc.message]


@login_required
async def welcome_page(request: Request) -> Response:
    state = web_state(request)
    slug = request.path_params["slug"]
    lst, shown, problems = await state.run(_preview, state, slug)
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
