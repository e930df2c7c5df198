"""Operators' subscriber pages: browse, one person's page, and every action on them.

Each action calls the same ``mailer.lists.people`` function as ``mailer
subscribers …``, so the rules (an unsubscribed address is not put back, a
forgotten one cannot be unsuppressed) live in one place. Every POST carries
the session's CSRF token (``login_required`` checks it); the destructive ones
(unsubscribe, suppress, unsuppress, forget) first answer with a page that asks
to confirm, and act only when that page's form comes back with ``confirmed``.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote, urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from mailer.db import Database
from mailer.errors import MailerError, NotFoundError, Problem, ValidationError
from mailer.lists import overview, people, public
from mailer.status import SubscriptionStatus
from mailer.web.auth import login_required
from mailer.web.pages import WebState, error_text, flash, render, web_state
from mailer.web.security import current_user, form_str

PAGE_SIZE = 50
ADD_FIELDS = ("email", "list", "name", "attributes")
SUPPRESSED_CHOICES = {"": None, "yes": True, "no": False}


def actor_of(request: Request) -> str:
    """Who did it, as the subscriber's history records it."""
    return f"web:{current_user(request)}"


def _bad(field: str, message: str) -> ValidationError:
    return ValidationError([Problem("query", field, message)])


def _id_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name, "")
    if not raw:
        return None
    if not raw.isdigit():
        raise _bad(name, f"{raw!r} is not a subscriber id")
    return int(raw)


def parse_filters(request: Request) -> dict[str, str]:
    """The page's filters as given (list slug, status, suppressed, q), checked."""
    q = request.query_params
    chosen = {
        "list": q.get("list", "").strip(),
        "status": q.get("status", "").strip(),
        "suppressed": q.get("suppressed", "").strip(),
        "q": q.get("q", "").strip()[:320],
    }
    if chosen["status"] and chosen["status"] not in SubscriptionStatus.ALL:
        raise _bad(
            "status", f"one of {', '.join(SubscriptionStatus.ALL)}, not {chosen['status']!r}"
        )
    if chosen["suppressed"] not in SUPPRESSED_CHOICES:
        raise _bad("suppressed", f"yes or no, not {chosen['suppressed']!r}")
    return chosen


def browse_page_data(
    db: Database, chosen: dict[str, str], after: int | None, before: int | None
) -> dict[str, Any]:
    """Everything the subscribers page shows (one transaction: ``overview.browse``)."""
    found = overview.browse(
        db,
        list_slug=chosen["list"],
        status=chosen["status"] or None,
        suppressed=SUPPRESSED_CHOICES[chosen["suppressed"]],
        query=chosen["q"],
        after=after,
        before=before,
        limit=PAGE_SIZE,
    )
    return {"lists": found.lists, "page": found.page}


def page_link(chosen: dict[str, str], **extra: int) -> str:
    """The subscribers page URL for these filters (and ``after``/``before``)."""
    params = {k: v for k, v in chosen.items() if v}
    params.update({k: str(v) for k, v in extra.items()})
    return "/admin/subscribers" + (f"?{urlencode(params)}" if params else "")


@login_required
async def subscribers_page(request: Request) -> Response:
    state = web_state(request)
    chosen = parse_filters(request)
    after, before = _id_param(request, "after"), _id_param(request, "before")
    data = await state.run(browse_page_data, state.database, chosen, after, before)
    page = data["page"]
    return render(
        request,
        "admin/subscribers.html",
        {
            **data,
            "chosen": chosen,
            "statuses": SubscriptionStatus.ALL,
            "next_url": page_link(chosen, after=page.next_after) if page.next_after else None,
            "prev_url": page_link(chosen, before=page.prev_before) if page.prev_before else None,
            "first_url": page_link(chosen) if (after or before) else None,
            "filtered": any(chosen.values()),
        },
    )


def profile_url(email: str) -> str:
    return f"/admin/subscribers/show?email={quote(email)}"


