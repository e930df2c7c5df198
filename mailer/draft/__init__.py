"""Drafts from raw material: pasted text, a scraped article or a saved web page.

``draft(sources, …)`` reads each source in its shape (briefing, article or
digest), merges them into one issue and says what it recognised;
``render`` and ``write`` turn that into an ordinary issue folder.
The CLI (``mailer draft``) and the web app's "New issue" page both use this.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import cast

from mailer.config import Settings
from mailer.content.languages import available_languages, catalog_language
from mailer.draft import language as languages
from mailer.draft.lines import first_sentence, logical_lines
from mailer.draft.model import SHAPES, Draft, DraftSection, Parsed, Shape
from mailer.draft.shapes import detect_shape, parse, parse_date
from mailer.draft.sources import Source, from_bytes, read
from mailer.draft.writer import render, write
from mailer.errors import MailerError

__all__ = [
    "SHAPES",
    "Draft",
    "Source",
    "draft",
    "from_bytes",
    "read",
    "render",
    "write",
]


def draft(
    sources: list[Source],
    settings: Settings,
    *,
    shape: str = "auto",
    language: str | None = None,
    newsletter: str | None = None,
    date: dt.date | None = None,
) -> Draft:
    """Read ``sources`` into one draft issue; raise ``MailerError`` when nothing is usable."""
    if shape not in SHAPES:
        raise MailerError(f"unknown shape {shape!r}; choose one of {', '.join(SHAPES)}")
    if not sources:
        raise MailerError("give at least one source")
    if language is not None and catalog_language(language) is None:
        raise MailerError(
            f"language {language!r}: no template strings for it; "
            f"available: {', '.join(available_languages())}"
        )
    parts: list[Parsed] = []
    for source in sources:
        lines = logical_lines(source.text)
        if not lines:
            raise MailerError(f"{source.name}: no text")
        chosen = detect_shape(lines) if shape == "auto" else cast(Shape, shape)
        part = parse(source.name, lines, chosen)
        if source.html:
            part.notes.append(
                f"{source.name}: article text taken from the web page by trafilatura "
                "(navigation, sidebars and comments left out)"
            )
            for story in (s for section in part.sections for s in section.stories):
                story.url = story.url or source.url
            if source.date and part.date is None:
                part.date = parse_date(source.date)
        parts.append(part)

    sections = _merge(parts)
    if not sections:
        raise MailerError(
            "found no story in "
            + ", ".join(s.name for s in sources)
            + " (a story needs a headline and text, a brief its text)"
        )
    intro = [p for part in parts for p in part.intro]
    title = next((part.title for part in parts if part.title), "")
    notes = [note for part in parts for note in part.notes]
    if not title:
        first = intro[0] if intro else sections[0].stories[0].body
        title = first_sentence(first, 90).rstrip(".")
        notes.append("no title line: took the first sentence as the title; edit it")
    code, why = languages.choose("\n".join(s.text for s in sources), language)
    if why:
        notes.append(why)
    issue_date = date or next((part.date for part in parts if part.date), None)
    if issue_date is None:
        issue_date = dt.date.today()
        notes.append("no date given or found: dated today; set the date")
    table, where = _newsletter(settings, newsletter, title)
    if where:
        notes.append(where)
    return Draft(
        title=title,
        date=issue_date,
        language=code,
        newsletter=table,
        intro=intro,
        sections=sections,
        parts=parts,
        unplaced=[line for part in parts for line in part.unplaced],
        notes=notes,
    )


def _merge(parts: list[Parsed]) -> list[DraftSection]:
    """One issue's sections: articles side by side in one section, others as they came."""
    sections: list[DraftSection] = []
    for part in parts:
        for section in part.sections:
            last = sections[-1] if sections else None
            if (
                part.shape == "article"
                and last is not None
                and last.label is None
                and section.label is None
                and all(s.kind == "feature" for s in last.stories)
            ):
                last.stories.extend(section.stories)
            else:
                sections.append(section)
    return sections


def _newsletter(settings: Settings, name: str | None, title: str) -> tuple[dict[str, str], str]:
    """The ``[newsletter]`` table: copied from the newest issue of that newsletter if any."""
    if not name:
        return {"name": title[:120]}, "no --newsletter: named the newsletter after the title"
    root = settings.path(settings.paths.issues_dir)
    best: tuple[str, dict[str, str], str] | None = None
    if root.is_dir():
        for toml in root.glob("*/issue.toml"):
            try:
                data = tomllib.loads(toml.read_text(encoding="utf-8-sig"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                continue
            table = data.get("newsletter")
            if not isinstance(table, dict) or table.get("name") != name:
                continue
            stamp = str(data.get("date", ""))
            if best is None or stamp > best[0]:
                strings = {k: v for k, v in table.items() if isinstance(v, str)}
                best = (stamp, strings, toml.parent.name)
    if best is None:
        return {"name": name}, ""
    return best[1], f"newsletter table copied from issue {best[2]}"


def create(draft_: Draft, sources: list[str], out: Path, force: bool = False) -> dict[str, str]:
    """Render ``draft_`` and write it as folder ``out``; return the files written."""
    files = render(draft_, sources)
    write(files, out, force)
    return files
