"""What templates see: the issue turned into plain view objects.

Everything a template needs is computed here (teasers, Markdown rendered to
HTML and to text, "Read more" targets, the date in the issue's language), so
templates stay declarative and both the HTML and the text part show the same
content.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from mailer import links
from mailer.compose import placeholders
from mailer.compose.colour import DARK_BACKGROUNDS, readable_on, tint
from mailer.compose.i18n import long_date
from mailer.config import Settings
from mailer.content import markdown
from mailer.content.model import Brief, Feature, Image, Issue
from mailer.content.teaser import excerpt

DEFAULT_ACCENT = "#1a56a0"
# Invisible characters after the preheader: inbox previews show them instead
# of pulling in the email's first visible words ("View in browser").
PREHEADER_FILLER = "\u034f\u200c\u00a0" * 50


class _Attributes:
    """``subscriber.attributes.city`` renders the placeholder delivery fills in."""

    def __getattr__(self, key: str) -> str:
        if key.startswith("_"):
            raise AttributeError(key)
        return placeholders.attribute(key)

    def __getitem__(self, key: str) -> str:
        return placeholders.attribute(key)


class SubscriberPlaceholders:
    """The ``subscriber`` object of templates: each field is a per-recipient placeholder."""

    name = placeholders.SUBSCRIBER_NAME
    email = placeholders.SUBSCRIBER_EMAIL
    attributes = _Attributes()


@dataclass(frozen=True)
class Links:
    unsubscribe_url: str | None
    preferences_url: str | None
    web_url: str | None
    issue_url: str
    archive_url: str
    subscribe_url: str  # the list's sign-up page, or the site's list of newsletters


@dataclass(frozen=True)
class StoryView:
    kind: str
    slug: str
    headline: str | None
    subheadline: str | None
    teaser_html: Markup
    teaser_text: str
    why_html: Markup | None
    why_text: str | None
    image: Image | None
    read_more_url: str | None
    read_more_label: str | None
    body_html: Markup
    body_text: str
    source: str | None
    source_url: str | None
    page_url: str | None  # the story's own web page, when it has one

    @property
    def anchor(self) -> str:
        """The ``id`` of the story in the email: "In this issue" links to ``#anchor``."""
        return f"story-{self.slug}"


@dataclass(frozen=True)
class SectionView:
    label: str | None
    stories: list[StoryView]

    @property
    def groups(self) -> list[tuple[str, list[StoryView]]]:
        """Runs of consecutive stories of one kind: briefs share one block of the layout."""
        runs: list[tuple[str, list[StoryView]]] = []
        for story in self.stories:
            if runs and runs[-1][0] == story.kind == "brief":
                runs[-1][1].append(story)
            else:
                runs.append((story.kind, [story]))
        return runs


@dataclass(frozen=True)
class IssueView:
    slug: str
    name: str
    tagline: str | None
    title: str
    subject: str
    date: str
    date_iso: str
    language: str
    preheader: str | None
    intro_html: Markup | None
    intro_text: str | None
    accent: str
    accent_tint: str
    accent_dark: str  # the accent as text on dark-mode backgrounds
    website: str | None
    from_name: str
    postal_address: str | None
    extra: dict[str, Any] = field(default_factory=dict)


def _teaser(story: Feature, budget: int) -> tuple[Markup, str]:
    """The teaser as HTML paragraphs and as text.

    Paragraphs the excerpt takes whole keep their inline Markdown (links,
    emphasis); a paragraph cut short is shown as plain text, so no link or
    emphasis is ever left half open.
    """
    if story.teaser:
        return markdown.to_html(story.teaser), markdown.to_text(story.teaser)
    prose = markdown.teaser_blocks(story.body or "")
    cut = excerpt([block.text for block in prose], budget)
    html: list[Markup] = []
    text: list[str] = []
    for block, para in zip(prose, cut.paragraphs, strict=False):
        if para == block.text:
            html.append(Markup("<p>{}</p>").format(block.html))
            text.append(markdown.wrap_text(block.text_with_urls))
        else:
            ellipsis = "…" if cut.mid_sentence else ""
            html.append(Markup("<p>{}{}</p>").format(para, ellipsis))
            text.append(markdown.wrap_text(para + ellipsis))
    return Markup("\n").join(html), "\n\n".join(text)


