"""Each shape and its variations, from the raw inputs in ``inputs/``."""

from __future__ import annotations

import pytest

from mailer.config import Settings
from mailer.draft.lines import Kind, classify, logical_lines
from mailer.draft.shapes import detect_shape, split_source
from mailer.errors import MailerError
from tests.support.draft import INPUTS, draft_file, draft_text


def test_briefing_story_without_subheadline(settings: Settings) -> None:
    result = draft_file(INPUTS / "briefing_no_subheadline.txt", settings)
    first, second = result.stories()
    assert first.headline == "Sodium-ion batteries reach the grid in Hubei"
    assert first.subheadline == ""
    assert first.paragraphs[0].startswith("The first utility-scale sodium-ion storage plant")
    assert second.subheadline == "Distributed generation now exceeds 300 gigawatts"
    # The colon introduced the "Read more" link, which is structure: it becomes a period.
    assert second.why == ["Distributed solar changes how grids have to be planned."]


def test_briefing_two_stories_in_one_section(settings: Settings) -> None:
    result = draft_file(INPUTS / "briefing_two_stories.txt", settings)
    assert [s.label for s in result.sections] == ["Autonomous Driving"]
    robotaxis, trucks = result.sections[0].stories
    assert robotaxis.url == "https://example.org/robotaxis"
    assert trucks.url is None
    assert trucks.headline == "Trucks platoon on the Beijing–Shanghai expressway"
    assert trucks.why == ["Platooning saves fuel and may ease the shortage of drivers."]
    assert result.title == "Mobility Notes"


@pytest.mark.parametrize(
    "spelling",
    [
        "Why it matters:",
        "WHY DOES THIS MATTER?",
        "Why this is important",
        "Waarom dit belangrijk is",
    ],
)
def test_why_it_matters_spellings(spelling: str) -> None:
    line = classify(spelling, 1)
    assert line.kind is Kind.WHY
    assert classify(f"**{spelling}**", 1).kind is Kind.WHY


def test_why_spellings_in_one_briefing(settings: Settings) -> None:
    result = draft_file(INPUTS / "briefing_why_spellings.txt", settings)
    assert [s.why for s in result.stories()] == [
        ["Mature nodes are where most car chips are made."],
        ["An open instruction set cannot be restricted by export rules."],
        ["Without packaging, even the best chips cannot ship."],
    ]


def test_why_it_matters_on_the_marker_line(settings: Settings) -> None:
    text = (
        "Weekly\n➤ Cars\nA headline\nThe body sentence is here.\n"
        "Why it matters: prices fall.\n➤➤➤Read more\n"
    )
    (story,) = draft_text(text, settings).stories()
    assert story.why == ["prices fall."]


def test_windows_line_endings(settings: Settings) -> None:
    raw = (INPUTS / "briefing_crlf.txt").read_bytes()
    assert b"\r\n" in raw  # the fixture really has them (.gitattributes keeps them)
    result = draft_file(INPUTS / "briefing_crlf.txt", settings)
    (story,) = result.stories()
    assert story.headline == "AI reads chest X-rays in rural clinics"
    assert all("\r" not in p for p in [*story.paragraphs, *story.why, *result.intro])
    assert result.sections[0].label == "AI + Health"


def test_markdown_with_smart_quotes_and_wrapped_paragraphs(settings: Settings) -> None:
    result = draft_file(INPUTS / "briefing_markdown.md", settings)
    assert result.title == "“Smart” Cities Briefing"
    (story,) = result.stories()
    assert story.headline == "Hangzhou’s “city brain” now runs the buses"
    assert story.subheadline == "Timetables adapt to traffic every five minutes"
    assert story.paragraphs[0].startswith("The city’s traffic platform has started to reschedule")
    assert "\n" not in story.paragraphs[0]  # the 72-column wrap is undone
    assert story.url == "https://example.org/city-brain"
    assert story.why[0].endswith("copied by other cities.")
    assert result.intro[0].startswith("This week’s issue was written in Markdown")


