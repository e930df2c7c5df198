"""SES link tags on the composed email, and the link map a send keeps."""

from __future__ import annotations

import re
from pathlib import Path

from mailer.compose import compose_issue, placeholders
from mailer.compose.tagging import tag_links
from mailer.config import Settings
from tests.support.compose import make_issue

ISSUE = """
title = "Tags"
date = 2026-02-02

[newsletter]
name = "Letter"
postal_address = "1 Main St"

[[sections]]
label = "News"

[[sections.stories]]
headline = "First story"
url = "https://example.com/first?a=1&b=2"
body = "See [the data](https://example.com/data) and [again](https://example.com/first?a=1&b=2)."

[[sections.stories]]
headline = "Second story"
body = "Nothing but words, and [the data](https://example.com/data) once more."
"""


def anchors(html: str) -> dict[str, str]:
    """href -> ses:tags of each tagged anchor."""
    out = {}
    for tag in re.findall(r"<a\b[^>]*>", html):
        href = re.search(r'href="([^"]*)"', tag)
        tags = re.search(r'ses:tags="([^"]*)"', tag)
        if href and tags:
            out[href.group(1)] = tags.group(1)
    return out


def test_story_and_personal_links_are_tagged(tmp_path: Path, settings: Settings) -> None:
    composed = compose_issue(make_issue(tmp_path, settings, ISSUE), settings)
    found = anchors(composed.html)
    assert found["https://example.com/first?a=1&amp;b=2"] == "story:1"
    assert found["https://example.com/data"] == "story:1"  # the first story to link it keeps it
    assert found[placeholders.UNSUBSCRIBE_URL] == "link:unsubscribe"
    assert found[placeholders.PREFERENCES_URL] == "link:preferences"
    by_url = {entry["url"]: entry for entry in composed.links}
    assert by_url["https://example.com/first?a=1&b=2"]["story"] == "First story"
    second_page = next(e for e in composed.links if e["tag"] == "story:2")
    assert second_page["story"] == "Second story" and "/issues/" in second_page["url"]
    assert by_url[placeholders.WEB_URL] == {
        "url": placeholders.WEB_URL,
        "tag": "link:web",
        "story": None,
    }
    # The public web version is not tagged: nothing there goes through SES.
    web = compose_issue(make_issue(tmp_path, settings, ISSUE), settings, web=True)
    assert "ses:tags" not in web.html and web.links == []


def test_existing_tags_are_kept_and_unknown_links_left_alone() -> None:
    html = (
        '<a ses:tags="campaign:x" href="https://a.example/">a</a><a href="https://b.example/">b</a>'
    )
    tagged, links = tag_links(html, [])
    assert tagged == html
    assert links == [
        {"url": "https://a.example/", "tag": None, "story": None},
        {"url": "https://b.example/", "tag": None, "story": None},
    ]
