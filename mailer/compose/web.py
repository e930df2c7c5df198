"""The static web version of an issue: its page and one page per story."""

from __future__ import annotations

from mailer.compose.context import issue_context
from mailer.compose.environment import render
from mailer.compose.pipeline import compose_issue, template_dir
from mailer.config import Settings
from mailer.content.model import Issue


def render_web_pages(
    issue: Issue, settings: Settings, *, list_slug: str | None = None
) -> dict[str, str]:
    """Relative path -> HTML: ``index.html`` and ``<story-slug>/index.html``.

    The web app serves them at ``links.issue_url`` and ``links.story_url``.
    Only features without their own ``url`` get a page: theirs is the
    target of "Read more". Pages carry no per-recipient placeholders. Every
    page carries the newsletter's name, a link to the archive and a subscribe
    link: to ``list_slug``'s sign-up page when given (the list the issue is
    sent to), else to the site's home page listing every newsletter.
    """
    pages = {"index.html": compose_issue(issue, settings, web=True, list_slug=list_slug).html}
    context = issue_context(issue, settings, web=True, list_slug=list_slug)
    templates = template_dir(settings)
    name = issue.template or settings.compose.template
    for section in context["sections"]:
        for story in section.stories:
            if story.page_url is None:
                continue
            page_context = {**context, "story": story, "section_label": section.label}
            pages[f"{story.slug}/index.html"] = render(
                templates, f"{name}/story.html.j2", issue.language, page_context
            )
    return pages
