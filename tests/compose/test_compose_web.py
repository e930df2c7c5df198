"""The static web version: issue page and story pages, served at links.*_url."""

from __future__ import annotations

import lxml.html
from composekit import ARTICLE, DUTCH, ENGLISH

from mailer import links
from mailer.compose import placeholders, render_web_pages
from mailer.config import Settings
from mailer.content import Issue


def test_pages_for_every_feature_without_url(
    samples: dict[str, Issue], sample_settings: Settings
) -> None:
    issue = samples[ENGLISH]
    pages = render_web_pages(issue, sample_settings)
    assert set(pages) == {"index.html"} | {f"{f.slug}/index.html" for f in issue.features()}
    for html in pages.values():
        assert not placeholders.PATTERN.search(html)
        assert lxml.html.document_fromstring(html).get("lang") == "en"


def test_story_page_has_the_full_text(samples: dict[str, Issue], sample_settings: Settings) -> None:
    issue = samples[ARTICLE]
    [story] = issue.features()
    page = render_web_pages(issue, sample_settings)[f"{story.slug}/index.html"]
    doc = lxml.html.document_fromstring(page)
    assert doc.findtext(".//h1") == story.headline
    text = " ".join(doc.text_content().split())
    last = " ".join((story.body or "").strip().split("\n\n")[-1].split())
    assert last in text
    assert "Why this matters" in text
    # Body headings sit under the page's h1.
    assert doc.xpath("//h2[contains(., 'Innovation Drive')]")
    assert links.issue_url(sample_settings, issue.slug) in doc.xpath("//a/@href")
    # Shared links get a proper card.
    assert doc.xpath("//meta[@property='og:title']/@content") == [story.headline]
    assert doc.xpath("//meta[@property='og:url']/@content") == [
        links.story_url(sample_settings, issue.slug, story.slug)
    ]


def test_read_more_points_at_the_story_page(
    samples: dict[str, Issue], sample_settings: Settings
) -> None:
    issue = samples[ARTICLE]
    index = render_web_pages(issue, sample_settings)["index.html"]
    story = issue.features()[0]
    assert links.story_url(
        sample_settings, issue.slug, story.slug
    ) in lxml.html.document_fromstring(index).xpath("//a/@href")


def test_briefs_get_no_pages_and_index_is_translated(
    samples: dict[str, Issue], sample_settings: Settings
) -> None:
    pages = render_web_pages(samples[DUTCH], sample_settings)
    assert list(pages) == ["index.html"]
    assert "Je leest de webversie van China Tech Digest." in pages["index.html"]
