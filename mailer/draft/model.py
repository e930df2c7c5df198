"""What a draft holds before it is written out as an issue folder."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from mailer.draft.noise import Dropped

Shape = Literal["briefing", "article", "digest"]
SHAPES: tuple[str, ...] = ("auto", "briefing", "article", "digest")


@dataclass
class DraftStory:
    """A feature (headline, body, "Why this matters") or a brief (body and source)."""

    kind: Literal["feature", "brief"]
    headline: str = ""
    subheadline: str = ""
    paragraphs: list[str] = field(default_factory=list)
    why: list[str] = field(default_factory=list)
    url: str | None = None
    source: str | None = None
    line: int = 0

    @property
    def body(self) -> str:
        return "\n\n".join(self.paragraphs)


@dataclass
class DraftSection:
    label: str | None
    stories: list[DraftStory] = field(default_factory=list)


@dataclass
class Parsed:
    """One source, read in one shape."""

    name: str
    shape: Shape
    title: str = ""
    intro: list[str] = field(default_factory=list)
    sections: list[DraftSection] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    unplaced: list[str] = field(default_factory=list)
    date: dt.date | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Draft:
    """Every source of one issue, merged, with what the output will say."""

    title: str
    date: dt.date
    language: str
    newsletter: dict[str, str]
    intro: list[str]
    sections: list[DraftSection]
    parts: list[Parsed]
    unplaced: list[str]
    notes: list[str]

    def stories(self) -> list[DraftStory]:
        return [story for section in self.sections for story in section.stories]

    def report(self) -> list[str]:
        """What was recognised, line by line, for the editor to check."""
        out: list[str] = []
        for part in self.parts:
            out.append(f"{part.name}: {part.shape}")
        out.append(f"title: {self.title}")
        out.append(f"language: {self.language}")
        out.append(f"date: {self.date.isoformat()}")
        if self.intro:
            out.append(f"intro: {len(self.intro)} paragraph{'s' if len(self.intro) != 1 else ''}")
        for number, section in enumerate(self.sections, start=1):
            out.append(f"section {number}: {section.label or '(no label)'}")
            for story in section.stories:
                if story.kind == "brief":
                    words = story.body.split()
                    shown = " ".join(words[:8]) + (" …" if len(words) > 8 else "")
                    out.append(f"  brief: {shown} [source: {story.source or 'none'}]")
                else:
                    extras = []
                    if story.subheadline:
                        extras.append("subheadline")
                    n = len(story.paragraphs)
                    extras.append(f"{n} paragraph{'s' if n != 1 else ''}")
                    if story.why:
                        extras.append("why it matters")
                    if story.url:
                        extras.append(f"url {story.url}")
                    out.append(f"  feature: {story.headline} ({', '.join(extras)})")
        for part in self.parts:
            for d in sorted(part.dropped, key=lambda d: d.number):
                shown = d.text if len(d.text) <= 70 else d.text[:69] + "…"
                out.append(f"dropped {part.name}:{d.number} ({d.reason}): {shown}")
        for line in self.unplaced:
            shown = line if len(line) <= 70 else line[:69] + "…"
            out.append(f"unplaced: {shown}")
        out.extend(f"note: {note}" for note in self.notes)
        return out
