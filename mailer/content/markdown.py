"""Editor Markdown to HTML, to plain text, and to the text blocks teasers use.

Raw HTML is disabled in the parser, so ``<script>`` or ``<img onerror>`` typed
by an editor comes out as visible, escaped text, never as markup; markdown-it
also refuses ``javascript:`` and ``data:`` link targets.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markupsafe import Markup

TEXT_WIDTH = 76


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
        ["table", "strikethrough"]
    )


def parse(source: str) -> list[Token]:
    """Parse Markdown into markdown-it block tokens."""
    return _parser().parse(source)


def to_html(source: str, top_heading: int | None = None) -> Markup:
    """Render Markdown to safe HTML.

    With ``top_heading``, headings are renumbered so the body's highest one
    becomes ``h<top_heading>`` and the levels below keep their steps: a story
    body fits under the page's own headings without skipping a level.
    """
    md = _parser()
    tokens = md.parse(source)
    if top_heading is not None:
        levels = [int(t.tag[1]) for t in tokens if t.type == "heading_open"]
        shift = top_heading - min(levels) if levels else 0
        for token in tokens:
            if token.type in ("heading_open", "heading_close"):
                token.tag = f"h{max(1, min(6, int(token.tag[1]) + shift))}"
    return Markup(md.renderer.render(tokens, md.options, {}))


def inline_to_html(source: str) -> Markup:
    """Render one line of Markdown (no paragraph wrapper), e.g. a teaser or label."""
    return Markup(_parser().renderInline(source))


def _inline_text(token: Token, show_urls: bool) -> str:
    out: list[str] = []
    hrefs: list[str | None] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type == "softbreak":
            out.append(" ")
        elif child.type == "hardbreak":
            out.append("\n")
        elif child.type == "image":
            if show_urls:
                out.append(f"[{child.content}]" if child.content else "")
        elif child.type == "link_open":
            hrefs.append(str(child.attrs.get("href", "")))
            out.append("")
        elif child.type == "link_close" and hrefs:
            href = hrefs.pop()
            if show_urls and href:
                out.append(f" ({href})")
    return "".join(out)


@dataclass(frozen=True)
class Block:
    """One paragraph or list item of prose."""

    text: str  # plain text, words single-spaced: what teasers are cut from
    html: Markup  # the same, with its inline Markdown (links, emphasis) as HTML
    text_with_urls: str  # plain text with each link's URL in brackets


def prose_blocks(source: str) -> list[Block]:
    """The paragraphs and list items of ``source``; headings, code and images left out."""
    md = _parser()
    result: list[Block] = []
    depth = 0
    for token in md.parse(source):
        if token.type == "heading_open":
            depth += 1
        elif token.type == "heading_close":
            depth -= 1
        elif token.type == "inline" and depth == 0:
            text = " ".join(_inline_text(token, show_urls=False).split())
            if text:
                renderer = cast(RendererHTML, md.renderer)
                html = Markup(renderer.renderInline(token.children or [], md.options, {}))
                urls = " ".join(_inline_text(token, show_urls=True).split())
                result.append(Block(text, html, urls))
    return result


# Blocks a teaser never reaches into: a cut there would leave half a table,
# a code sample out of context or half a list.
_TEASER_STOPS = frozenset(
    {"table_open", "fence", "code_block", "bullet_list_open", "ordered_list_open"}
)


def teaser_blocks(source: str) -> list[Block]:
    """The opening paragraphs of ``source``: what an automatic teaser may be cut from.

    The run stops before the first table, code block or list. A body that
    opens with one of them takes its run from the paragraphs after it, so a
    teaser is never empty while the story has any prose. Headings and images
    are skipped as in ``prose_blocks``.
    """
    md = _parser()
    renderer = cast(RendererHTML, md.renderer)
    run: list[Block] = []
    depth = 0  # inside a heading: its words are not prose
    skip_until = -1  # nesting level at which the current stop block closes
    tokens = md.parse(source)
    for token in tokens:
        if skip_until >= 0:
            if token.nesting == -1 and token.level == skip_until:
                skip_until = -1
            continue
        if token.type in _TEASER_STOPS:
            if run:
                return run
            if token.nesting == 1:
                skip_until = token.level
            continue
        if token.type == "heading_open":
            depth += 1
        elif token.type == "heading_close":
            depth -= 1
        elif token.type == "inline" and depth == 0:
            text = " ".join(_inline_text(token, show_urls=False).split())
            if text:
                html = Markup(renderer.renderInline(token.children or [], md.options, {}))
                urls = " ".join(_inline_text(token, show_urls=True).split())
                run.append(Block(text, html, urls))
    return run


_STRUCTURE_NAMES = {
    "table_open": "a table",
    "fence": "a code block",
    "code_block": "a code block",
    "bullet_list_open": "a list",
    "ordered_list_open": "a list",
}


def structures(source: str) -> list[str]:
    """The tables, code blocks and lists in ``source`` ("a table", …), each kind once."""
    found: list[str] = []
    for token in parse(source):
        name = _STRUCTURE_NAMES.get(token.type)
        if name and name not in found:
            found.append(name)
    return found


@lru_cache(maxsize=1)
def _html_parser() -> MarkdownIt:
    # Only to find raw HTML for a warning: the renderer never uses it.
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def raw_html(source: str) -> list[tuple[int, str]]:
    """``(line, tags)`` of each line of ``source`` with raw HTML, lines counted from 1.

    Rendering escapes such HTML (it shows as text); this finds it so that
    ``mailer check`` can tell the editor, who probably meant markup.
    """
    by_line: dict[int, list[str]] = {}
    for token in _html_parser().parse(source):
        start = token.map[0] + 1 if token.map else 1
        if token.type == "html_block":
            by_line.setdefault(start, []).append(_first_tag(token.content))
        elif token.type == "inline":
            breaks = 0
            for child in token.children or []:
                if child.type in ("softbreak", "hardbreak"):
                    breaks += 1
                elif child.type == "html_inline":
                    by_line.setdefault(start + breaks, []).append(_first_tag(child.content))
    found: list[tuple[int, str]] = []
    for line, tags in sorted(by_line.items()):
        # "<b>bold</b>" is one finding: closing tags only count on a line without openers.
        opening = [tag for tag in tags if not tag.startswith("</")] or tags
        found.append((line, ", ".join(dict.fromkeys(opening))))
    return found


def _first_tag(html: str) -> str:
    """The first line of ``html``, shortened: enough for the editor to find it."""
    line = html.strip().split("\n", 1)[0]
    return line if len(line) <= 40 else line[:39] + "…"


def urls(source: str) -> list[tuple[str, str]]:
    """Every ``("link" | "image", url)`` in ``source``, in order."""
    found: list[tuple[str, str]] = []
    for token in parse(source):
        for child in token.children or []:
            if child.type == "link_open":
                found.append(("link", str(child.attrs.get("href", ""))))
            elif child.type == "image":
                found.append(("image", str(child.attrs.get("src", ""))))
    return found


def blocks(source: str) -> list[str]:
    """The plain text of each paragraph and list item (see ``prose_blocks``)."""
    return [block.text for block in prose_blocks(source)]


def wrap_text(text: str, prefix: str = "", indent: str = "") -> str:
    """Wrap ``text`` at TEXT_WIDTH columns without breaking words or URLs."""
    lines: list[str] = []
    for i, part in enumerate(text.split("\n")):
        wrapped = textwrap.wrap(
            part,
            width=TEXT_WIDTH,
            initial_indent=prefix if i == 0 else indent,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        )
        lines.extend(wrapped or [indent.rstrip()])
    return "\n".join(lines)


def to_text(source: str) -> str:
    """Render Markdown as readable plain text: wrapped paragraphs, link URLs in brackets."""
    return render_text(parse(source))


def render_text(tokens: Sequence[Token]) -> str:
    out: list[str] = []
    quote = 0
    lists: list[list[int]] = []  # per open list: [is_ordered, next number]
    item_prefix: str | None = None
    heading: str | None = None
    items_open = [False]

    def emit(block: str, item: bool = False) -> None:
        if quote:
            block = "\n".join(("> " * quote + line).rstrip() for line in block.split("\n"))
        # Items of one list stay together, one per line.
        if item and out and items_open[0]:
            out[-1] += "\n" + block
        else:
            out.append(block)
        items_open[0] = item

    for token in tokens:
        kind = token.type
        if kind == "blockquote_open":
            quote += 1
        elif kind == "blockquote_close":
            quote -= 1
        elif kind in ("bullet_list_open", "ordered_list_open"):
            start = int(token.attrs.get("start", 1) or 1)
            lists.append([kind == "ordered_list_open", start])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "list_item_open" and lists:
            ordered, number = lists[-1]
            indent = "  " * (len(lists) - 1)
            item_prefix = indent + (f"{number}. " if ordered else "- ")
            lists[-1][1] = number + 1
        elif kind == "heading_open":
            heading = token.tag
        elif kind == "heading_close":
            heading = None
        elif kind == "inline":
            text = _inline_text(token, show_urls=True).strip()
            if heading:
                rule = "=" if heading == "h1" else "-"
                emit(f"{text}\n{rule * min(len(text), TEXT_WIDTH)}")
            elif item_prefix is not None:
                emit(wrap_text(text, item_prefix, " " * len(item_prefix)), item=True)
                item_prefix = None
            elif text:
                emit(wrap_text(text))
        elif kind in ("fence", "code_block"):
            emit(textwrap.indent(token.content.rstrip("\n"), "    "))
        elif kind == "hr":
            emit("-" * 20)
    return "\n\n".join(out).strip()
