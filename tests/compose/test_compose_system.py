"""Transactional emails through the same pipeline: the double opt-in confirmation."""

from __future__ import annotations

import re

import lxml.html
import pytest

from mailer.compose import render_system_email
from mailer.config import Settings
from mailer.errors import TemplateError

URL = "https://news.example.org/confirm/abc.def"


def test_confirm_in_english(settings: Settings) -> None:
    subject, html, text = render_system_email(
        "confirm", "en", {"list_name": "China AI2X Briefing", "confirm_url": URL}, settings
    )
    assert subject == "Confirm your subscription to China AI2X Briefing"
    doc = lxml.html.document_fromstring(html)
    assert html.startswith("<!DOCTYPE html>") and doc.get("lang") == "en"
    assert URL in doc.xpath("//a/@href")
    assert "Yes, subscribe me" in doc.text_content()
    assert URL in text and not re.search(r"<[a-z/]", text)


def test_confirm_in_dutch(settings: Settings) -> None:
    subject, html, text = render_system_email(
        "confirm", "nl", {"list_name": "China Tech Digest", "confirm_url": URL}, settings
    )
    assert subject == "Bevestig je inschrijving op China Tech Digest"
    assert 'lang="nl"' in html and "Ja, schrijf me in" in html
    assert "Bevestig je inschrijving" in text and URL in text
    for english in ("subscribe me", "Please confirm", "If you did not ask"):
        assert english not in html and english not in text


def test_unknown_language_falls_back_to_english(settings: Settings) -> None:
    subject, html, _ = render_system_email(
        "confirm", "fr", {"list_name": "L", "confirm_url": URL}, settings
    )
    assert subject == "Confirm your subscription to L" and 'lang="en"' in html


def test_escapes_context_values(settings: Settings) -> None:
    _, html, _ = render_system_email(
        "confirm", "en", {"list_name": "<b>Evil</b>", "confirm_url": URL}, settings
    )
    assert "<b>Evil</b>" not in html and "&lt;b&gt;Evil&lt;/b&gt;" in html


def test_missing_context_is_an_error(settings: Settings) -> None:
    with pytest.raises(TemplateError, match="confirm_url"):
        render_system_email("confirm", "en", {"list_name": "L"}, settings)
    with pytest.raises(TemplateError, match="not found"):
        render_system_email("welcome-gift", "en", {}, settings)
