"""Teasers in the email never hold a table, a code block or half a list.

The property test builds Markdown bodies from random runs of paragraphs,
headings, lists, tables, code blocks and quotes. Every word of a structure
carries a marker (``cellword``, ``itemword``, ``codeword``) that no paragraph
uses, so any piece of a structure leaking into a teaser is caught, markup or
not.
"""

from __future__ import annotations

import re

import lxml.html
from hypothesis import given, settings
from hypothesis import strategies as st

from mailer.compose.context import story_view
from mailer.config import Settings
from mailer.content import markdown
from mailer.content.model import Feature, Issue

WORD = st.sampled_from(
    ["china", "drones", "model", "chips", "policy", "week", "grid", "robot", "data", "city"]
)
MARKERS = ("cellword", "itemword", "codeword")


def sentence(words: list[str]) -> str:
    return " ".join(words).capitalize() + "."


SENTENCE = st.lists(WORD, min_size=3, max_size=14).map(sentence)
PARAGRAPH = st.lists(SENTENCE, min_size=1, max_size=4).map(" ".join)
HEADING = st.builds(
    lambda level, words: "#" * level + " " + " ".join(words),
    st.integers(1, 3),
    st.lists(WORD, min_size=1, max_size=4),
)
ITEM = st.lists(WORD, min_size=1, max_size=10).map(lambda ws: "itemword " + " ".join(ws) + ".")
BULLETS = st.lists(ITEM, min_size=1, max_size=5).map(
    lambda items: "\n".join(f"- {item}" for item in items)
)
NUMBERED = st.lists(ITEM, min_size=1, max_size=5).map(
    lambda items: "\n".join(f"{n}. {item}" for n, item in enumerate(items, start=1))
)
NESTED = st.tuples(ITEM, ITEM, ITEM).map(lambda t: f"- {t[0]}\n  - {t[1]}\n- {t[2]}")
CELL = st.lists(WORD, min_size=1, max_size=3).map(lambda ws: "cellword " + " ".join(ws))
TABLE = st.builds(
    lambda head, rows: "\n".join(
        [f"| {head[0]} | {head[1]} |", "| --- | --- |"] + [f"| {a} | {b} |" for a, b in rows]
    ),
    st.tuples(CELL, CELL),
    st.lists(st.tuples(CELL, CELL), min_size=1, max_size=4),
)
CODE_LINES = st.lists(WORD, min_size=1, max_size=6).map(lambda ws: "codeword " + " ".join(ws))
FENCE = st.lists(CODE_LINES, min_size=1, max_size=4).map(
    lambda lines: "```python\n" + "\n".join(lines) + "\n```"
)
INDENTED = st.lists(CODE_LINES, min_size=1, max_size=3).map(
    lambda lines: "\n".join("    " + line for line in lines)
)
QUOTE = PARAGRAPH.map(lambda p: "> " + p)
QUOTED_LIST = ITEM.map(lambda item: "> - " + item)
BLOCK = st.one_of(
    PARAGRAPH, PARAGRAPH, PARAGRAPH, HEADING, BULLETS, NUMBERED, NESTED, TABLE, FENCE,
    INDENTED, QUOTE, QUOTED_LIST,
)  # fmt: skip
# A paragraph right after a list item, without a blank line, would continue the
# item (lazy continuation): blocks are joined with blank lines, as editors do.
# (The issue model strips a text's outer whitespace, so a body never opens
# with an indented code block: the generator does not either.)
BODY = (
    st.lists(BLOCK, min_size=1, max_size=8)
    .map("\n\n".join)
    .filter(lambda body: not body.startswith("    "))
)


def teaser_of(body: str, settings: Settings, budget: int) -> tuple[str, str]:
    issue = Issue.model_validate(
        {
            "title": "T",
            "date": "2026-01-12",
            "newsletter": {"name": "N"},
            "sections": [{"stories": [{"headline": "H", "body": body}]}],
        }
    )
    story = issue.features()[0]
    assert isinstance(story, Feature)
    view = story_view(
        issue, story, settings.model_copy(update={"compose": _budget(settings, budget)})
    )
    return str(view.teaser_html), view.teaser_text


def _budget(settings: Settings, budget: int) -> object:
    return settings.compose.model_copy(update={"teaser_words": budget})


def prose_words(body: str) -> list[str]:
    """The words of the paragraphs outside any structure, in order."""
    words: list[str] = []
    for block in body.split("\n\n"):
        if block.startswith(("#", "-", "|", "```", "    ", "> -")) or re.match(r"\d+\. ", block):
            continue
        words.extend(block.removeprefix("> ").split())
    return words


@settings(max_examples=250, deadline=None)
@given(BODY, st.integers(min_value=5, max_value=80))
def test_teaser_never_holds_a_table_code_or_part_of_a_list(
    sample_settings: Settings, body: str, budget: int
) -> None:
    html, text = teaser_of(body, sample_settings, budget)
    if html:
        doc = lxml.html.fragment_fromstring(html, create_parent="div")
        tags = {el.tag for el in doc.iter()} - {"div"}
        assert tags <= {"p", "em", "strong", "a", "s", "code"}, tags
        assert not doc.xpath("//pre|//table|//ul|//ol|//li")
    for marker in MARKERS:
        assert marker not in html and marker not in text, (marker, body)
    # Stopping before a structure never empties a teaser while the body has prose.
    if prose_words(body):
        assert text.split(), body
        # ... and the teaser is a run of the body's own prose words, in order.
        teaser_words = text.replace("…", "").split()
        words = prose_words(body)
        n = len(teaser_words)
        assert any(words[i : i + n] == teaser_words for i in range(len(words) - n + 1))


def test_teaser_stops_before_a_table_and_keeps_the_lead(sample_settings: Settings) -> None:
    body = (
        "Exports rose sharply. Analysts expect more.\n\n"
        "| year | units |\n| --- | --- |\n| 2025 | 10 |\n\n"
        "After the table the story goes on."
    )
    html, text = teaser_of(body, sample_settings, 60)
    assert text == "Exports rose sharply. Analysts expect more."
    assert "<table" not in html and "story goes on" not in html


def test_teaser_of_a_body_opening_with_a_list_uses_the_paragraph_after(
    sample_settings: Settings,
) -> None:
    body = "- one\n- two\n\nThe paragraph after the list.\n\n```\ncode\n```\n\nLater prose."
    html, text = teaser_of(body, sample_settings, 60)
    assert text == "The paragraph after the list."
    assert "<li>" not in html


def test_structures_names_each_kind_once() -> None:
    source = "- a\n- b\n\n| x |\n| - |\n| y |\n\n```\nc\n```\n\n    d\n"
    assert markdown.structures(source) == ["a list", "a table", "a code block"]
    assert markdown.structures("Just *prose*, with `inline code`.") == []
