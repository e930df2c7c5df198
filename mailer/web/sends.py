"""Sends: the list with live progress, one send's page, pause/resume/cancel."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from mailer.deliver import overview
from mailer.deliver import sends as delivery
from mailer.errors import MailerError, NotFoundError
from mailer.status import SendStatus
from mailer.web import sending
from mailer.web.auth import login_required
from mailer.web.pages import error_text, flash, render, web_state
from mailer.web.security import current_user, form_str

ACTIVE = (SendStatus.SCHEDULED, SendStatus.RUNNING, SendStatus.PAUSED)


def send_id_of(request: Request) -> int:
    raw = request.path_params["send_id"]
    if not raw.isdigit():
        raise NotFoundError(f"no send {raw!r}")
    return int(raw)


@login_required
async def sends_page(request: Request) -> Response:
    state = web_state(request)
    rows = await state.run(overview.sends_overview, state.database, 100)
    return render(request, "admin/sends.html", {"sends": rows})


@login_required
async def sends_progress(request: Request) -> Response:
    """Counts of the latest sends, for the sends page to poll."""
    state = web_state(request)
    rows = await state.run(overview.sends_overview, state.database, 100)
    return JSONResponse(
        {
            "sends": [r.as_json() for r in rows],
            "active": any(r.status in ACTIVE for r in rows),
        }
    )


@login_required
async def send_progress(request: Request) -> Response:
    state = web_state(request)
    row = await state.run(overview.send_row, state.database, send_id_of(request))
    return JSONResponse({**row.as_json(), "active": row.status in ACTIVE})


@login_required
async def send_action(request: Request) -> Response:
    state = web_state(request)
    send_id = send_id_of(request)
    action = request.path_params["action"]
    try:
        if action == "pause":
            await state.run(delivery.pause, state.database, send_id)
            flash(request, f"Send #{send_id} paused.")
        elif action == "resume":
            # Only the breaker's own button sends override=1, behind a confirmation.
            override = form_str(await request.form(), "override") == "1"
            by = f"{current_user(request)} (web)"
            status = await state.run(
                lambda: delivery.resume(state.database, send_id, override=override, by=by)
            )
            flash(request, f"Send #{send_id} resumed ({status}).")
        elif action == "refreeze":
            await state.run(sending.refreeze, state, send_id)
            flash(request, f"Send #{send_id} re-frozen from the issue's files as they are now.")
        elif action == "cancel":
            left = await state.run(delivery.cancel, state.database, send_id)
            flash(request, f"Send #{send_id} cancelled; {left:,} recipients will not get it.")
        else:
            raise NotFoundError(f"no action {action!r} for sends")
    except NotFoundError:
        raise
    except MailerError as exc:
        flash(request, error_text(exc), "error")
    return RedirectResponse(f"/admin/sends/{send_id}", status_code=303)


routes = [
    Route("/admin/sends", sends_page),
    Route("/admin/sends/progress.json", sends_progress),
    Route("/admin/sends/{send_id}/progress.json", send_progress),
    Route("/admin/sends/{send_id}/{action}", send_action, methods=["POST"]),
]
