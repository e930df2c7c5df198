"""The three sample issues compose into clean, complete emails."""

from __future__ import annotations

import re

import lxml.html
import pytest
from babel.messages.pofile import read_po

from mailer.compose import ComposedIssue, placeholders
from mailer.content import Issue
from mailer.content.languages import LOCALE_DIR
from tests.support.compose import ARTICLE, DUTCH, ENGLISH, SAMPLES


@pytest.mark.parametrize("slug", SAMPLES)
def test_sample_composes_without_lint_errors(composed: dict[str, ComposedIssue], slug: str) -> None:
    result = composed[slug]
    assert result.errors == []
    assert result.warnings == []  # https base_url, preheader, postal address: all set
    assert result.html.startswith("<!DOCTYPE html>")
    doc = lxml.html.document_fromstring(result.html)
    assert doc.get("lang") == result.language
    assert doc.xpath("//meta[@name='color-scheme']/@content") == ["light dark"]
    assert all(t.get("role") == "presentation" for t in doc.iter("table"))
    assert "max-width:600px" in result.html.replace(" ", "")


@pytest.mark.parametrize("slug", SAMPLES)
def test_footer_has_the_delivery_placeholders(
    composed: dict[str, ComposedIssue], slug: str
) -> None:
    result = composed[slug]
    hrefs = lxml.html.document_fromstring(result.html).xpath("//a/@href")
    for token in (placeholders.UNSUBSCRIBE_URL, placeholders.PREFERENCES_URL, placeholders.WEB_URL):
        assert token in hrefs
    assert placeholders.UNSUBSCRIBE_URL in result.text
    assert result.postal_address and result.postal_address in result.text


@pytest.mark.parametrize("slug", SAMPLES)
def test_text_part_is_clean(
    composed: dict[str, ComposedIssue], samples: dict[str, Issue], slug: str
) -> None:
    result, issue = composed[slug], samples[slug]
    text = result.text
    assert not re.search(r"</?[a-zA-Z][^>]*>", text), "HTML tag in the text part"
    assert not re.search(r"&(#\d+|[a-z]+);", text), "HTML entity in the text part"
    assert issue.preheader and issue.preheader not in text
    assert issue.title in text and issue.newsletter.name in text
    for section in issue.sections:
        if section.label:
            assert section.label.upper() in text
    assert "\n\n\n" not in text


def test_english_sample_shape(
    composed: dict[str, ComposedIssue], samples: dict[str, Issue]
) -> None:
    issue, result = samples[ENGLISH], composed[ENGLISH]
    assert [s.label for s in issue.sections] == [
        "AI + Mobility",
        "AI + Manufacturing",
        "AI + Electronics",
        "AI + Healthcare",
        "AI + Energy",
    ]
    doc = lxml.html.document_fromstring(result.html)
    assert len(doc.xpath("//*[contains(@class, 'why-label')]")) == 5
    assert len([a for a in doc.iter("a") if "Read more" in a.text_content()]) == 5
    assert result.text.count("WHY THIS MATTERS") == 5
    assert result.text.count("Read more: https://news.example.org/issues/") == 5


def test_preheader_is_hidden_in_the_html(
    composed: dict[str, ComposedIssue], samples: dict[str, Issue]
) -> None:
    doc = lxml.html.document_fromstring(composed[ENGLISH].html)
    preheader = samples[ENGLISH].preheader
    assert preheader
    [hidden] = [d for d in doc.iter("div") if d.text_content().startswith(preheader)]
    assert "display:none" in (hidden.get("style") or "").replace(" ", "")
    # Invisible filler keeps the inbox preview from running into the body text.
    assert hidden.text_content()[len(preheader) :].strip("\u034f\u200c\u00a0 ") == ""
    assert len(hidden.text_content()) > len(preheader) + 100


def test_article_is_a_teaser_without_page_noise(
    composed: dict[str, ComposedIssue], samples: dict[str, Issue]
) -> None:
    result = composed[ARTICLE]
    [story] = samples[ARTICLE].features()
    for noise in ("Also Read", "Follow us", "Most Popular", "HomeTechnology"):
        assert noise not in result.html and noise not in result.text
    last_paragraph = (story.body or "").strip().split("\n\n")[-1]
    assert last_paragraph not in result.html  # only the teaser reaches the email
    assert (
        "https://news.example.org/issues/china-6g-ai-plus-2024-03-09/6g-and-ai-plus/" in result.html
    )


def test_dutch_sample_has_no_english_ui_text(composed: dict[str, ComposedIssue]) -> None:
    result = composed[DUTCH]
    with (LOCALE_DIR / "nl" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale="nl")
    english = [str(m.id) for m in catalog if m.id and m.string != m.id]
    assert len(english) > 10
    doc = lxml.html.document_fromstring(result.html)
    visible = " ".join(doc.body.text_content().split()) + " " + (doc.findtext(".//title") or "")
    for msgid in english:
        for fragment in re.split(r"%\([a-z_]+\)s", msgid):
            fragment = fragment.strip(" .:")
            if len(fragment) > 3:
                assert fragment not in visible, f"English UI text {fragment!r} in the Dutch HTML"
                assert fragment not in result.text, (
                    f"English UI text {fragment!r} in the Dutch text"
                )
    assert "Uitschrijven" in visible and "Bron: SCMP" in visible and "27 januari 2025" in visible
    assert "Van de redactie" in visible


def test_dutch_briefs_keep_their_sources(
    composed: dict[str, ComposedIssue], samples: dict[str, Issue]
) -> None:
    sources = [s.source for s in samples[DUTCH].stories() if s.kind == "brief"]
    assert {"GT", "SCMP", "PD", "FT", "Technode"} <= set(sources)
    text = composed[DUTCH].text
    for source in filter(None, sources):
        assert f"Bron: {source}" in text
    assert "Lees meer" not in composed[DUTCH].html  # briefs have no read-more
