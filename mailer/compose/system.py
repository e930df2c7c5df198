"""Small transactional emails (double opt-in confirmation, …) through the same pipeline."""

from __future__ import annotations

from typing import Any

from mailer.compose.environment import render
from mailer.compose.pipeline import render_email, template_dir
from mailer.config import Settings
from mailer.content.languages import SOURCE_LANGUAGE, catalog_language


def render_system_email(
    name: str, language: str, context: dict[str, Any], settings: Settings
) -> tuple[str, str, str]:
    """Render ``templates/<name>/``: return ``(subject, html, text)``.

    ``context`` holds what the template needs (for ``confirm``: ``list_name``
    and ``confirm_url``); a missing variable is a ``TemplateError``. A
    language without a catalog falls back to English.
    """
    lang = catalog_language(language) or SOURCE_LANGUAGE
    templates = template_dir(settings)
    full = {"language": lang, **context}
    subject = render(templates, f"{name}/subject.txt.j2", lang, full, html=False)
    html, text = render_email(templates, name, lang, full)
    return " ".join(subject.split()), html, text