def test_briefing_without_section_markers(settings: Settings) -> None:
    result = draft_file(INPUTS / "briefing_no_sections.txt", settings)
    assert [s.headline for s in result.stories()] == [
        "Humanoid robots start work in car factories",
        "Robot dogs inspect power lines",
    ]
    assert len(result.intro) == 1


def test_briefing_keeps_what_it_cannot_place(settings: Settings) -> None:
    result = draft_file(INPUTS / "briefing_unplaced.txt", settings)
    assert [s.label for s in result.sections] == ["Launches", "Policy"]
    assert "section without stories: Satellites" in result.unplaced
    assert "You are receiving this briefing because you asked for it" in result.unplaced


def test_markers_rules_and_read_more_never_reach_the_text(settings: Settings) -> None:
    result = draft_file(INPUTS / "briefing_two_stories.txt", settings)
    texts = [t for s in result.stories() for t in [*s.paragraphs, *s.why, s.headline]]
    assert texts
    for text in texts:
        assert "➤" not in text and "____" not in text and "Read more" not in text


def test_article_noise_kinds(settings: Settings) -> None:
    result = draft_file(INPUTS / "article_noise.txt", settings)
    (story,) = result.stories()
    reasons = {d.reason for part in result.parts for d in part.dropped}
    assert {
        "breadcrumbs",
        "cookie",
        "share",
        "also read",
        "subscribe",
        "tags",
        "follow us",
        "related",
        "byline",
        "date line",
    } <= reasons
    assert story.headline == "Shenzhen opens a low-altitude logistics hub"
    assert story.paragraphs == [
        "Shenzhen has opened a logistics hub for drones that will handle up to 1,000 flights "
        "a day, the city government said.",
        "The hub connects hospitals, ports and warehouses across the city's Nanshan district.",
        # A paragraph that starts like a share button is still a paragraph.
        "Share prices of drone makers rose after the announcement, with some gaining more "
        "than five per cent.",
    ]
    # The headlines under "Related articles" are the page's, not the story's.
    dropped = [d.text for part in result.parts for d in part.dropped]
    assert "Drone makers expand overseas" in dropped
    assert result.date is not None and result.date.isoformat() == "2025-03-12"


def test_dutch_article_with_dateline(settings: Settings) -> None:
    result = draft_file(INPUTS / "article_dutch.txt", settings)
    (story,) = result.stories()
    assert result.language == "nl"
    assert story.paragraphs[0].startswith("**Ningbo, 14 januari 2026 (ANP):** Artsen in Ningbo")
    assert result.date.isoformat() == "2026-01-14"
    reasons = [d.reason for part in result.parts for d in part.dropped]
    assert reasons.count("breadcrumbs") == 1 and "byline" in reasons and "also read" in reasons
    assert not any("Elektrische" in p for p in story.paragraphs)


def test_html_page_with_sidebar_and_comments(settings: Settings) -> None:
    result = draft_file(INPUTS / "article_page.html", settings)
    (story,) = result.stories()
    assert story.headline == "Beijing sets rules for AI-generated content"
    assert story.url == "https://news.example.org/tech/ai-content-rules"
    body = story.body
    assert "## What changes for platforms" in body
    assert "hidden watermarks" in body
    for noise in ("terrible idea", "Robots run a half marathon", "Sign up", "cookies", "©"):
        assert noise not in body
    assert result.date.isoformat() == "2025-09-01"


def test_digest_sources_are_split_off(settings: Settings) -> None:
    result = draft_file(INPUTS / "digest_english.txt", settings)
    assert [s.label for s in result.sections] == ["Chips", "Cars", "Payments"]
    sources = [s.source for s in result.stories()]
    assert sources == ["Reuters", "FT", "AP, Bloomberg", "Caixin", "Technode", "SCMP"]
    assert result.stories()[1].body.endswith("demand for mature chips.")
    assert all(s.kind == "brief" for s in result.stories())


