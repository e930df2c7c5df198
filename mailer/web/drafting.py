"""Editors' "New issue" page: paste text or upload a file, see what was recognised, create.

The same code as ``mailer draft`` reads the text and writes the folder; this
page only collects the options and shows the report before anything is written.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from mailer.content.languages import available_languages
from mailer.content.loader import slugify
from mailer.draft import SHAPES, Draft, Source, create, draft, from_bytes
from mailer.errors import MailerError
from mailer.lists import public
from mailer.web.auth import login_required
from mailer.web.issues import SLUG, issue_slugs, issues_root
from mailer.web.pages import WebState, flash, render, web_state
from mailer.web.security import form_str

MAX_UPLOAD_BYTES = 512_000
PASTED = "pasted text"


def _newsletters(state: WebState) -> list[str]:
    """Names of the newsletters earlier issues were for (offered as choices)."""
    names: set[str] = set()
    root = issues_root(state.settings)
    for slug in issue_slugs(state.settings):
        try:
            data = tomllib.loads((root / slug / "issue.toml").read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        name = data.get("newsletter", {}).get("name") if isinstance(data, dict) else None
        if isinstance(name, str):
            names.add(name)
    return sorted(names)


async def _source(request: Request, form: Any) -> Source | None:
    """The pasted text, or the uploaded file when one was chosen."""
    upload = form.get("upload")
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            raise MailerError(
                f"{upload.filename}: larger than the {MAX_UPLOAD_BYTES:,} bytes an upload may have"
            )
        name = upload.filename.replace("/", "_").replace("\\", "_")
        return from_bytes(data, name)
    text = form.get("text")
    if isinstance(text, str) and text.strip():
        # Pasted HTML (a page's source) is read as a web page, like an upload.
        return from_bytes(text.encode("utf-8"), PASTED)
    return None


async def new_issue(request: Request) -> Response:
    """Refuse an oversized upload by its declared length, before anything reads it."""
    length = request.headers.get("content-length", "")
    if request.method == "POST" and length.isdigit() and int(length) > MAX_UPLOAD_BYTES + 64_000:
        raise MailerError(f"this upload is larger than the {MAX_UPLOAD_BYTES:,} bytes allowed")
    return await _new_issue(request)


@login_required
async def _new_issue(request: Request) -> Response:
    state = web_state(request)
    options: dict[str, Any] = {
        "shape": "auto",
        "language": "",
        "newsletter": "",
        "date": "",
        "slug": "",
        "list": "",
        "text": "",
    }
    report: list[str] = []
    result: Draft | None = None
    error = ""
    status = 200
    if request.method == "POST":
        form = await request.form()
        for key in options:
            options[key] = form_str(form, key)
        options["text"] = str(form.get("text") or "")
        try:
            source = await _source(request, form)
            if source is None:
                raise MailerError("paste the text or choose a file")
            if source.name != PASTED and not source.html:
                options["text"] = source.text
            if options["list"] and not options["newsletter"]:
                lists = await state.run(public.public_lists, state.database)
                named = {str(lst.slug): str(lst.name) for lst in lists}
                options["newsletter"] = named.get(options["list"], "")
            result = await state.run(_draft, state, source, options)
            report = result.report()
            if form_str(form, "action") == "create":
                slug = options["slug"] or _default_slug(result)
                await state.run(_create, state, result, source, slug)
                flash(
                    request, f"Created issue {slug}. Check it, then edit what the draft got wrong."
                )
                return RedirectResponse(f"/admin/issues/{slug}/edit", status_code=303)
            if not options["slug"]:
                options["slug"] = _default_slug(result)
        except MailerError as exc:
            error, status = exc.message, 400
    return render(
        request,
        "admin/new.html",
        {
            "options": options,
            "report": report,
            "draft": result,
            "error": error,
            "shapes": SHAPES,
            "languages": available_languages(),
            "newsletters": await state.run(_newsletters, state),
            "lists": await state.run(public.public_lists, state.database),
            "max_upload": MAX_UPLOAD_BYTES,
        },
        status=status,
    )


def _draft(state: WebState, source: Source, options: dict[str, Any]) -> Draft:
    date = None
    if options["date"]:
        try:
            date = dt.date.fromisoformat(options["date"])
        except ValueError as exc:
            raise MailerError(
                f"date: must be a date like 2026-01-31 (got {options['date']!r})"
            ) from exc
    return draft(
        [source],
        state.settings,
        shape=options["shape"] or "auto",
        language=options["language"] or None,
        newsletter=options["newsletter"] or None,
        date=date,
    )


def _default_slug(result: Draft) -> str:
    return f"{slugify(result.title, 5)}-{result.date.isoformat()}"


def _create(state: WebState, result: Draft, source: Source, slug: str) -> None:
    if not SLUG.match(slug) or ".." in slug or slug.startswith("."):
        raise MailerError(f"folder name {slug!r}: use letters, digits and hyphens")
    out = issues_root(state.settings) / slug
    if out.exists():
        raise MailerError(f"an issue {slug!r} already exists; choose another folder name")
    create(result, [source.name], out)


routes = [Route("/admin/new", new_issue, methods=["GET", "POST"])]
