"""Login and logout for editors and operators, and the guard on their pages.

``login_required`` wraps every page behind login: it checks the session still
names a user with the same credentials, and the CSRF token of each POST.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from functools import wraps
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from mailer.accounts import authenticate, session_stamp
from mailer.web.pages import render, web_state
from mailer.web.security import (
    SESSION_STAMP,
    SESSION_USER,
    TooManyRequests,
    check_session_csrf,
    current_user,
    enforce,
    form_str,
    safe_next,
    session_csrf_token,
    wants_json,
)


async def session_is_valid(request: Request) -> bool:
    """True when the session names a user who still exists with the same credentials.

    A session that no longer holds (user removed, password changed, ``mailer
    users logout-all``) is cleared.
    """
    user = current_user(request)
    if user is None:
        return False
    state = web_state(request)
    expected = await state.run(session_stamp, state.database, state.settings, user)
    stamp = request.session.get(SESSION_STAMP)
    if expected is None or not isinstance(stamp, str) or not hmac.compare_digest(expected, stamp):
        request.session.clear()
        return False
    return True


Endpoint = Callable[[Request], Awaitable[Response]]


def login_required(endpoint: Endpoint) -> Endpoint:
    """Send visitors without a session to the login page (JSON callers get 401)."""

    @wraps(endpoint)
    async def wrapper(request: Request) -> Response:
        if not await session_is_valid(request):
            if wants_json(request):
                raise HTTPException(401, "Log in first.")
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        if request.method == "POST":
            await check_session_csrf(request)
        return await endpoint(request)

    return wrapper


def _login_page(request: Request, next_path: str, error: str = "", status: int = 200) -> Response:
    return render(
        request,
        "login.html",
        {
            "next": next_path,
            "error": error,
            "login_csrf": session_csrf_token(request),
        },
        status=status,
    )


async def login(request: Request) -> Response:
    next_path = safe_next(request.query_params.get("next"))
    if request.method == "GET":
        if await session_is_valid(request):
            return RedirectResponse(next_path, status_code=303)
        return _login_page(request, next_path)

    state = web_state(request)
    enforce(state.login_limiter, request)
    await check_session_csrf(request)
    form = await request.form()
    next_path = safe_next(form_str(form, "next"))
    username = form_str(form, "username")
    password = form.get("password")
    password = password if isinstance(password, str) else ""
    # Per account too: many clients guessing one password are slowed down
    # as surely as one client guessing many.
    wait = state.login_backoff.wait(username)
    if wait:
        raise TooManyRequests(wait, "for this account")
    ok = await state.run(authenticate, state.database, state.settings, username, password)
    stamp = await state.run(session_stamp, state.database, state.settings, username) if ok else None
    if stamp is None:
        state.login_backoff.failed(username)
        return _login_page(request, next_path, "Wrong username or password.", status=401)
    state.login_backoff.succeeded(username)
    # A fresh session on login: nothing chosen before (a planted token) survives.
    request.session.clear()
    request.session[SESSION_USER] = username
    request.session[SESSION_STAMP] = stamp
    session_csrf_token(request)
    return RedirectResponse(next_path, status_code=303)


async def logout(request: Request) -> Response:
    await check_session_csrf(request)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


routes = [
    Route("/login", login, methods=["GET", "POST"]),
    Route("/logout", logout, methods=["POST"]),
]
