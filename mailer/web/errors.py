"""One place that turns every refusal into a clear page or JSON error.

``MailerError`` (bad input, expired link, unknown send), HTTP errors (404,
405, 403 CSRF, 429) and unexpected exceptions all end here. A bug still gets
logged with its traceback, but the visitor only ever sees a short message.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mailer.errors import ConflictError, EventError, MailerError, NotFoundError, ValidationError
from mailer.links import InvalidToken
from mailer.web.security import wants_json

log = logging.getLogger("mailer.web")


def status_for(exc: MailerError) -> int:
    """The HTTP status that says what kind of user error ``exc`` is."""
    if isinstance(exc, EventError):
        return exc.status
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, ValidationError):
        return 422
    if isinstance(exc, InvalidToken):
        return 400
    return 400


def error_response(
    request: Request,
    status: int,
    message: str,
    headers: Mapping[str, str] | None = None,
    problems: list[str] | None = None,
) -> Response:
    """Render ``message`` as JSON or as the error page, with ``status``."""
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    if wants_json(request) or request.url.path.startswith("/webhooks/"):
        body: dict[str, object] = {"error": message, "status": status}
        if problems:
            body["problems"] = problems
        return JSONResponse(body, status_code=status, headers=dict(headers or {}))
    from mailer.web.app import render  # late: the app module imports this one

    return render(
        request,
        "error.html",
        {"status": status, "title": title, "message": message, "problems": problems or []},
        status=status,
        headers=headers,
    )


async def mailer_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MailerError)
    problems = [str(p) for p in exc.problems] if isinstance(exc, ValidationError) else None
    return error_response(request, status_for(exc), exc.message, problems=problems)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = exc.detail
    if exc.status_code == 404 and message == HTTPStatus.NOT_FOUND.phrase:
        message = "There is nothing at this address. Check the link, or start from the home page."
    elif exc.status_code == 405:
        message = f"This address does not accept {request.method} requests."
    return error_response(request, exc.status_code, message, headers=exc.headers)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        request, 500, "Something went wrong on our side. It has been logged; please try again."
    )


HANDLERS = {
    MailerError: mailer_error,
    HTTPException: http_error,
    Exception: server_error,
}
