"""Subscriber pages: subscribe, confirm, unsubscribe (with RFC 8058 one-click), preferences.

Public pages set no cookie. Links carry tokens signed by ``mailer.links``;
every answer is the same whether or not the address is on the list, so these
pages cannot be used to learn who subscribes.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from mailer import links
from mailer.errors import EventError, InvalidEmail, MailerError, NotFoundError
from mailer.lists import optin, public
from mailer.web import archive, drafts
from mailer.web.pages import WebState, render, web_state
from mailer.web.security import check_public_csrf, enforce, form_str, public_csrf_token

ONE_CLICK_BODY = "List-Unsubscribe=One-Click"


def _lang(lst: Any) -> dict[str, str]:
    """The page speaks the list's language (English when the list is unknown)."""
    return {"language": lst.language if lst is not None else "en"}


def _form_ctx(request: Request) -> dict[str, Any]:
    return {"form_csrf": public_csrf_token(web_state(request).settings, request.url.path)}


async def _public_list(request: Request, slug: str) -> Any:
    state = web_state(request)
    try:
        return await state.run(public.public_list, state.database, slug)
    except NotFoundError:
        # The store's message advises the operator; visitors get a plain one.
        raise NotFoundError(f"There is no newsletter called “{slug}”.") from None


# --- subscribe ---------------------------------------------------------------------------


async def subscribe(request: Request) -> Response:
    state = web_state(request)
    slug = request.path_params["list"]
    lst = await _public_list(request, slug)
    values = {"email": "", "name": ""}
    error = ""
    if request.method == "POST":
        enforce(state.subscribe_limiter, request)
        await check_public_csrf(request, state.settings, max_age=6 * 3600)
        form = await request.form()
        values = {"email": form_str(form, "email"), "name": form_str(form, "name")}
        if form_str(form, "website"):
            # The hidden honeypot field: only bots fill it. Same answer as success.
            return RedirectResponse(f"/subscribe/{slug}/thanks", status_code=303)
        try:
            # Only queues the request: the same work for every address, and
            # no mail server in the way (the worker sends the confirmation).
            await state.run(
                optin.request_subscribe,
                state.database,
                state.settings,
                slug,
                values["email"],
                values["name"][:200],
            )
        except InvalidEmail as exc:
            error = exc.message
        else:
            return RedirectResponse(f"/subscribe/{slug}/thanks", status_code=303)
    return render(
        request,
        "public/subscribe.html",
        {"list": lst, "values": values, "error": error, **_form_ctx(request), **_lang(lst)},
        status=422 if error else 200,
    )


async def subscribe_thanks(request: Request) -> Response:
    lst = await _public_list(request, request.path_params["list"])
    return render(request, "public/thanks.html", {"list": lst, **_lang(lst)})


# --- confirm -------------------------------------------------------------------------------


async def confirm(request: Request) -> Response:
    state = web_state(request)
    token = links.read_confirm_token(state.settings, request.path_params["token"])
    lst = await _public_list(request, token.list_slug)
    if request.method == "GET":
        # Confirm on a button press, not on GET: mail scanners that prefetch links
        # must not be able to confirm a subscription nobody asked for.
        return render(
            request, "public/confirm.html", {"list": lst, **_form_ctx(request), **_lang(lst)}
        )
    await check_public_csrf(request, state.settings)
    await state.run(optin.confirm, state.database, state.settings, request.path_params["token"])
    return render(request, "public/confirmed.html", {"list": lst, **_lang(lst)})


# --- unsubscribe ---------------------------------------------------------------------------


