"""One place that turns every refusal into a clear page or JSON error.

``MailerError`` (bad input, expired link, unknown send) answers with the
status the error class carries (``http_status``, see ``mailer.errors``); HTTP
errors (404, 405, 403 CSRF, 429) and unexpected exceptions also end here. A bug still gets
logged with its traceback, but the visitor only ever sees a short message.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mailer.errors import MailerError, ValidationError
from mailer.web.pages import error_text, render
from mailer.web.security import wants_json

log = logging.getLogger("mailer.web")


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
    return error_response(request, exc.http_status, error_text(exc), problems=problems)


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
