"""The issue format: what an editor may write in ``issue.toml``.

These pydantic models are the single definition of the format: the loader
validates against them, ``mailer schema`` publishes their JSON Schema, and the
composer reads the validated objects. Unknown keys are refused everywhere
(``extra="forbid"``) so a typo never silently drops content.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    field_validator,
)

from mailer.headertext import MAX_DISPLAY_NAME, one_line_problem

SLUG_RE = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
LANGUAGE_RE = r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?"
_HEX_COLOR = r"^#[0-9a-fA-F]{6}$"


def check_absolute_url(value: str, *, https_only: bool = False) -> str:
    """Return ``value`` if it is an absolute http(s) URL, else raise ``ValueError``."""
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"must be an absolute URL starting with https:// (got {value!r})")
    if https_only and parts.scheme != "https":
        raise ValueError(f"must use https:// (got {value!r})")
    if any(ch.isspace() for ch in value):
        raise ValueError(f"must not contain spaces (got {value!r})")
    return value


def _one_line(value: str | None) -> str | None:
    """Refuse line breaks and control characters in text that becomes a mail header."""
    if value is not None:
        problem = one_line_problem(value)
        if problem is not None:
            raise ValueError(problem)
    return value


def _not_blank(value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise ValueError("must not be empty (leave the key out instead)")
    return value


class Node(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Newsletter(Node):
    """Who sends the issue: shown in the header and footer."""

    name: str = Field(min_length=1, max_length=120, description="Newsletter name (header).")
    tagline: str | None = Field(None, description="Short line under the name.")
    from_name: str | None = Field(
        None,
        max_length=MAX_DISPLAY_NAME,
        description="Sender display name (default: the newsletter name).",
    )
    postal_address: str | None = Field(
        None,
        description="Sender's postal address for the footer (a list's address overrides it).",
    )
    website: str | None = Field(None, description="Home page of the newsletter (https URL).")
    accent_color: str | None = Field(
        None, pattern=_HEX_COLOR, description="Brand colour, e.g. #b4232a."
    )

    _blank = field_validator("tagline", "from_name", "postal_address")(_not_blank)
    # Both can become the From display name.
    _header = field_validator("name", "from_name")(_one_line)

    @field_validator("website")
    @classmethod
    def _website(cls, value: str | None) -> str | None:
        return None if value is None else check_absolute_url(value, https_only=True)


class Image(Node):
    """An image shown above a story; ``alt`` is required for accessibility."""

    src: str = Field(description="Absolute https URL of the image.")
    alt: str = Field(min_length=1, description="Text alternative, read aloud by screen readers.")
    width: int | None = Field(None, ge=16, le=600, description="Display width in pixels.")

    @field_validator("src")
    @classmethod
    def _src(cls, value: str) -> str:
        return check_absolute_url(value, https_only=True)


class StoryBase(Node):
    slug: str = Field(
        "",
        pattern=r"^$|" + SLUG_RE,
        description="URL name of the story page (default: derived from the headline).",
    )
    body: str | None = Field(None, description="Markdown text (or use `file`).")
    file: str | None = Field(
        None, description="Markdown file with the text, relative to the issue folder."
    )

    _blank = field_validator("body", "file")(_not_blank)


class Feature(StoryBase):
    """A story with headline, teaser and a "Read more" link."""

    kind: Literal["feature"] = "feature"
    headline: str = Field(min_length=1, max_length=300)
    subheadline: str | None = None
    teaser: str | None = Field(
        None, description="Markdown teaser (default: excerpt of the body at a sentence end)."
    )
    why_it_matters: str | None = Field(None, description='Markdown for the "Why this matters" box.')
    image: Image | None = None
    url: str | None = Field(
        None, description='Target of "Read more" (default: the story\'s own web page).'
    )
    read_more_label: str | None = Field(None, max_length=60, description='Instead of "Read more".')

    _blank2 = field_validator("subheadline", "teaser", "why_it_matters", "read_more_label")(
        _not_blank
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else check_absolute_url(value)


class Brief(StoryBase):
    """A short item with its source attribution and no "Read more"."""

    kind: Literal["brief"]
    headline: str | None = Field(None, max_length=300, description="Optional bold lead-in.")
    source: str | None = Field(None, max_length=120, description='Attribution, e.g. "SCMP".')
    source_url: str | None = Field(None, description="Link for the source attribution.")

    _blank2 = field_validator("headline", "source")(_not_blank)

    @field_validator("source_url")
    @classmethod
    def _source_url(cls, value: str | None) -> str | None:
        return None if value is None else check_absolute_url(value)


def _story_kind(value: Any) -> str:
    if isinstance(value, dict):
        kind = value.get("kind", "feature")
        return kind if kind in ("feature", "brief") else "unknown"
    return getattr(value, "kind", "feature")


Story = Annotated[
    Annotated[Feature, Tag("feature")] | Annotated[Brief, Tag("brief")],
    Discriminator(
        _story_kind,
        custom_error_type="story_kind",
        custom_error_message='kind must be "feature" or "brief"',
    ),
]


class Section(Node):
    """A group of stories under an optional label (e.g. "AI + Mobility")."""

    label: str | None = Field(None, max_length=120)
    stories: list[Story] = Field(min_length=1)

    _blank = field_validator("label")(_not_blank)


class Issue(Node):
    """One newsletter issue: the contents of ``issues/<slug>/issue.toml``."""

    newsletter: Newsletter
    title: str = Field(min_length=1, max_length=300)
    date: dt.date
    language: str = Field("en", description="Language of the issue and its template strings.")
    subject: str | None = Field(None, max_length=300, description="Email subject (default: title).")
    preheader: str | None = Field(
        None, max_length=250, description="Inbox preview text after the subject."
    )
    template: str | None = Field(None, description="Template folder name (default from config).")
    intro: str | None = Field(None, description="Editor's introduction, Markdown.")
    intro_file: str | None = Field(None, description="Markdown file with the introduction.")
    in_this_issue: bool | None = Field(
        None,
        description='An "In this issue" list of the headlines near the top, each linking to '
        "its story (default: shown when four or more stories have a headline).",
    )
    sections: list[Section] = Field(min_length=1)

    _slug: str = PrivateAttr("")
    _folder: Path = PrivateAttr(default_factory=Path)

    _blank = field_validator("preheader", "subject", "intro", "intro_file", "template")(_not_blank)
    # The title is the subject when there is none; the preheader leads the inbox preview.
    _header = field_validator("title", "subject", "preheader")(_one_line)

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        if not re.fullmatch(LANGUAGE_RE, value):
            raise ValueError(f'must be a language code such as "en" or "nl" (got {value!r})')
        return value

    @property
    def slug(self) -> str:
        """The issue's name: its folder name."""
        return self._slug

    @property
    def folder(self) -> Path:
        """The folder holding ``issue.toml`` and its story files."""
        return self._folder

    @property
    def subject_line(self) -> str:
        return self.subject or self.title

    def stories(self) -> list[Feature | Brief]:
        """Every story of every section, in order."""
        return [story for section in self.sections for story in section.stories]

    def features(self) -> list[Feature]:
        return [story for story in self.stories() if isinstance(story, Feature)]


def issue_schema() -> dict[str, Any]:
    """The JSON Schema of ``issue.toml`` (``mailer schema``)."""
    schema = Issue.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "mailer issue.toml"
    return schema
