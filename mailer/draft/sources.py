"""Read what an editor hands in: a text or Markdown file, a saved web page, stdin.

A saved web page goes through trafilatura (Apache-2.0), which finds the
article among navigation, sidebars and comments; its text then follows the
same rules as pasted text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mailer.errors import MailerError

MAX_SOURCE_BYTES = 2_000_000
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
TEXT_SUFFIXES = (".txt", ".text", ".md", ".markdown", "")


@dataclass
class Source:
    """One input: its display name, its text, and a canonical URL when a page gave one."""

    name: str
    text: str
    url: str | None = None
    title: str | None = None
    date: str | None = None
    html: bool = False


def decode(data: bytes, name: str) -> str:
    """UTF-8 (with or without BOM), else a clear error naming the input."""
    if len(data) > MAX_SOURCE_BYTES:
        raise MailerError(
            f"{name}: {len(data):,} bytes is more than the {MAX_SOURCE_BYTES:,} allowed"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MailerError(f"{name}: not UTF-8 text (byte {exc.start})") from exc


def looks_like_html(text: str) -> bool:
    head = text.lstrip()[:500].lower()
    return head.startswith(("<!doctype html", "<html")) or bool(
        re.search(r"<(body|article)\b", head)
    )


def from_bytes(data: bytes, name: str) -> Source:
    """A source from raw bytes (an upload, stdin); HTML when its name or content says so."""
    text = decode(data, name)
    if name.lower().endswith(HTML_SUFFIXES) or looks_like_html(text):
        return from_html(text, name)
    return Source(name, text)


def read(ref: str, stdin: bytes | None = None) -> Source:
    """The source ``ref`` names: a file path, or ``-`` for ``stdin``."""
    if ref == "-":
        return from_bytes(stdin or b"", "<stdin>")
    path = Path(ref)
    if not path.is_file():
        raise MailerError(f"{ref}: no such file")
    suffix = path.suffix.lower()
    if suffix not in HTML_SUFFIXES and suffix not in TEXT_SUFFIXES:
        raise MailerError(
            f"{ref}: unknown kind of file {suffix!r}; "
            "give a .txt, .md or .html file, or - for standard input"
        )
    if path.stat().st_size > MAX_SOURCE_BYTES:
        raise MailerError(f"{ref}: larger than the {MAX_SOURCE_BYTES:,} bytes allowed")
    return from_bytes(path.read_bytes(), ref)


def from_html(html: str, name: str) -> Source:
    """The main text of a web page, as Markdown-ish lines, with its title, date and URL."""
    import trafilatura

    document = trafilatura.bare_extraction(
        html,
        output_format="python",
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        include_images=False,
        include_links=False,
        include_formatting=False,
        favor_precision=True,
    )
    if document is None:
        raise MailerError(f"{name}: found no article text in this web page")
    data = document.as_dict() if hasattr(document, "as_dict") else dict(document)
    body = _markdown_headings(str(data.get("raw_text") or data.get("text") or ""))
    if not body.strip():
        raise MailerError(f"{name}: found no article text in this web page")
    title = str(data.get("title") or "").strip() or None
    url = str(data.get("url") or "").strip() or None
    text = body if title is None else f"# {title}\n\n{body}"
    return Source(
        name,
        text,
        url=url if url and url.startswith("https://") else None,
        title=title,
        date=data.get("date"),
        html=True,
    )


def _markdown_headings(text: str) -> str:
    """trafilatura's text keeps one paragraph per line: give each a blank line after it."""
    return "\n\n".join(line.strip() for line in text.splitlines() if line.strip())
