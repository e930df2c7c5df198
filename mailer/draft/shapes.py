"""The three shapes editors paste, read into sections and stories.

- briefing: a title, "From the Editor", "➤ Section" markers over underscore
  rules, then per story a headline, a subheadline, paragraphs, "Why this
  matters" and "➤➤➤Read more";
- article: one story copied from a web page (headline, dateline, paragraphs,
  subheadings), its page noise dropped;
- digest: an intro, then short-line section headings over bulleted briefs
  that each end with their source ("… SCMP").
"""

from __future__ import annotations

import datetime as dt
import re

from mailer.draft.lines import SENTENCE_END, Kind, Line, looks_like_heading
from mailer.draft.model import DraftSection, DraftStory, Parsed, Shape
from mailer.draft.noise import Dropped, drop_noise

# Source attributions the sample digests use; any other all-capitals word
# works too ("… ANP"), and so do capitalised names after a known one.
KNOWN_SOURCES = {
    "GT",
    "SCMP",
    "PD",
    "FT",
    "WSJ",
    "NYT",
    "AP",
    "AFP",
    "ANP",
    "BBC",
    "CNN",
    "CGTN",
    "Caixin",
    "Technode",
    "TechNode",
    "Reuters",
    "Bloomberg",
    "Xinhua",
    "Nikkei",
    "Sixth Tone",
    "Peoples Daily",
    "People's Daily",
    "China Daily",
    "Global Times",
}
MAX_LABEL = 120  # the issue format's limit for a section label
_SOURCE_WORD = re.compile(r"^(?:[A-Z][\w'’&.-]*|&|and|en)$")
_ALL_CAPS = re.compile(r"^[A-Z]{2,6}$")

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan", "januari"),
            ("february", "feb", "februari"),
            ("march", "mar", "maart", "mrt"),
            ("april", "apr"),
            ("may", "mei"),
            ("june", "jun", "juni"),
            ("july", "jul", "juli"),
            ("august", "aug", "augustus"),
            ("september", "sep", "sept"),
            ("october", "oct", "oktober", "okt"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = r"(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DATE = rf"(?:\d{{1,2}} {_MONTH},? \d{{4}}|{_MONTH} \d{{1,2}},? \d{{4}}|\d{{4}}-\d{{2}}-\d{{2}})"
# "Beijing, 9 March 2024 (TDI): As China …" — place, date, agency, then the text.
DATELINE = re.compile(
    rf"^(?P<dateline>[A-Z][\w .'’-]{{1,40}}?,\s*(?P<date>{_DATE})"
    r"(?:\s*\([^)]{1,20}\))?\s*[:–—-])\s+"
    r"(?P<rest>\S.*)$",
    re.IGNORECASE,
)
DATE_LINE = re.compile(
    rf"^(?:(?:published|updated|posted|gepubliceerd|bijgewerkt)(?: on| op)?\s*:?\s*)?"
    rf"(?:\w+day,?\s+)?(?P<date>{_DATE})(?:[,\s]+(?:at\s+)?\d{{1,2}}[:.]\d{{2}}.*)?$",
    re.IGNORECASE,
)


def parse_date(text: str) -> dt.date | None:
    """``9 March 2024``, ``March 9, 2024``, ``2024-03-09`` (English or Dutch months)."""
    text = text.strip().replace(",", "")
    iso = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
    try:
        if iso:
            return dt.date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        parts = text.replace(".", "").split()
        if len(parts) != 3:
            return None
        if parts[0].isdigit():
            day, month, year = parts
        else:
            month, day, year = parts
        number = _MONTHS.get(month.lower())
        return dt.date(int(year), number, int(day)) if number else None
    except ValueError:
        return None


def detect_shape(lines: list[Line]) -> Shape:
    """Which of the three shapes ``lines`` are in."""
    kinds = [line.kind for line in lines]
    structure = sum(kinds.count(k) for k in (Kind.WHY, Kind.READ_MORE, Kind.RULE))
    arrows = sum(
        1 for line in lines if line.kind is Kind.SECTION and line.raw.lstrip()[:1] in "➤►▶➔➜→"
    )
    if structure or arrows:
        return "briefing"
    bullets = kinds.count(Kind.BULLET)
    attributed = sum(1 for line in lines if split_source(line.text)[1])
    if bullets >= 2 or attributed >= 2:
        return "digest"
    return "article"


def parse(name: str, lines: list[Line], shape: Shape) -> Parsed:
    """Read ``lines`` (one source) in ``shape``."""
    kept, dropped = drop_noise(lines, cut_tail=shape == "article")
    parsed = Parsed(name=name, shape=shape, dropped=dropped)
    if shape == "briefing":
        _Briefing(parsed, kept).run()
    elif shape == "digest":
        _digest(parsed, kept)
    else:
        _article(parsed, kept)
    return parsed


def _clean_title(text: str) -> str:
    return text.strip().rstrip(":–—-").strip()


def _end_sentence(text: str) -> str:
    """A paragraph that introduced a removed link ("… the briefing:") ends with a period."""
    text = text.rstrip()
    if text.endswith((":", ";", ",")):
        return text[:-1].rstrip() + "."
    return text


class _Briefing:
    """A state machine over the lines of a sectioned briefing."""

    def __init__(self, parsed: Parsed, lines: list[Line]) -> None:
        self.parsed = parsed
        self.lines = lines
        self.section: DraftSection | None = None
        self.story: DraftStory | None = None
        self.state = "intro"

    def run(self) -> None:
        lines = self.lines
        has_sections = any(line.kind is Kind.SECTION for line in lines)
        has_editor = any(line.kind is Kind.EDITOR for line in lines)
        start = 0
        if (
            lines
            and lines[0].kind in (Kind.TITLE, Kind.TEXT)
            and looks_like_heading(lines[0].text.rstrip(":"), 200)
        ):
            self.parsed.title = _clean_title(lines[0].text)
            start = 1
        if not has_sections:
            self.section = DraftSection(None)
            self.parsed.sections.append(self.section)
            self.state = "intro" if has_editor else "start"
        for i in range(start, len(lines)):
            self.step(lines[i], lines[i + 1] if i + 1 < len(lines) else None)
        self.close_story()
        self.close_section()

    def step(self, line: Line, nxt: Line | None) -> None:
        kind = line.kind
        if kind is Kind.RULE:
            return
        if kind in (Kind.SECTION, Kind.TITLE):
            self.close_story()
            self.close_section()
            label = line.text or None
            if label and len(label) > MAX_LABEL:
                self.parsed.unplaced.append(f"section label too long: {label}")
                label = None
            self.section = DraftSection(label)
            self.parsed.sections.append(self.section)
            self.state = "start"
            return
        if kind is Kind.EDITOR:
            self.state = "intro"
            return
        if kind is Kind.READ_MORE:
            if self.story is not None:
                self.story.url = self.story.url or line.url
                self.close_story()
            elif line.url:
                self.parsed.unplaced.append(f"Read more: {line.url}")
            self.state = "start"
            return
        if kind is Kind.WHY:
            if self.story is None:
                self.parsed.unplaced.append(line.raw.strip())
                self.state = "lost"
                return
            self.state = "why"
            if line.text:
                self.story.why.append(line.text)
            return
        text = line.text if kind is not Kind.BULLET else line.raw.strip()
        self.text(text, line, nxt)

    def text(self, text: str, line: Line, nxt: Line | None) -> None:
        state = self.state
        continues = nxt is not None and nxt.kind in (Kind.TEXT, Kind.BULLET)
        if state == "intro":
            if self.section is not None and looks_like_heading(text) and continues:
                # No section markers: the intro ends at the first headline.
                self.new_story(text, line)
                return
            self.parsed.intro.append(text)
        elif state in ("start", "lost"):
            headline = looks_like_heading(text, 300)
            if not headline or (state == "lost" and not continues):
                # Text where a headline should be: keep it for the editor to place.
                self.parsed.unplaced.append(text)
                self.state = "lost"
                return
            self.new_story(text, line)
        elif state == "headline":
            assert self.story is not None
            if is_subheadline(text) and continues:
                self.story.subheadline = text
            else:
                self.story.paragraphs.append(text)
            self.state = "body"
        elif state == "body":
            assert self.story is not None
            self.story.paragraphs.append(text)
        elif state == "why":
            assert self.story is not None
            if looks_like_heading(text) and continues and self.story.why:
                # A new headline after "Why this matters" without a "Read more".
                self.close_story()
                self.new_story(text, line)
                return
            self.story.why.append(text)

    def new_story(self, headline: str, line: Line) -> None:
        if self.section is None:
            self.section = DraftSection(None)
            self.parsed.sections.append(self.section)
        self.story = DraftStory("feature", headline=headline, line=line.number)
        self.state = "headline"

    def close_story(self) -> None:
        story, self.story = self.story, None
        if story is None:
            return
        if not story.paragraphs:
            # A feature needs its text: keep what there is for the editor to place.
            self.parsed.unplaced.extend(
                t for t in [story.headline, story.subheadline, *story.why] if t
            )
            return
        if story.why:
            story.why[-1] = _end_sentence(story.why[-1])
        else:
            story.paragraphs[-1] = _end_sentence(story.paragraphs[-1])
        assert self.section is not None
        self.section.stories.append(story)

    def close_section(self) -> None:
        section = self.section
        if section is not None and not section.stories:
            self.parsed.sections.remove(section)
            if section.label:
                self.parsed.unplaced.append(f"section without stories: {section.label}")
        self.section = None


_ABBREVIATION_END = re.compile(r"(?:\b(?:[A-Z]\.){2,}|\b(?:Inc|Ltd|Co|Corp|etc|St|Dr|Jr)\.)$")


def is_subheadline(text: str) -> bool:
    """The line under a headline: short, and not a sentence of the body.

    "… the AI race with the U.S." counts: its period ends an abbreviation.
    """
    if len(text) > 200:
        return False
    return not SENTENCE_END.search(text) or bool(_ABBREVIATION_END.search(text))


def split_source(text: str) -> tuple[str, str | None]:
    """``"… in China. SCMP"`` -> ``("… in China.", "SCMP")``; no source: ``(text, None)``."""
    body = text.rstrip().rstrip(".").rstrip()
    words = body.split(" ")
    tail: list[str] = []
    while words and len(tail) < 5 and _SOURCE_WORD.match(words[-1].rstrip(",")):
        tail.insert(0, words.pop())
    # Give back leading words that belong to the sentence ("… in de VS aan. SCMP").
    while tail:
        before = words[-1] if words else ""
        source = " ".join(tail)
        first = tail[0].rstrip(",")
        known = first in KNOWN_SOURCES or _ALL_CAPS.match(first) or source in KNOWN_SOURCES
        if known and (not before or SENTENCE_END.search(before) or before[-1:].islower()):
            break
        words.append(tail.pop(0))
    if not tail:
        return text, None
    source = _source_text(tail)
    rest = " ".join(words).rstrip()
    if not rest:
        return text, None
    if not SENTENCE_END.search(rest) or rest.endswith((";", ",", ":")):
        rest = _end_sentence(rest) if rest.endswith((";", ",", ":")) else rest + "."
    return rest, source


def _source_text(words: list[str]) -> str:
    """``["SCMP", "Microsoft", "Copilot"]`` -> ``"SCMP, Microsoft Copilot"``."""
    out = ""
    for i, word in enumerate(words):
        if i and not out.endswith(",") and _ALL_CAPS.match(words[i - 1]) and word[:1].isupper():
            out += ","
        out += (" " if out else "") + word
    return out.rstrip(",")


def _digest(parsed: Parsed, lines: list[Line]) -> None:
    section: DraftSection | None = None
    seen_item = False
    if (
        len(lines) > 1
        and lines[0].kind in (Kind.TITLE, Kind.TEXT)
        and looks_like_heading(lines[0].text)
        and lines[1].kind is Kind.TEXT
        and not looks_like_heading(lines[1].text)
    ):
        parsed.title = _clean_title(lines[0].text)
        lines = lines[1:]
    for line in lines:
        kind, text = line.kind, line.text
        if kind in (Kind.RULE, Kind.EDITOR):
            continue
        if kind in (Kind.SECTION, Kind.TITLE) or (kind is Kind.TEXT and _digest_heading(text)):
            section = DraftSection(_clean_title(text) or None)
            parsed.sections.append(section)
            seen_item = True
            continue
        if kind in (Kind.WHY, Kind.READ_MORE):
            parsed.unplaced.append(line.raw.strip())
            continue
        if kind is Kind.TEXT and not seen_item:
            parsed.intro.append(text)
            continue
        seen_item = True
        if section is None:
            section = DraftSection(None)
            parsed.sections.append(section)
        body, source = split_source(text)
        body = body if source else _end_sentence(body)
        section.stories.append(
            DraftStory("brief", paragraphs=[body], source=source, line=line.number)
        )
    for empty in [s for s in parsed.sections if not s.stories]:
        parsed.sections.remove(empty)
        if empty.label:
            parsed.unplaced.append(f"section without briefs: {empty.label}")


def _digest_heading(text: str) -> bool:
    """A section heading of a digest: short, and no sentence in it ("EV-nieuws")."""
    return looks_like_heading(text, 90) and not re.search(r"[.:!?;]\s", text)


def _article(parsed: Parsed, lines: list[Line]) -> None:
    story: DraftStory | None = None
    in_why = False
    for i, line in enumerate(lines):
        kind, text = line.kind, line.text
        if kind is Kind.RULE or kind is Kind.EDITOR:
            continue
        if story is None:
            if kind in (Kind.TITLE, Kind.SECTION, Kind.TEXT) and looks_like_heading(text, 300):
                story = DraftStory("feature", headline=_clean_title(text), line=line.number)
                parsed.title = story.headline
            else:
                parsed.unplaced.append(line.raw.strip())
            continue
        if kind is Kind.READ_MORE:
            story.url = story.url or line.url
            continue
        if kind is Kind.WHY:
            in_why = True
            if text:
                story.why.append(text)
            continue
        if in_why:
            story.why.append(text)
            continue
        date_only = DATE_LINE.match(text)
        if date_only and not story.paragraphs:
            parsed.date = parsed.date or parse_date(date_only.group("date"))
            parsed.dropped.append(_dropped(line, "date line"))
            continue
        if not story.paragraphs:
            dateline = DATELINE.match(text)
            if dateline:
                parsed.date = parsed.date or parse_date(dateline.group("date"))
                story.paragraphs.append(
                    f"**{dateline.group('dateline').strip()}** {dateline.group('rest')}"
                )
                continue
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        if kind in (Kind.SECTION, Kind.TITLE) or (
            kind is Kind.TEXT and looks_like_heading(text) and nxt is not None
        ):
            if text == story.headline and not story.paragraphs:
                continue
            if not story.paragraphs and not story.subheadline and kind is Kind.TEXT:
                story.subheadline = text
            else:
                story.paragraphs.append(f"## {text}")
            continue
        story.paragraphs.append(line.raw.strip() if kind is Kind.BULLET else text)
    if story is None:
        return
    # A trailing subheading with nothing under it is page furniture, not text.
    while story.paragraphs and story.paragraphs[-1].startswith("## "):
        parsed.unplaced.append(story.paragraphs.pop()[3:])
    if not story.paragraphs:
        parsed.unplaced.extend(t for t in [story.headline, story.subheadline, *story.why] if t)
        parsed.title = ""
        return
    if story.why:
        story.why[-1] = _end_sentence(story.why[-1])
    parsed.sections.append(DraftSection(None, [story]))


def _dropped(line: Line, reason: str) -> Dropped:
    return Dropped(line.number, line.raw.strip(), reason)
