"""A list's own page: its counts, its members, CSV export, and CSV import in the browser.

The import runs ``mailer.lists.importer.import_csv``, the importer behind
``mailer subscribers import``, so the browser gets the same checks, the same
rejects and the same atomicity (one transaction: the whole file or nothing).
It takes two steps: the upload is kept under ``var/uploads/<token>/`` and
imported with ``dry_run`` (exact counts, the first rejected rows); the
operator then imports that same file with one more press.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from mailer.config import Settings
from mailer.db import Database
from mailer.errors import MailerError, NotFoundError, Problem, ValidationError
from mailer.lists import exporter, importer, overview
from mailer.status import SubscriptionStatus
from mailer.web.auth import login_required
from mailer.web.pages import WebState, error_text, flash, render, web_state
from mailer.web.security import form_str
from mailer.web.subscribers import browse_page_data, page_link

SHOWN_REJECTS = 20
UPLOAD_KEEP_SECONDS = 24 * 3600
ENCODINGS = ("utf-8", "latin-1", "cp1252")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{22}$")
# The one path that may receive a body larger than a form (web.max_upload_mb).
UPLOAD_PATH = re.compile(r"/admin/lists/[^/]+/import")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _slug(request: Request) -> str:
    return str(request.path_params["slug"])


def _counts(db: Database, slug: str) -> overview.ListCounts:
    [counts] = overview.list_counts(db, slug)
    return counts


@login_required
async def list_page(request: Request) -> Response:
    """The list's counts (as ``mailer lists`` prints them) and its newest members."""
    state = web_state(request)
    slug = _slug(request)
    counts = await state.run(_counts, state.database, slug)
    chosen = {"list": slug, "status": "", "suppressed": "", "q": ""}
    data = await state.run(browse_page_data, state.database, chosen, None, None)
    page = data["page"]
    return render(
        request,
        "admin/list.html",
        {
            "counts": counts,
            "page": page,
            "members_url": page_link(chosen),
            "next_url": page_link(chosen, after=page.next_after) if page.next_after else None,
            "statuses": SubscriptionStatus.ALL,
        },
    )


@login_required
async def export_list(request: Request) -> Response:
    """The list as CSV (``mailer subscribers export``), all or one status."""
    state = web_state(request)
    slug = _slug(request)
    status = request.query_params.get("status", "") or None
    if status is not None and status not in SubscriptionStatus.ALL:
        raise ValidationError(
            [Problem("query", "status", f"one of {', '.join(SubscriptionStatus.ALL)}")]
        )
    fd, name = tempfile.mkstemp(prefix="mailer-export-", suffix=".csv")
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            await state.run(exporter.export_csv, state.database, slug, out, status)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    filename = f"{slug}-{status or 'all'}.csv"
    return FileResponse(
        path,
        media_type="text/csv; charset=utf-8",
        filename=filename,
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


# --- import ------------------------------------------------------------------------------


def uploads_dir(settings: Settings) -> Path:
    return settings.path(settings.paths.var_dir) / "uploads"


def _upload_folder(settings: Settings, token: str) -> Path:
    if not _TOKEN.match(token):
        raise NotFoundError("no such upload (it may have expired); upload the file again")
    folder = uploads_dir(settings) / token
    if not folder.is_dir():
        raise NotFoundError("no such upload (it may have expired); upload the file again")
    return folder


def _uploaded_csv(folder: Path) -> Path:
    found = [p for p in folder.iterdir() if p.name != "rejects.csv" and p.is_file()]
    if not found:
        raise NotFoundError("this upload was imported already; upload the file again")
    return found[0]


def _clean_old_uploads(settings: Settings) -> None:
    """Uploads hold personal data: none is kept longer than a day."""
    root = uploads_dir(settings)
    if not root.is_dir():
        return
    cutoff = time.time() - UPLOAD_KEEP_SECONDS
    for folder in root.iterdir():
        if folder.is_dir() and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)


def _save_upload(settings: Settings, upload: UploadFile) -> tuple[str, Path]:
    _clean_old_uploads(settings)
    token = secrets.token_urlsafe(16)
    folder = uploads_dir(settings) / token
    folder.mkdir(parents=True)
    name = _UNSAFE.sub("_", Path(upload.filename or "").name).strip("._")[:100] or "upload.csv"
    target = folder / name
    upload.file.seek(0)
    with target.open("wb") as out:
        shutil.copyfileobj(upload.file, out, 1 << 20)
    return token, target


