"""Editor Markdown: raw HTML neutralised, readable plain text."""

from __future__ import annotations

from mailer.content import markdown


def test_raw_html_and_scripts_are_escaped() -> None:
    html = markdown.to_html('Hi <script>alert("x")</script> <img src=x onerror=alert(1)>')
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html


def test_dangerous_link_schemes_are_not_links() -> None:
    html = markdown.to_html("[click](javascript:alert(1)) [data](data:text/html;base64,AAA)")
    assert "href" not in html


def test_headings_renumbered_from_the_top_level() -> None:
    html = markdown.to_html("# Top\n\n## Sub\n\n###### Deep", top_heading=2)
    assert "<h2>Top</h2>" in html and "<h3>Sub</h3>" in html and "<h6>Deep</h6>" in html
    html = markdown.to_html("## Starts at two\n\n### Then three", top_heading=2)
    assert "<h2>Starts at two</h2>" in html and "<h3>Then three</h3>" in html
    assert "<h1>Kept</h1>" in markdown.to_html("# Kept")


def test_text_shows_link_urls_and_structure() -> None:
    text = markdown.to_text(
        "# Title\n\nRead [the plan](https://gov.example/plan) now.\n\n- one\n- two\n\n> quoted"
    )
    assert "Title\n=====" in text
    assert "the plan (https://gov.example/plan)" in text
    assert "- one\n- two" in text
    assert "> quoted" in text
    assert "<" not in text and "[" not in text


def test_text_decodes_entities_and_wraps_without_breaking_urls() -> None:
    url = "https://example.org/" + "a" * 90
    text = markdown.to_text(f"Fish &amp; chips {'word ' * 30}[x]({url})")
    assert "&amp;" not in text and "Fish & chips" in text
    assert url in text
    assert all(len(line) <= markdown.TEXT_WIDTH or url in line for line in text.splitlines())


def test_blocks_are_prose_only() -> None:
    assert markdown.blocks(
        "# Heading\n\nA *b* [c](https://x.org).\n\n```\ncode\n```\n\n- item"
    ) == [
        "A b c.",
        "item",
    ]