def story_view(issue: Issue, story: Feature | Brief, settings: Settings) -> StoryView:
    body = story.body or ""
    if isinstance(story, Feature):
        teaser_html, teaser_text = _teaser(story, settings.compose.teaser_words)
        page = None if story.url else links.story_url(settings, issue.slug, story.slug)
        return StoryView(
            kind="feature",
            slug=story.slug,
            headline=story.headline,
            subheadline=story.subheadline,
            teaser_html=teaser_html,
            teaser_text=teaser_text,
            why_html=markdown.to_html(story.why_it_matters) if story.why_it_matters else None,
            why_text=markdown.to_text(story.why_it_matters) if story.why_it_matters else None,
            image=story.image,
            read_more_url=story.url or page,
            read_more_label=story.read_more_label,
            body_html=markdown.to_html(body, top_heading=2),
            body_text=markdown.to_text(body),
            source=None,
            source_url=None,
            page_url=page,
        )
    return StoryView(
        kind="brief",
        slug=story.slug,
        headline=story.headline,
        subheadline=None,
        teaser_html=Markup(""),
        teaser_text="",
        why_html=None,
        why_text=None,
        image=None,
        read_more_url=None,
        read_more_label=None,
        body_html=markdown.to_html(body, top_heading=3),
        body_text=markdown.to_text(body),
        source=story.source,
        source_url=story.source_url,
        page_url=None,
    )


def issue_view(
    issue: Issue,
    settings: Settings,
    postal_address: str | None = None,
    from_name: str | None = None,
) -> IssueView:
    news = issue.newsletter
    accent = news.accent_color or DEFAULT_ACCENT
    return IssueView(
        slug=issue.slug,
        name=news.name,
        tagline=news.tagline,
        title=issue.title,
        subject=issue.subject_line,
        date=long_date(issue.date, issue.language),
        date_iso=issue.date.isoformat(),
        language=issue.language,
        preheader=issue.preheader,
        intro_html=markdown.to_html(issue.intro, top_heading=3) if issue.intro else None,
        intro_text=markdown.to_text(issue.intro) if issue.intro else None,
        accent=accent,
        accent_tint=tint(accent),
        accent_dark=readable_on(accent, DARK_BACKGROUNDS),
        website=news.website,
        from_name=from_name or news.from_name or news.name,
        postal_address=postal_address
        or news.postal_address
        or settings.compose.postal_address
        or None,
    )


# "In this issue" is on by default from this many listed stories up.
CONTENTS_FROM = 4


def contents(issue: Issue, sections: list[SectionView]) -> list[StoryView]:
    """The stories "In this issue" lists (those with a headline); empty when it is off.

    ``in_this_issue`` in ``issue.toml`` switches it on or off; by default it
    shows when at least ``CONTENTS_FROM`` stories have a headline to list.
    """
    listed = [story for section in sections for story in section.stories if story.headline]
    wanted = issue.in_this_issue
    if wanted is None:
        wanted = len(listed) >= CONTENTS_FROM
    return listed if wanted else []


def issue_context(
    issue: Issue,
    settings: Settings,
    *,
    web: bool = False,
    postal_address: str | None = None,
    from_name: str | None = None,
    list_slug: str | None = None,
) -> dict[str, Any]:
    """The template context of an issue; ``web`` is the public page (no personal links).

    ``list_slug`` is the list the issue goes to: the web version's subscribe
    link points at its sign-up page (without it, at the site's home page,
    which lists every newsletter).
    """
    sections = [
        SectionView(section.label, [story_view(issue, s, settings) for s in section.stories])
        for section in issue.sections
    ]
    link_set = Links(
        unsubscribe_url=None if web else placeholders.UNSUBSCRIBE_URL,
        preferences_url=None if web else placeholders.PREFERENCES_URL,
        web_url=None if web else placeholders.WEB_URL,
        issue_url=links.issue_url(settings, issue.slug),
        archive_url=links.archive_url(settings),
        subscribe_url=links.subscribe_url(settings, list_slug)
        if list_slug
        else links.home_url(settings),
    )
    return {
        "issue": issue_view(issue, settings, postal_address, from_name),
        "sections": sections,
        "contents": contents(issue, sections),
        "links": link_set,
        "subscriber": SubscriberPlaceholders(),
        "preheader_filler": PREHEADER_FILLER,
        "web": web,
    }