def _run_import(
    state: WebState, slug: str, path: Path, encoding: str, dry_run: bool
) -> tuple[importer.ImportReport, list[importer.Reject]]:
    shown: list[importer.Reject] = []

    def keep(reject: importer.Reject) -> None:
        if len(shown) < SHOWN_REJECTS:
            shown.append(reject)

    report = importer.import_csv(
        state.database,
        state.settings,
        path,
        slug,
        dry_run=dry_run,
        encoding=encoding,
        rejects_path=path.parent / "rejects.csv",
        on_reject=keep,
    )
    return report, shown


def _encoding(form: Any) -> str:
    encoding = form_str(form, "encoding") or "utf-8"
    if encoding not in ENCODINGS:
        raise ValidationError([Problem("form", "encoding", f"one of {', '.join(ENCODINGS)}")])
    return encoding


@login_required
async def import_form(request: Request) -> Response:
    state = web_state(request)
    counts = await state.run(_counts, state.database, _slug(request))
    return render(request, "admin/import.html", {"counts": counts, "encodings": ENCODINGS})


@login_required
async def import_upload(request: Request) -> Response:
    """Keep the uploaded file and dry-run it: the counts and the first rejected rows."""
    state = web_state(request)
    slug = _slug(request)
    counts = await state.run(_counts, state.database, slug)
    form = await request.form()
    upload = form.get("file")
    context: dict[str, Any] = {"counts": counts, "encodings": ENCODINGS}
    try:
        encoding = _encoding(form)
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ValidationError([Problem("form", "file", "choose a CSV file to upload")])
        token, path = await state.run(_save_upload, state.settings, upload)
        context.update(token=token, filename=path.name, encoding=encoding)
        report, shown = await state.run(_run_import, state, slug, path, encoding, True)
    except MailerError as exc:
        message = error_text(exc)
        if "token" in context:
            folder = uploads_dir(state.settings) / context["token"]
            shutil.rmtree(folder, ignore_errors=True)
            # Name the file as the operator knows it, not by its place on the server.
            message = message.replace(f"{folder}{os.sep}", "")
        context["error"] = message
        return render(request, "admin/import.html", context, status=422)
    context.update(report=report, rejects=shown)
    return render(request, "admin/import.html", context)


@login_required
async def import_commit(request: Request) -> Response:
    """Import the file the dry run checked, for real."""
    state = web_state(request)
    slug = _slug(request)
    form = await request.form()
    folder = _upload_folder(state.settings, str(request.path_params["token"]))
    path = _uploaded_csv(folder)
    try:
        encoding = _encoding(form)
        report, _ = await state.run(_run_import, state, slug, path, encoding, False)
    except MailerError as exc:
        flash(request, error_text(exc), "error")
        return RedirectResponse(f"/admin/lists/{slug}/import", status_code=303)
    # The file is in the database now; a copy of people's data need not linger.
    path.unlink(missing_ok=True)
    message = f"Imported {path.name}: {report.summary()}."
    if report.rejects_file is not None:
        flash(request, message, "warning")
    else:
        flash(request, message)
    return RedirectResponse(f"/admin/lists/{slug}", status_code=303)


@login_required
async def import_rejects(request: Request) -> Response:
    """The rejected rows of an upload, as the CLI writes them (line, reason, columns)."""
    state = web_state(request)
    folder = _upload_folder(state.settings, str(request.path_params["token"]))
    path = folder / "rejects.csv"
    if not path.is_file():
        raise NotFoundError("no rows were rejected")
    return FileResponse(
        path, media_type="text/csv; charset=utf-8", filename=f"{_slug(request)}-rejects.csv"
    )


routes = [
    Route("/admin/lists/{slug}", list_page),
    Route("/admin/lists/{slug}/export.csv", export_list),
    Route("/admin/lists/{slug}/import", import_form),
    Route("/admin/lists/{slug}/import", import_upload, methods=["POST"]),
    Route("/admin/lists/{slug}/import/{token}", import_commit, methods=["POST"]),
    Route("/admin/lists/{slug}/import/{token}/rejects.csv", import_rejects),
]