@login_required
async def subscriber_page(request: Request) -> Response:
    state = web_state(request)
    email = request.query_params.get("email", "").strip()
    if not email:
        return RedirectResponse("/admin/subscribers", status_code=303)
    profile = await state.run(people.show, state.database, email)
    deliveries, events = await state.run(people.mail_history, state.database, email)
    lines = await state.run(people.history, state.database, email)
    lists = await state.run(public.public_lists, state.database)
    attributes = "\n".join(
        f"{k} = {v}"
        for k, v in sorted(
            ((profile.subscriber.attributes or {}) if profile.subscriber else {}).items()
        )
    )
    return render(
        request,
        "admin/subscriber.html",
        {
            "profile": profile,
            "deliveries": deliveries,
            "events": events,
            "history": lines,
            "attributes_text": attributes,
            "other_lists": [
                lst for lst in lists if lst.slug not in {m.slug for m, _ in profile.subscriptions}
            ],
        },
    )


def parse_attributes(text: str) -> dict[str, str]:
    """``key = value`` lines (blank lines skipped) as a dict; a bad line is a ValidationError."""
    out: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValidationError(
                [
                    Problem(
                        "form", "attributes", f"line {number}: expected key = value, got {line!r}"
                    )
                ]
            )
        out[key.strip()] = value.strip()
    return out


# --- adding ---------------------------------------------------------------------------


@login_required
async def add_form(request: Request) -> Response:
    state = web_state(request)
    lists = await state.run(public.public_lists, state.database)
    chosen = request.query_params.get("list", "")
    return render(
        request,
        "admin/subscriber_add.html",
        {"lists": lists, "chosen": chosen, "form": dict.fromkeys(ADD_FIELDS, "")},
    )


@login_required
async def add_subscriber(request: Request) -> Response:
    state = web_state(request)
    form = await request.form()
    values = {k: form_str(form, k) for k in ADD_FIELDS}
    values["attributes"] = str(form.get("attributes") or "")
    confirm_mail = form_str(form, "send_confirmation") == "yes"
    try:
        attributes = parse_attributes(values["attributes"])
        if not values["email"]:
            raise ValidationError([Problem("form", "email", "required")])
        message = await state.run(
            _add,
            state,
            values["list"],
            values["email"],
            values["name"],
            attributes,
            confirm_mail,
            actor_of(request),
        )
    except MailerError as exc:
        lists = await state.run(public.public_lists, state.database)
        return render(
            request,
            "admin/subscriber_add.html",
            {"lists": lists, "chosen": values["list"], "form": values, "error": error_text(exc)},
            status=exc.http_status,
        )
    flash(request, message[0].upper() + message[1:] + ".")
    return RedirectResponse(profile_url(values["email"]), status_code=303)


def _add(
    state: WebState,
    list_slug: str,
    email: str,
    name: str,
    attributes: dict[str, str],
    confirm_mail: bool,
    actor: str,
) -> str:
    return people.add(
        state.database,
        state.settings,
        list_slug,
        email,
        name=name,
        attributes=attributes or None,
        send_confirmation=confirm_mail,
        actor=actor,
    )


# --- actions on one person ----------------------------------------------------------------

CONFIRM: dict[str, tuple[str, str]] = {
    "unsubscribe": (
        "Unsubscribe {email} from {list}?",
        "They stop getting this list. Only they can subscribe again (through a confirmation).",
    ),
    "suppress": (
        "Suppress {email} everywhere?",
        "The address is never mailed again, on any list, until the suppression is lifted.",
    ),
    "unsuppress": (
        "Lift the suppression of {email}?",
        "The address is mailed again on every list where it is active.",
    ),
    "forget": (
        "Forget {email}?",
        "Their name, attributes, subscriptions and history are erased for good, and the "
        "address leaves past sends' recipient lists, feedback events and queued mail; reports "
        "keep their counts. Only a hash of the address is kept, so it is never mailed again, "
        "even if imported later.",
    ),
}


