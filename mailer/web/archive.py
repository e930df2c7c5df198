"""The public archive: the web version of every sent issue, its story pages, feeds.

Only issues that went out (a send started) are published, so an editor's
draft in ``issues/`` never leaks. Pages come from the snapshot stored with the
issue's latest started send (``site.archive_list``'s when set), never from the
files on disk: editing, breaking or deleting an issue folder after sending
changes nothing readers see, and no page shows a path or a validation message.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from mailer import links
from mailer.compose import archive as published
from mailer.errors import NotFoundError
from mailer.lists import public
from mailer.web.issues import SLUG
from mailer.web.pages import WebState, render, web_state

# Compose's pages carry their own inline styles; nothing else runs in them.
ARCHIVE_CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline' https:; img-src 'self' https: data:; "
    "font-src https: data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
ATOM = "http://www.w3.org/2005/Atom"
PUBLIC_MAX_AGE = 5.0


async def home(request: Request) -> Response:
    state = web_state(request)
    lists = await state.run(public.public_lists, state.database)
    issues = await state.run(published.sent_issues, state.database, None, 20)
    return render(request, "public/home.html", {"lists": lists, "issues": issues})


async def index(request: Request) -> Response:
    state = web_state(request)
    issues = await state.run(published.sent_issues, state.database, None, 500)
    return render(request, "public/archive.html", {"issues": issues})


def _page(state: WebState, slug: str, rest: str) -> tuple[str, str]:
    """(media type, body) of one file of the published snapshot of ``slug``."""
    # Unsafe names fail here, before anything is cached under them.
    if not SLUG.match(slug) or ".." in slug:
        raise NotFoundError(f"no published issue {slug!r}")
    # Which send is published may lag the database by a few seconds: under
    # load that saves a query per request.
    send_id = state.issues.remember(
        f"published:{slug}",
        PUBLIC_MAX_AGE,
        lambda: published.published_send(state.database, slug, state.settings.site.archive_list),
        keep=False,
    )
    if send_id is None:
        raise NotFoundError(f"no published issue {slug!r}")
    pages = state.snapshots.get(send_id, lambda sid: published.pages(state.database, sid))
    rest = rest.strip("/")
    for key in [rest, f"{rest}/index.html"] if rest else ["index.html"]:
        if key in pages:
            return pages[key]
    raise NotFoundError(f"no page {rest!r} in issue {slug!r}")


def slash_redirect(request: Request, rest: str) -> RedirectResponse | None:
    """The page's address with its trailing slash, unless it has it or names a file.

    One canonical address per page, so relative links inside it resolve.
    """
    if request.url.path.endswith("/") or "." in rest.rsplit("/", 1)[-1]:
        return None
    return RedirectResponse(request.url.path + "/", status_code=301)


async def issue_page(request: Request) -> Response:
    slug = request.path_params["issue"]
    rest = request.path_params.get("rest", "")
    if (moved := slash_redirect(request, rest)) is not None:
        return moved
    state = web_state(request)
    media, body = await state.run(_page, state, slug, rest)
    return Response(
        body,
        media_type=media,
        headers={
            "content-security-policy": ARCHIVE_CSP,
            "cache-control": "public, max-age=300",
        },
    )


async def feed(request: Request) -> Response:
    state = web_state(request)
    slug = request.path_params["list"]
    lst = await state.run(public.public_list, state.database, slug)
    issues = await state.run(published.sent_issues, state.database, slug, 50)
    # Summaries come from what was sent (the snapshot's manifest), not the files.
    summaries = await state.run(
        published.summaries, state.database, [i.issue_slug for i in issues], slug
    )
    entries = [(item, summaries.get(item.issue_slug, "")) for item in issues]
    xml = atom_feed(state.settings, lst, entries)
    return Response(
        xml,
        media_type="application/atom+xml; charset=utf-8",
        headers={"cache-control": "public, max-age=300"},
    )


def _iso(when: datetime) -> str:
    return when.replace(microsecond=0).isoformat() + "Z"


def atom_feed(
    settings: Any, lst: public.PublicList, entries: list[tuple[published.SentIssue, str]]
) -> bytes:
    """An Atom 1.0 document listing ``entries`` (newest first) of list ``lst``."""
    ET.register_namespace("", ATOM)
    root = ET.Element(f"{{{ATOM}}}feed")
    root.set("{http://www.w3.org/XML/1998/namespace}lang", lst.language)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    own = links.feed_url(settings, lst.slug)
    sub(root, "id", own)
    sub(root, "title", lst.name)
    if lst.description:
        sub(root, "subtitle", lst.description)
    sub(root, "link", rel="self", href=own)
    sub(root, "link", rel="alternate", href=links.subscribe_url(settings, lst.slug))
    newest = entries[0][0].sent_at if entries else datetime(2000, 1, 1)
    sub(root, "updated", _iso(newest))
    author = sub(root, "author")
    sub(author, "name", lst.name)
    for item, summary in entries:
        url = links.issue_url(settings, item.issue_slug)
        entry = sub(root, "entry")
        sub(entry, "id", url)
        sub(entry, "title", item.subject)
        sub(entry, "link", rel="alternate", type="text/html", href=url)
        sub(entry, "updated", _iso(item.sent_at))
        sub(entry, "published", _iso(item.sent_at))
        if summary:
            sub(entry, "summary", summary)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(
        root, encoding="utf-8", xml_declaration=False
    )


async def favicon(request: Request) -> Response:
    # Browsers ask for /favicon.ico whatever the page says; point them at the SVG.
    return RedirectResponse("/static/favicon.svg", status_code=301)


routes = [
    Route("/favicon.ico", favicon),
    Route("/issues/", index),
    Route("/issues/{issue}", issue_page),
    Route("/issues/{issue}/", issue_page),
    Route("/issues/{issue}/{rest:path}", issue_page),
    Route("/lists/{list}/feed.xml", feed),
]
