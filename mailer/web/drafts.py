"""Draft pages: an issue's web version from its files, behind a signed, expiring link.

Test copies and the editor's preview link here ("View in browser", "Read
more"), so every link of a test copy opens before the issue is published.
The link is the key: no login, since a test copy's reader may not have one.
Pages say they are a draft, ask search engines not to index them, and never
show a path or a validation message.
"""

from __future__ import annotations

import re

from markupsafe import escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from mailer import links
from mailer.errors import ConflictError, MailerError, NotFoundError
from mailer.web.archive import ARCHIVE_CSP, slash_redirect
from mailer.web.pages import WebState, web_state

BANNER = (
    '<div role="note" data-draft="1" style="background:#fff4c2;color:#3d3000;'
    "border-bottom:2px solid #d9b200;padding:8px 16px;font:14px/1.4 system-ui,sans-serif;"
    'text-align:center">Draft of “{title}”: not published. This link expires.</div>'
)
NOINDEX = '<meta name="robots" content="noindex, nofollow">'
_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
_BODY = re.compile(r"<body\b[^>]*>", re.IGNORECASE)


def mark_draft(page: str, title: str) -> str:
    """``page`` with a ``noindex`` robots tag and a visible draft banner."""
    head = _HEAD.search(page)
    page = page[: head.end()] + NOINDEX + page[head.end() :] if head else NOINDEX + page
    body = _BODY.search(page)
    banner = BANNER.format(title=escape(title))
    return page[: body.end()] + banner + page[body.end() :] if body else banner + page


def _draft(state: WebState, token: str, rest: str) -> str:
    slug = links.read_draft_token(state.settings, token)
    try:
        pages = state.issues.web_pages(slug)
        title = state.issues.issue(slug).title
    except NotFoundError as exc:
        raise NotFoundError("This draft no longer exists.") from exc
    except MailerError as exc:
        # The editor sees the problems in the preview; a reader only needs to know.
        raise ConflictError(
            "This draft cannot be shown right now: the editor is still fixing it."
        ) from exc
    rest = rest.strip("/")
    for key in [rest, f"{rest}/index.html"] if rest else ["index.html"]:
        if key in pages:
            page = str(pages[key]).replace(
                links.issue_url(state.settings, slug), links.draft_path(token)
            )
            return mark_draft(page, title)
    raise NotFoundError("There is no such page in this draft.")


async def draft_page(request: Request) -> Response:
    token = request.path_params["token"]
    rest = request.path_params.get("rest", "")
    if (moved := slash_redirect(request, rest)) is not None:
        return moved
    state = web_state(request)
    html = await state.run(_draft, state, token, rest)
    return HTMLResponse(
        html,
        headers={
            "content-security-policy": ARCHIVE_CSP,
            "x-robots-tag": "noindex, nofollow",
            "cache-control": "no-store",
        },
    )


routes = [
    Route("/drafts/{token}", draft_page),
    Route("/drafts/{token}/", draft_page),
    Route("/drafts/{token}/{rest:path}", draft_page),
]