def test_digest_items_without_source_and_without_bullet(settings: Settings) -> None:
    result = draft_file(INPUTS / "digest_no_sources.txt", settings)
    stories = result.stories()
    assert [s.source for s in stories] == [None, "Xinhua", "GT"]
    assert stories[2].body.startswith("A paragraph brief without a bullet")
    assert [s.label for s in result.sections] == ["AI", "Energy"]


@pytest.mark.parametrize(
    ("text", "body", "source"),
    [
        ("Prices rose. SCMP", "Prices rose.", "SCMP"),
        ("Prices rose. FT.", "Prices rose.", "FT"),
        ("Exports grew. GT, Peoples Daily", "Exports grew.", "GT, Peoples Daily"),
        (
            "said M. Zuckerberg bekend SCMP Microsoft Copilot",
            "said M. Zuckerberg bekend.",
            "SCMP, Microsoft Copilot",
        ),
        ("It opened in New York", "It opened in New York", None),
        ("Demand rose in de VS;", "Demand rose in de VS;", None),
    ],
)
def test_split_source(text: str, body: str, source: str | None) -> None:
    assert split_source(text) == (body, source)


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("briefing_no_subheadline.txt", "briefing"),
        ("briefing_markdown.md", "briefing"),
        ("article_noise.txt", "article"),
        ("article_dutch.txt", "article"),
        ("digest_english.txt", "digest"),
        ("digest_no_sources.txt", "digest"),
    ],
)
def test_shape_is_recognised(name: str, shape: str) -> None:
    text = (INPUTS / name).read_text(encoding="utf-8")
    assert detect_shape(logical_lines(text)) == shape


def test_forced_shape_wins(settings: Settings) -> None:
    text = (INPUTS / "digest_english.txt").read_text(encoding="utf-8")
    result = draft_text(text, settings, shape="article")
    assert [p.shape for p in result.parts] == ["article"]
    assert all(s.kind == "feature" for s in result.stories())


def test_several_sources_make_one_issue(settings: Settings) -> None:
    from mailer.draft import draft, read

    result = draft(
        [read(str(INPUTS / "article_noise.txt")), read(str(INPUTS / "article_dutch.txt"))],
        settings,
        language="en",
    )
    assert len(result.sections) == 1
    assert [s.headline for s in result.stories()] == [
        "Shenzhen opens a low-altitude logistics hub",
        "Chinese ziekenhuizen zetten AI in voor vroege diagnose",
    ]


def test_language_not_in_the_catalogs_is_said(settings: Settings) -> None:
    text = (
        "Die Regierung in Peking hat neue Regeln für künstliche Intelligenz veröffentlicht. "
        "Die Plattformen müssen alle Inhalte kennzeichnen, die von einer Maschine stammen."
    )
    result = draft_text(f"Neue Regeln\n{text}\n", settings)
    assert result.language == "en"
    assert any("looks like de" in note for note in result.notes)


def test_text_without_a_story_is_refused(settings: Settings) -> None:
    with pytest.raises(MailerError, match="found no story"):
        draft_text("➤ Empty section\n_________\n", settings)


def test_a_paragraph_where_a_headline_should_be_is_kept_unplaced(settings: Settings) -> None:
    long = "This paragraph came straight after the marker. " * 4
    text = f"Weekly\n➤ Cars\n{long}\nA real headline\nIts body text is here.\n"
    result = draft_text(text, settings)
    assert [s.headline for s in result.stories()] == ["A real headline"]
    assert result.unplaced == [long.strip()]


def test_language_without_template_strings_is_refused(settings: Settings) -> None:
    with pytest.raises(MailerError, match="language 'de': no template strings"):
        draft_text("Weekly\n➤ Cars\nA headline\nIts body.\n", settings, language="de")


def test_the_same_page_drafts_again(settings: Settings) -> None:
    # trafilatura can drop text it has seen before in the process; drafts never must.
    for _ in range(3):
        (story,) = draft_file(INPUTS / "article_page.html", settings).stories()
        assert "hidden watermarks" in story.body
