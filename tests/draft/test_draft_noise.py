"""Each kind of page noise, and the content lines that only look like it."""

from __future__ import annotations

import pytest

from mailer.draft.lines import Kind, Line
from mailer.draft.noise import drop_noise, noise_reason


def _line(text: str) -> Line:
    return Line(text, Kind.TEXT, 1, text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Home > World > Asia", "breadcrumbs"),
        ("Home » Tech » AI", "breadcrumbs"),
        ("Home / Nieuws / Technologie", "breadcrumbs"),
        ("Also Read: Can new productive forces rescue China’s economy?", "also read"),
        ("Lees ook: Zo werkt de scanner", "also read"),
        ("You may also like", "also read"),
        ("Related articles", "related"),
        ("Related:", "related"),
        ("Share this article", "share"),
        ("Share on: Facebook Twitter LinkedIn", "share"),
        ("Facebook Twitter WhatsApp Email", "share"),
        ("Deel dit artikel", "share"),
        ("Tags: drones, logistics", "tags"),
        ("Topics: AI", "tags"),
        ("Follow us", "follow us"),
        ("Follow us on LinkedIn", "follow us"),
        ("Volg ons op X", "follow us"),
        ("Most Popular", "most popular"),
        ("Most read", "most popular"),
        ("Meest gelezen", "most popular"),
        ("Subscribe to our newsletter", "subscribe"),
        ("Sign up for our daily briefing", "subscribe"),
        ("We use cookies to improve your experience.", "cookie"),
        ("Accept all cookies", "cookie"),
        ("Manage preferences", "cookie"),
        ("Skip to main content", "navigation"),
        ("Advertisement", "navigation"),
        ("Comments (12)", "navigation"),
        ("Leave a reply", "navigation"),
        ("By Li Wen | Staff reporter", "byline"),
        ("By Zhang Min, September 1, 2025", "byline"),
        ("Door Anna de Vries", "byline"),
    ],
)
def test_noise_kinds(text: str, reason: str) -> None:
    assert noise_reason(_line(text)) == reason


@pytest.mark.parametrize(
    "text",
    [
        "Share prices of drone makers rose after the announcement.",
        "Subscribers to the service grew by a third.",
        "By prioritizing innovation and strategic investment, China aims to lead.",
        "By Monday, the ministry will publish the rules.",
        "Home appliances sold well in the first quarter.",
        "Related industries, from batteries to chips, benefit too.",
        "Follow-up tests confirmed the diagnosis.",
        "The bakery sells cookies and cakes.",
        "Most popular among buyers were small electric cars, the association said.",
    ],
)
def test_content_that_looks_like_noise_stays(text: str) -> None:
    assert noise_reason(_line(text)) is None


def test_breadcrumbs_run_together_above_the_headline() -> None:
    crumbs = _line("HomeTechnologyArtificial intelligenceChina advances in 6G")
    assert noise_reason(crumbs, "China advances in 6G") == "breadcrumbs"
    assert noise_reason(_line("Homegrown chips advance in 6G"), "advance in 6G") is None


def test_an_article_ends_at_most_popular() -> None:
    lines = [_line(t) for t in ["Headline", "A paragraph.", "Most Popular", "Other story"]]
    kept, dropped = drop_noise(lines, cut_tail=True)
    assert [line.text for line in kept] == ["Headline", "A paragraph."]
    assert [(d.text, d.reason) for d in dropped] == [
        ("Most Popular", "most popular"),
        ("Other story", "after “Most Popular”"),
    ]
    kept, _ = drop_noise(lines, cut_tail=False)
    assert [line.text for line in kept] == ["Headline", "A paragraph.", "Other story"]


def test_long_lines_are_never_noise() -> None:
    text = "Subscribe " + "to a long sentence that is really a paragraph " * 5
    assert noise_reason(_line(text)) is None
