"""Parts of the email: "In this issue", the style of brief sources."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest

from mailer.compose import ComposedIssue, compose_issue
from mailer.config import Settings
from mailer.content import Issue, issue_schema, load_issue
from tests.support.compose import ARTICLE, DUTCH, ENGLISH


def issue_with(tmp_path: Path, settings: Settings, stories: int, switch: str = "") -> Issue:
    toml = f'title = "T"\ndate = 2026-02-02\npreheader = "P"\n{switch}\n[newsletter]\nname = "N"\n'
    toml += '\n[[sections]]\nlabel = "S"\n'
    for n in range(stories):
        toml += f'[[sections.stories]]\nheadline = "Story number {n}"\nbody = "Text {n}."\n'
    toml += '[[sections.stories]]\nkind = "brief"\nbody = "A brief without a headline."\n'
    folder = tmp_path / "issues" / f"i{stories}{len(switch)}"
    folder.mkdir(parents=True)
    (folder / "issue.toml").write_text(toml, encoding="utf-8")
    return load_issue(folder, settings)


def contents_links(html: str) -> list[tuple[str, str]]:
    doc = lxml.html.document_fromstring(html)
    return [(a.text_content(), a.get("href")) for a in doc.xpath("//ul[@class='toc']//a")]


def test_in_this_issue_links_each_headline_to_its_story(composed: dict[str, ComposedIssue]) -> None:
    html = composed[ENGLISH].html
    entries = contents_links(html)
    doc = lxml.html.document_fromstring(html)
    headlines = [h.text_content() for h in doc.xpath("//*[@class='headline']")]
    assert [text for text, _ in entries] == headlines and len(entries) == 5
    for text, href in entries:
        [target] = doc.xpath(f"//*[@id='{href[1:]}']")
        assert target.text_content() == text
    # It sits near the top: before the editor's intro and the first story.
    assert html.index('class="toc"') < html.index("From the editor") < html.index('id="story-')
    text = composed[ENGLISH].text
    assert text.index("IN THIS ISSUE") < text.index("FROM THE EDITOR")
    assert f"- {headlines[0]}" in text


def test_in_this_issue_is_off_for_short_issues_and_headline_less_briefs(
    composed: dict[str, ComposedIssue],
) -> None:
    assert contents_links(composed[ARTICLE].html) == []
    assert contents_links(composed[DUTCH].html) == []  # briefs without headlines
    assert "IN THIS ISSUE" not in composed[ARTICLE].text


@pytest.mark.parametrize(
    ("stories", "switch", "shown"),
    [
        (3, "", False),
        (4, "", True),
        (6, "in_this_issue = false", False),
        (2, "in_this_issue = true", True),
    ],
)
def test_in_this_issue_default_and_switch(
    tmp_path: Path, settings: Settings, stories: int, switch: str, shown: bool
) -> None:
    issue = issue_with(tmp_path, settings, stories, switch)
    entries = contents_links(compose_issue(issue, settings).html)
    assert bool(entries) == shown
    if shown:
        assert [text for text, _ in entries] == [f"Story number {n}" for n in range(stories)]


def test_schema_documents_the_switch() -> None:
    prop = issue_schema()["properties"]["in_this_issue"]
    assert "four or more" in prop["description"]
    assert {"type": "boolean"} in prop["anyOf"]


def test_brief_sources_keep_their_own_case(composed: dict[str, ComposedIssue]) -> None:
    doc = lxml.html.document_fromstring(composed[DUTCH].html)
    sources = doc.xpath("//p[contains(@class, 'source')]")
    assert sources
    for source in sources:
        style = source.get("style", "")
        assert "uppercase" not in style and "letter-spacing" not in style
    assert "Bron: SCMP" in [s.text_content() for s in sources]
