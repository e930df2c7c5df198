"""Raw text into lines an editor meant: normalised, unwrapped, and classified.

Pasted newsletters put one paragraph on a line; Markdown files and e-mails wrap
paragraphs at 72 or 80 columns. Both become one logical line per paragraph
here, so the shape parsers never see a line break inside a sentence.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

# Terminal punctuation of a sentence, also when a quote or bracket closes it.
SENTENCE_END = re.compile(r"[.!?…;:][\"'”’»)\]]*$")
_BULLET = re.compile(r"^\s*(?:\*(?!\*)|[•·‣▪◦–](?!-)|-(?!-)|\d{1,2}[.)](?=\s))\s*(?=\S)")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_DECORATION = re.compile(r"^[*_]{1,3}(.+?)[*_]{1,3}$")
_SECTION = re.compile(r"^[➤►▶➔➜→]\s*(?![➤►▶➔➜→])(\S.*)$")
_RULE = re.compile(r"^[_\-–—=*~·.•]{3,}$")
_READ_MORE = re.compile(
    r"^(?:[➤►▶➔➜→>»]+\s*)?(?:\[\s*)?(?:read more|read the full (?:story|article|analysis)|"
    r"continue reading|full story|lees meer|meer lezen|lees verder)\b\s*(?:\]\s*)?"
    r"[\s:.…»>→➤(]*(?P<url>https?://[^\s)\]]+)?[)\]]*\s*$",
    re.IGNORECASE,
)
_WHY = re.compile(
    r"^(?:why (?:this|it) matters|why (?:does|do) (?:this|it) matter\??|"
    r"why (?:this|it) is important|why it['’]s important|why this is relevant|why we care|"
    r"waarom (?:dit|het) (?:belangrijk is|ertoe doet|telt))\s*[:?.–—-]?\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
_EDITOR = re.compile(
    r"^(?:from the editor|a note from the editor|editor['’]s note|editorial|"
    r"van de redactie|een woord van de redactie)\s*:?\s*$",
    re.IGNORECASE,
)
_URL = re.compile(r"https?://[^\s)\]>]+")


class Kind(Enum):
    """What a line is to the structure of a pasted newsletter."""

    TEXT = "text"
    SECTION = "section"  # "➤ AI + Mobility" or a Markdown "## heading"
    RULE = "rule"  # "_________"
    READ_MORE = "read_more"  # "➤➤➤Read more", maybe with a URL
    WHY = "why"  # "Why this matters" and its spellings
    EDITOR = "editor"  # "From the Editor"
    BULLET = "bullet"  # "* a short brief …"
    TITLE = "title"  # a Markdown "# Title"


@dataclass
class Line:
    """One logical line: its text without markers, its kind, its number in the source."""

    text: str
    kind: Kind
    number: int
    raw: str
    url: str | None = None


def normalise(text: str) -> str:
    """Unicode NFC, ``\\n`` line ends; no BOM, control characters, zero-width or no-break spaces."""
    text = text.lstrip("\ufeff")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\u00a0", " ").replace("\u202f", " ")
    text = re.sub(r"[\u200b\u200c\u200d\u2060]", "", text)
    # Control characters (an ESC from a terminal, a form feed) are never text.
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", text)
    return re.sub(r"[ \t]+$", "", text, flags=re.MULTILINE)


def _undecorate(text: str) -> str:
    """``**Why this matters**`` -> ``Why this matters`` (Markdown emphasis around a line)."""
    match = _DECORATION.match(text)
    return match.group(1).strip() if match else text


def classify(raw: str, number: int) -> Line:
    """Classify one stripped, non-blank logical line."""
    text = raw.strip()
    heading = _MD_HEADING.match(text)
    if heading:
        level, body = len(heading.group(1)), _undecorate(heading.group(2))
        why = _WHY.match(body)
        if why and not why.group("rest"):
            return Line("", Kind.WHY, number, raw)
        if _EDITOR.match(body):
            return Line("", Kind.EDITOR, number, raw)
        if level >= 3:
            # "### Headline": a story's headline, which plain text gives without marks.
            return Line(body, Kind.TEXT, number, raw)
        return Line(body, Kind.TITLE if level == 1 else Kind.SECTION, number, raw)
    if _RULE.match(text):
        return Line("", Kind.RULE, number, raw)
    plain = _undecorate(text)
    more = _READ_MORE.match(plain)
    if more:
        url = more.group("url") or _first_url(text)
        return Line("", Kind.READ_MORE, number, raw, url)
    section = _SECTION.match(plain)
    if section:
        return Line(section.group(1).strip(), Kind.SECTION, number, raw)
    why = _WHY.match(plain)
    if why:
        return Line(why.group("rest").strip(), Kind.WHY, number, raw)
    if _EDITOR.match(plain):
        return Line("", Kind.EDITOR, number, raw)
    bullet = _BULLET.match(text)
    if bullet and not re.match(r"^\d{1,2}[.)]\d", text) and not _RULE.match(text):
        return Line(text[bullet.end() :].strip(), Kind.BULLET, number, raw)
    return Line(text, Kind.TEXT, number, raw)


def _first_url(text: str) -> str | None:
    match = _URL.search(text)
    return match.group(0) if match else None


def _is_wrapped(block: list[str]) -> bool:
    """Whether a block of consecutive lines is one hard-wrapped paragraph."""
    if len(block) < 2:
        return False
    for line in block:
        kind = classify(line, 0).kind
        if kind is not Kind.TEXT:
            return False
    # A wrapped paragraph has long lines that run on without ending a sentence.
    heads = block[:-1]
    long_lines = sum(1 for line in heads if len(line) >= 45)
    open_ends = sum(1 for line in heads if not SENTENCE_END.search(line))
    return long_lines == len(heads) and open_ends * 2 >= len(heads) and max(map(len, block)) <= 100


def logical_lines(text: str) -> list[Line]:
    """The classified logical lines of ``text`` (blank lines dropped, wrapped ones joined)."""
    lines = normalise(text).split("\n")
    out: list[Line] = []
    block: list[tuple[int, str]] = []

    def flush() -> None:
        if not block:
            return
        texts = [t for _, t in block]
        if _is_wrapped(texts):
            joined = " ".join(t.strip() for t in texts)
            out.append(classify(joined, block[0][0]))
        else:
            out.extend(_join_bullets([classify(t, n) for n, t in block]))
        block.clear()

    for number, line in enumerate(lines, start=1):
        if line.strip():
            block.append((number, line))
        else:
            flush()
    flush()
    return out


def _join_bullets(lines: list[Line]) -> list[Line]:
    """Indented lines after a bullet continue it (a wrapped Markdown list item)."""
    out: list[Line] = []
    for line in lines:
        if (
            out
            and out[-1].kind is Kind.BULLET
            and line.kind is Kind.TEXT
            and line.raw[:1] in (" ", "\t")
        ):
            out[-1].text += " " + line.text
            continue
        out.append(line)
    return out


def looks_like_heading(text: str, limit: int = 120) -> bool:
    """A short line that does not end a sentence: a headline, label or subheading."""
    return 0 < len(text) <= limit and not SENTENCE_END.search(text)


def first_sentence(text: str, limit: int = 140) -> str:
    """The first sentence of ``text`` on one line, cut at a word when longer than ``limit``."""
    # A title or teaser is one line of text: a paragraph's line breaks go.
    text = " ".join(text.split())
    match = re.match(r"(.+?[.!?])(?:\s|$)", text)
    sentence = (match.group(1) if match else text).strip()
    if len(sentence) <= limit:
        return sentence
    cut = sentence[:limit].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"
