"""Issue files in: the issue format, validation, Markdown and teasers."""

from mailer.content.loader import check_issue, load_issue, resolve_issue_path, slugify
from mailer.content.model import Brief, Feature, Image, Issue, Newsletter, Section, issue_schema

__all__ = [
    "Brief",
    "Feature",
    "Image",
    "Issue",
    "Newsletter",
    "Section",
    "check_issue",
    "issue_schema",
    "load_issue",
    "resolve_issue_path",
    "slugify",
]
