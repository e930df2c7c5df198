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
