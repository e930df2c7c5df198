"""Edit an issue in the browser: one file at a time, with the preview beside it.

Saves go through ``mailer.content.folder``: checked first (an invalid save is
refused and nothing is written), written atomically, and refused when the
file changed on disk since the page was loaded. Stories are added, moved and
deleted by editing ``issue.toml`` with its comments kept.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from mailer.content import folder as files
from mailer.content.loader import ISSUE_FILE
from mailer.errors import ConflictError, MailerError, SaveRefused
from mailer.web.auth import login_required
from mailer.web.issues import issue_folder
from mailer.web.pages import error_text, flash, render, web_state
from mailer.web.security import form_str


def _structure(text: str) -> list[dict[str, Any]]:
    """Sections and their stories as the structure panel lists them (empty if unreadable)."""
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return []
    out: list[dict[str, Any]] = []
    for section in data.get("sections", []) if isinstance(data.get("sections"), list) else []:
        if not isinstance(section, dict):
            continue
        stories = []
        for story in section.get("stories", []) if isinstance(section.get("stories"), list) else []:
            if isinstance(story, dict):
                title = story.get("headline") or " ".join(str(story.get("body", "")).split()[:8])
                stories.append({"title": str(title) or "(untitled)", "file": story.get("file")})
        out.append({"label": section.get("label") or "", "stories": stories})
    return out


def _page(
    request: Request,
    slug: str,
    name: str,
    text: str | None = None,
    version: str | None = None,
    problems: list[Any] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    state = web_state(request)
    folder = issue_folder(state.settings, slug)
    names = files.files(folder)
    on_disk, disk_version = files.read(folder, name)
    toml_text, toml_version = files.read(folder, ISSUE_FILE)
    shown = on_disk if text is None else text
    current = files.problems_of(folder, state.settings) if problems is None else []
    return render(
        request,
        "admin/edit.html",
        {
            "slug": slug,
            "name": name,
            "names": names,
            "text": shown,
            "lines": max(1, shown.count("\n") + 1),
            "version": disk_version if version is None else version,
            "toml_version": toml_version,
            "problems": problems or [],
            "error": error,
            "structure": _structure(toml_text),
            "current": current,
        },
        status=status,
    )


@login_required
async def edit(request: Request) -> Response:
    state = web_state(request)
    slug = request.path_params["slug"]
    name = request.query_params.get("file", ISSUE_FILE)
    return await state.run(_page, request, slug, name)


@login_required
async def save(request: Request) -> Response:
    state = web_state(request)
    slug = request.path_params["slug"]
    form = await request.form()
    name = form_str(form, "file", ISSUE_FILE)
    text = str(form.get("text") or "").replace("\r\n", "\n")
    expected = form_str(form, "version")
    folder = issue_folder(state.settings, slug)
    refused: tuple[list[Any], str, int] | None = None
    try:
        await state.run(files.save, folder, name, text, expected, state.settings)
    except SaveRefused as exc:
        refused = (list(exc.problems), exc.message, exc.http_status)
    except ConflictError as exc:
        refused = ([], error_text(exc), exc.http_status)
    if refused is not None:
        problems, message, status = refused
        return await state.run(
            lambda: _page(request, slug, name, text, expected, problems, message, status)
        )
    remaining = await state.run(files.problems_of, folder, state.settings)
    if remaining:
        flash(request, f"Saved {name}; the issue still has {len(remaining)} problem(s).", "warning")
    else:
        flash(request, f"Saved {name}.")
    return RedirectResponse(f"/admin/issues/{slug}/edit?file={quote(name)}", status_code=303)


def _int(form: Any, key: str) -> int:
    value = form_str(form, key)
    if not value.lstrip("-").isdigit():
        raise MailerError(f"{key}: must be a number")
    return int(value)


@login_required
async def structure(request: Request) -> Response:
    """Add, move or delete a story, or move a section."""
    state = web_state(request)
    slug = request.path_params["slug"]
    form = await request.form()
    action = form_str(form, "action")
    expected = form_str(form, "version")
    folder = issue_folder(state.settings, slug)
    back = f"/admin/issues/{slug}/edit"
    try:
        if action == "add":
            name = await state.run(
                files.add_story,
                folder,
                expected,
                state.settings,
                _int(form, "section"),
                form_str(form, "headline"),
                str(form.get("body") or ""),
                form_str(form, "label"),
            )
            flash(request, f"Added a story in {name}.")
            back += f"?file={quote(name)}"
        elif action in ("story-up", "story-down", "section-up", "section-down"):
            step = -1 if action.endswith("up") else 1
            story = _int(form, "story") if action.startswith("story") else None
            await state.run(
                files.move, folder, expected, state.settings, _int(form, "section"), story, step
            )
            flash(request, "Moved.")
        elif action == "delete":
            headline = await state.run(
                files.delete_story,
                folder,
                expected,
                state.settings,
                _int(form, "section"),
                _int(form, "story"),
            )
            flash(request, f"Deleted “{headline}”.")
        else:
            raise MailerError(f"unknown action {action!r}")
    except SaveRefused as exc:
        flash(request, f"Not changed: {'; '.join(str(p) for p in exc.problems)}", "error")
    except MailerError as exc:
        flash(request, f"Not changed: {error_text(exc)}", "error")
    return RedirectResponse(back, status_code=303)


routes = [
    Route("/admin/issues/{slug}/edit", edit),
    Route("/admin/issues/{slug}/edit", save, methods=["POST"]),
    Route("/admin/issues/{slug}/structure", structure, methods=["POST"]),
]
