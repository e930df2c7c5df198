"""SES link tags: make every link of an email identifiable in SES click events.

With click tracking on, SES rewrites each link through its own redirect and
reports the original URL in the Click event, together with the tags of a
``ses:tags`` attribute on the anchor (``<a ses:tags="story:2" href=…>``;
names and values: letters, digits, ``_`` and ``-``). Each story's links
("Read more", its source, links in its text) get ``story:N`` (N counts the
issue's stories from 1, in order); the personal links get ``link:unsubscribe``,
``link:preferences`` and ``link:web``, so a report can group them although
every recipient's URL differs. Any other link is identified by its URL.

``tag_links`` also returns the map kept with a send (``sends.links``): one
entry per distinct link, ``{"url", "tag", "story"}`` with the story's headline.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterable
from typing import Any

from mailer.compose import placeholders

_ANCHOR = re.compile(r"<a\b[^>]*>", re.IGNORECASE)
_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
PERSONAL = {
    placeholders.UNSUBSCRIBE_URL: "link:unsubscribe",
    placeholders.PREFERENCES_URL: "link:preferences",
    placeholders.WEB_URL: "link:web",
}


def hrefs(fragment: str) -> list[str]:
    """The link targets in an HTML fragment, unescaped, in order."""
    out = []
    for anchor in _ANCHOR.finditer(fragment):
        found = _HREF.search(anchor.group(0))
        if found:
            out.append(html_lib.unescape(found.group(1) or found.group(2) or ""))
    return out


def story_links(stories: Iterable[Any]) -> dict[str, tuple[str, str | None]]:
    """URL -> (tag, headline) for the links of each story; the first story to use a URL keeps it."""
    out: dict[str, tuple[str, str | None]] = {}
    for n, story in enumerate(stories, start=1):
        urls = [story.read_more_url, story.source_url, story.page_url]
        for fragment in (story.teaser_html, story.why_html, story.body_html):
            urls += hrefs(str(fragment or ""))
        for url in urls:
            if url and url not in out:
                out[url] = (f"story:{n}", story.headline)
    return out


def tag_links(html: str, stories: Iterable[Any]) -> tuple[str, list[dict[str, Any]]]:
    """Add ``ses:tags`` to the email's anchors; return the HTML and its link map."""
    by_url = story_links(stories)
    seen: dict[str, dict[str, Any]] = {}

    def tag(match: re.Match[str]) -> str:
        anchor = match.group(0)
        found = _HREF.search(anchor)
        if not found:
            return anchor
        url = html_lib.unescape(found.group(1) or found.group(2) or "")
        label, story = by_url.get(url, (PERSONAL.get(url), None))
        seen.setdefault(url, {"url": url, "tag": label, "story": story})
        if label is None or "ses:tags" in anchor.lower():
            return anchor
        return f'{anchor[:2]} ses:tags="{label}"{anchor[2:]}'

    return _ANCHOR.sub(tag, html), list(seen.values())