def _confirm_page(request: Request, action: str, form: FormData) -> Response:
    email = form_str(form, "email")
    title, detail = CONFIRM[action]
    fields = {
        k: form_str(form, k) for k in ("email", "list", "detail", "reason") if form_str(form, k)
    }
    return render(
        request,
        "admin/confirm.html",
        {
            "title": title.format(email=email, list=form_str(form, "list")),
            "detail": detail,
            "action": f"/admin/subscribers/{action}",
            "fields": fields,
            "danger": action != "unsuppress",
            "back": profile_url(email),
            "button": {
                "unsubscribe": "Unsubscribe",
                "suppress": "Suppress everywhere",
                "unsuppress": "Lift the suppression",
                "forget": "Forget this person",
            }[action],
        },
    )


@login_required
async def subscriber_action(request: Request) -> Response:
    state = web_state(request)
    form = await request.form()
    email = form_str(form, "email")
    action = request.path_params["action"]
    if action not in (*CONFIRM, "edit"):
        raise NotFoundError(f"no action {action!r}")
    if not email:
        raise ValidationError([Problem("form", "email", "required")])
    if action in CONFIRM and form_str(form, "confirmed") != "yes":
        return _confirm_page(request, action, form)
    actor = actor_of(request)
    db = state.database
    target = profile_url(email)
    try:
        if action == "edit":
            attributes = parse_attributes(str(form.get("attributes") or ""))
            changed = await state.run(
                lambda: people.edit(
                    db, email, name=form_str(form, "name"), attributes=attributes, actor=actor
                )
            )
            flash(request, f"{email} updated." if changed else "Nothing changed.")
        elif action == "unsubscribe":
            list_slug = form_str(form, "list")
            if not list_slug:
                raise ValidationError([Problem("form", "list", "required")])
            reason = form_str(form, "reason") or "unsubscribed by operator"
            n = await state.run(people.unsubscribe, db, email, list_slug, reason, actor)
            flash(
                request,
                f"{email} is unsubscribed from {list_slug}."
                if n
                else f"{email} was not subscribed to {list_slug}.",
            )
        elif action == "suppress":
            detail = form_str(form, "detail") or "suppressed in the web app"
            changed = await state.run(people.suppress, db, email, detail, actor)
            flash(
                request,
                f"{email} is suppressed." if changed else f"{email} was already suppressed.",
            )
        elif action == "unsuppress":
            changed = await state.run(people.unsuppress, db, email, actor)
            flash(
                request,
                f"Suppression of {email} lifted." if changed else f"{email} was not suppressed.",
            )
        else:  # forget
            await state.run(people.forget, db, email, actor)
            flash(request, f"{email} is forgotten: only a hash of the address is kept.")
            target = "/admin/subscribers"
    except NotFoundError:
        raise
    except MailerError as exc:
        flash(request, error_text(exc), "error")
    return RedirectResponse(target, status_code=303)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@login_required
async def export_person(request: Request) -> Response:
    """A person's data as a JSON download (a privacy request's answer)."""
    state = web_state(request)
    form = await request.form()
    email = form_str(form, "email")
    if not email:
        raise ValidationError([Problem("form", "email", "required")])
    data = await state.run(people.export_data, state.database, email, actor_of(request))
    name = _UNSAFE.sub("_", email)[:80] or "subscriber"
    return Response(
        json.dumps(data, indent=2, ensure_ascii=False),
        media_type="application/json; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}.json"'},
    )


routes = [
    Route("/admin/subscribers", subscribers_page),
    Route("/admin/subscribers/new", add_form),
    Route("/admin/subscribers/new", add_subscriber, methods=["POST"]),
    Route("/admin/subscribers/show", subscriber_page),
    Route("/admin/subscribers/export", export_person, methods=["POST"]),
    Route("/admin/subscribers/{action}", subscriber_action, methods=["POST"]),
]
