"""The static web version: issue page and story pages, served at links.*_url."""

from __future__ import annotations

import lxml.html

from mailer import links
from mailer.compose import placeholders, render_web_pages
from mailer.config import Settings
from mailer.content import Issue
from tests.support.compose import ARTICLE, DUTCH, ENGLISH


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


def page_links(html: str) -> dict[str, list[str]]:
    """Link text -> targets, over the whole page."""
    found: dict[str, list[str]] = {}
    for a in lxml.html.document_fromstring(html).iter("a"):
        found.setdefault(" ".join(a.text_content().split()), []).append(a.get("href", ""))
    return found


def test_every_public_page_carries_name_archive_and_subscribe(
    samples: dict[str, Issue], sample_settings: Settings
) -> None:
    issue = samples[ENGLISH]
    pages = render_web_pages(issue, sample_settings, list_slug="china-ai2x")
    subscribe = links.subscribe_url(sample_settings, "china-ai2x")
    assert subscribe == "https://news.example.org/subscribe/china-ai2x"
    for rel, html in pages.items():
        found = page_links(html)
        assert issue.newsletter.name in lxml.html.document_fromstring(html).text_content(), rel
        assert found["All issues"] == ["https://news.example.org/issues/"] * len(
            found["All issues"]
        ), rel
        targets = found.get("Subscribe", []) + found[f"Subscribe to {issue.newsletter.name}"]
        assert targets and set(targets) == {subscribe}, rel


def test_without_a_list_subscribe_goes_to_the_home_page(
    samples: dict[str, Issue], sample_settings: Settings
) -> None:
    pages = render_web_pages(samples[DUTCH], sample_settings)
    found = page_links(pages["index.html"])
    assert found["Abonneer je op China Tech Digest"] == ["https://news.example.org/"]
    assert found["Alle nummers"] == ["https://news.example.org/issues/"]


def story_footer(html: str) -> str:
    doc = lxml.html.document_fromstring(html)
    return " ".join(doc.xpath("//footer/p")[-1].text_content().split())


def test_story_footer_names_the_newsletter_once(
    samples: dict[str, Issue], sample_settings: Settings
) -> None:
    issue = samples[ENGLISH]
    story = issue.features()[0]
    address = issue.newsletter.postal_address or ""
    assert issue.newsletter.name in address  # the sample's address starts with the name
    footer = story_footer(render_web_pages(issue, sample_settings)[f"{story.slug}/index.html"])
    assert footer == address
    assert footer.count(issue.newsletter.name) == 1


def test_story_footer_adds_the_name_to_an_address_without_it(
    samples: dict[str, Issue], sample_settings: Settings
) -> None:
    issue = samples[ARTICLE].model_copy(deep=True)
    issue._slug = samples[ARTICLE].slug
    issue.newsletter.postal_address = "Keizersgracht 100\n1015 CV Amsterdam"
    story = issue.features()[0]
    footer = story_footer(render_web_pages(issue, sample_settings)[f"{story.slug}/index.html"])
    assert footer == "China Tech Policy Watch · Keizersgracht 100 · 1015 CV Amsterdam"