async def unsubscribe(request: Request) -> Response:
    state = web_state(request)
    raw = request.path_params["token"]
    token = links.read_token(state.settings, "unsubscribe", raw)
    if request.method == "POST":
        body = (await request.body()).decode("utf-8", "replace").strip()
        one_click = body == ONE_CLICK_BODY
        if not one_click:
            form = await request.form()
            one_click = (
                form_str(form, "List-Unsubscribe") == "One-Click" and "csrf_token" not in form
            )
        if one_click:
            # RFC 8058: the mailbox provider POSTs with no cookies and follows no
            # redirect; the token alone authorises it. Answer 200 at once.
            await state.run(_unsubscribe, state, token)
            return PlainTextResponse("You have been unsubscribed.\n")
        await check_public_csrf(request, state.settings)
        await state.run(_unsubscribe, state, token)
        lst = await _optional_list(request, token.list_slug)
        prefs = links.preferences_url(
            state.settings, links.make_token(state.settings, "preferences", *_pair(token))
        )
        return render(
            request,
            "public/unsubscribed.html",
            {
                "list": lst,
                **_lang(lst),
                "preferences_url": prefs,
                "resubscribe_csrf": public_csrf_token(
                    state.settings, request.url.path + "/resubscribe"
                ),
            },
        )
    lst = await _optional_list(request, token.list_slug)
    return render(
        request, "public/unsubscribe.html", {"list": lst, **_form_ctx(request), **_lang(lst)}
    )


def _pair(token: links.ListToken) -> tuple[str, str]:
    return token.list_slug, token.email_hash


def _unsubscribe(state: WebState, token: links.ListToken) -> None:
    try:
        optin.unsubscribe_by_token(state.database, token, "unsubscribe link")
    except NotFoundError:
        return  # the list is gone: nobody will be mailed from it, which is what was asked


async def resubscribe(request: Request) -> Response:
    state = web_state(request)
    token = links.read_token(state.settings, "unsubscribe", request.path_params["token"])
    await check_public_csrf(request, state.settings)
    result = await state.run(optin.resubscribe_by_token, state.database, token, state.settings)
    lst = await _optional_list(request, token.list_slug)
    return render(
        request,
        "public/resubscribed.html",
        {"list": lst, "confirming": result.confirming, **_lang(lst)},
    )


async def _optional_list(request: Request, slug: str) -> Any:
    try:
        return await _public_list(request, slug)
    except NotFoundError:
        return None


# --- preferences ----------------------------------------------------------------------------


async def preferences(request: Request) -> Response:
    state = web_state(request)
    token = links.read_token(state.settings, "preferences", request.path_params["token"])
    saved = False
    confirming: list[str] = []
    if request.method == "POST":
        await check_public_csrf(request, state.settings)
        form = await request.form()
        wanted = {str(v) for v in form.getlist("lists")}
        to_confirm = await state.run(
            public.save_preferences, state.database, token.email_hash, wanted
        )
        if to_confirm:
            # The link may be old or forwarded: adding a list takes a fresh
            # confirmation from the mailbox itself.
            confirming = await state.run(
                optin.confirm_lists, state.database, state.settings, token.email_hash, to_confirm
            )
        saved = True
    choices = await state.run(public.preferences, state.database, token.email_hash)
    lst = await _optional_list(request, token.list_slug)
    return render(
        request,
        "public/preferences.html",
        {
            "choices": choices,
            "saved": saved,
            "confirming": confirming,
            **_form_ctx(request),
            **_lang(lst),
        },
    )


# --- the SNS webhook --------------------------------------------------------------------------


async def ses_webhook(request: Request) -> Response:
    state = web_state(request)
    from mailer.events.webhook import handle_sns_webhook

    limit = state.settings.events.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"Body larger than {limit} bytes.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"Body larger than {limit} bytes.")
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        status, message = await state.run(
            handle_sns_webhook, state.database, state.settings, headers, body
        )
    except MailerError as exc:
        # A refused event carries its own status; any other error is a bad request.
        status = exc.http_status if isinstance(exc, EventError) else 400
        message = exc.message
    return PlainTextResponse(message + "\n", status_code=status)


routes = [
    Route("/", archive.home),
    Route("/subscribe/{list}", subscribe, methods=["GET", "POST"]),
    Route("/subscribe/{list}/thanks", subscribe_thanks),
    Route("/confirm/{token}", confirm, methods=["GET", "POST"]),
    Route("/u/{token}", unsubscribe, methods=["GET", "POST"]),
    Route("/u/{token}/resubscribe", resubscribe, methods=["POST"]),
    Route("/preferences/{token}", preferences, methods=["GET", "POST"]),
    Route("/webhooks/ses", ses_webhook, methods=["POST"]),
    *archive.routes,
    *drafts.routes,
]
