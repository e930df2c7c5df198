"""The MJML pipeline: safety, strictness, inlining, personalisation placeholders."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import lxml.html
import pytest

from mailer.compose import compose_issue, placeholders
from mailer.config import Settings
from mailer.errors import TemplateError
from tests.support.compose import make_issue
from tests.support.paths import ROOT

ISSUE = """
title = "Safety check"
date = 2026-02-02
preheader = "Checking."

[newsletter]
name = "Letter"
postal_address = "1 Main St, Springfield"

[[sections]]
label = "Only"

[[sections.stories]]
headline = "Hostile"
body = '''
Hello <script>alert("owned")</script> and <iframe src="https://evil.example"></iframe>.

[click me](javascript:alert(1)) <a href="https://evil.example">raw link</a>
'''
"""


def custom_templates(tmp_path: Path, settings: Settings, edit: dict[str, str]) -> None:
    """Copy the shipped templates and apply ``{old: new}`` to the default email template."""
    target = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", target)
    mjml = target / "default" / "email.mjml.j2"
    source = mjml.read_text(encoding="utf-8")
    for old, new in edit.items():
        assert old in source
        source = source.replace(old, new)
    mjml.write_text(source, encoding="utf-8")
    settings.paths.templates_dir = str(target)


def test_scripts_and_raw_html_in_a_story_do_not_survive(tmp_path: Path, settings: Settings) -> None:
    result = compose_issue(make_issue(tmp_path, settings, ISSUE), settings)
    doc = lxml.html.document_fromstring(result.html)
    assert not list(doc.iter("script")) and not list(doc.iter("iframe"))
    assert "<script" not in result.html.lower()
    assert not [h for h in doc.xpath("//@href | //@src") if "javascript" in h.lower()]
    assert "https://evil.example" not in doc.xpath("//a/@href")
    # The editor's text is kept, visibly, as text.
    assert '<script>alert("owned")</script>' in doc.text_content()


def test_mj_style_inline_rules_are_inlined(tmp_path: Path, settings: Settings) -> None:
    result = compose_issue(make_issue(tmp_path, settings, ISSUE), settings)
    doc = lxml.html.document_fromstring(result.html)
    [headline] = doc.find_class("headline")
    style = headline.get("style", "").replace(" ", "")
    assert "font-size:22px" in style and "color:#111827" in style
    # Non-inlinable rules (dark mode) stay in a <style> block.
    assert "prefers-color-scheme: dark" in result.html
    # mj-body attributes are applied: the page background.
    assert "background-color:#eef1f4" in doc.body.get("style", "").replace(" ", "")


def test_no_web_fonts_and_no_network(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    custom_templates(
        tmp_path,
        settings,
        {
            '<mj-style inline="inline">': (
                '<mj-font name="Roboto" href="https://fonts.googleapis.com/css?family=Roboto" />\n'
                '<mj-style inline="inline">\n'
                "@import url(https://fonts.googleapis.com/css?family=Lato);"
            ),
        },
    )
    result = compose_issue(make_issue(tmp_path, settings, ISSUE), settings)
    assert attempts == []
    assert "@import" not in result.html and "fonts.googleapis.com" not in result.html


def test_undefined_variable_is_an_error_naming_template_and_variable(
    tmp_path: Path, settings: Settings
) -> None:
    custom_templates(tmp_path, settings, {"{{ issue.name }}</p>": "{{ issue.volume }}</p>"})
    with pytest.raises(TemplateError) as info:
        compose_issue(make_issue(tmp_path, settings, ISSUE), settings)
    message = str(info.value)
    assert "default/email.mjml.j2, line " in message
    assert "volume" in message


def test_undefined_top_level_name(tmp_path: Path, settings: Settings) -> None:
    custom_templates(tmp_path, settings, {"{{ issue.name }}</p>": "{{ sponsor }}</p>"})
    with pytest.raises(TemplateError, match=r"email\.mjml\.j2, line \d+: 'sponsor' is undefined"):
        compose_issue(make_issue(tmp_path, settings, ISSUE), settings)


def test_subscriber_fields_render_to_placeholders(tmp_path: Path, settings: Settings) -> None:
    custom_templates(
        tmp_path,
        settings,
        {
            "{{ issue.name }}</p>": (
                "{{ issue.name }}</p><p>Hi {{ subscriber.name }} ({{ subscriber.email }}) "
                "in {{ subscriber.attributes.city }}</p>"
            )
        },
    )
    html = compose_issue(make_issue(tmp_path, settings, ISSUE), settings).html
    assert f"Hi {placeholders.SUBSCRIBER_NAME} ({placeholders.SUBSCRIBER_EMAIL})" in html
    assert placeholders.attribute("city") in html
    assert set(placeholders.PATTERN.findall(html)) >= {
        "subscriber.name",
        "subscriber.email",
        "subscriber.attributes.city",
        "unsubscribe_url",
    }


def test_list_overrides_win_over_the_issue(tmp_path: Path, settings: Settings) -> None:
    issue = make_issue(tmp_path, settings, ISSUE)
    plain = compose_issue(issue, settings)
    assert plain.postal_address == "1 Main St, Springfield" and plain.from_name == "Letter"
    listed = compose_issue(issue, settings, postal_address="PO Box 9, Gent", from_name="The Team")
    assert "PO Box 9, Gent" in listed.html and "PO Box 9, Gent" in listed.text
    assert "1 Main St" not in listed.html
    assert listed.from_name == "The Team"


def test_missing_postal_address_is_a_warning(tmp_path: Path, settings: Settings) -> None:
    issue = make_issue(
        tmp_path, settings, ISSUE.replace('postal_address = "1 Main St, Springfield"', "")
    )
    codes = {r.code: r.level for r in compose_issue(issue, settings).lint}
    assert codes.get("postal-address") == "warning"
    settings.compose.postal_address = "Config Street 1"
    assert "Config Street 1" in compose_issue(issue, settings).html


def test_web_version_has_no_personal_links(tmp_path: Path, settings: Settings) -> None:
    result = compose_issue(make_issue(tmp_path, settings, ISSUE), settings, web=True)
    assert not placeholders.PATTERN.search(result.html)
    assert not placeholders.PATTERN.search(result.text)
    assert result.errors == []


def test_explicit_teaser_and_read_more(tmp_path: Path, settings: Settings) -> None:
    toml = ISSUE + (
        'teaser = "A *short* teaser."\n'
        'url = "https://example.org/full"\n'
        'read_more_label = "Full story"\n'
    )
    result = compose_issue(make_issue(tmp_path, settings, toml), settings)
    doc = lxml.html.document_fromstring(result.html)
    [button] = [a for a in doc.iter("a") if a.get("href") == "https://example.org/full"]
    assert "Full story" in button.text_content()
    assert "<em>short</em>" in result.html
    assert "Hostile" in result.text and "Full story: https://example.org/full" in result.text
    assert "owned" not in result.html  # the body stays off the email when a teaser is given


def test_teaser_keeps_links_of_whole_paragraphs_only(tmp_path: Path, settings: Settings) -> None:
    body = (
        "body = '''\nRead [the plan](https://gov.example/plan) first. Short.\n\n"
        "Then a [second link](https://gov.example/two) in a long paragraph. "
        + "More words here. " * 30
        + "\n'''\n"
    )
    toml = ISSUE.split("body = '''")[0] + body
    settings.compose.teaser_words = 20
    result = compose_issue(make_issue(tmp_path, settings, toml), settings)
    doc = lxml.html.document_fromstring(result.html)
    hrefs = doc.xpath("//a/@href")
    assert "https://gov.example/plan" in hrefs  # whole paragraph: link kept
    assert "https://gov.example/two" not in hrefs  # cut paragraph: plain text
    assert "the plan (https://gov.example/plan)" in result.text
    assert "second link" in doc.text_content() and "More words here" in doc.text_content()
    assert "https://gov.example/two" not in result.text


def test_teaser_budget_comes_from_settings(tmp_path: Path, settings: Settings) -> None:
    body = "body = '''\n" + " ".join(f"Sentence number {i} is here." for i in range(40)) + "\n'''\n"
    toml = ISSUE.split("body = '''")[0] + body
    issue = make_issue(tmp_path, settings, toml)
    lengths = []
    for budget in (10, 50):
        settings.compose.teaser_words = budget
        text = compose_issue(issue, settings).text
        teaser = text.split("Hostile\n-------\n")[1].split("\n\n")[0]
        lengths.append(len(teaser.split()))
        assert len(teaser.split()) <= budget
    assert lengths[0] < lengths[1]


def test_story_image_has_alt_and_fits(tmp_path: Path, settings: Settings) -> None:
    toml = ISSUE + (
        'image = { src = "https://cdn.example.org/drones.jpg", alt = "Drones over Shenzhen", '
        "width = 400 }\n"
    )
    result = compose_issue(make_issue(tmp_path, settings, toml), settings)
    [img] = lxml.html.document_fromstring(result.html).iter("img")
    assert img.get("alt") == "Drones over Shenzhen"
    assert img.get("src") == "https://cdn.example.org/drones.jpg"
    assert img.get("width") == "400"
    assert result.errors == []
    assert "[" not in result.text.split("Hostile")[1].split("\n\n")[0]  # no image residue


def test_template_syntax_error_names_file_and_line(tmp_path: Path, settings: Settings) -> None:
    custom_templates(
        tmp_path, settings, {"{% if issue.preheader %}": "{% if issue.preheader %}{% if %}"}
    )
    with pytest.raises(TemplateError, match=r"email\.mjml\.j2, line \d+: "):
        compose_issue(make_issue(tmp_path, settings, ISSUE), settings)


def test_broken_mjml_is_a_template_error(tmp_path: Path, settings: Settings) -> None:
    custom_templates(tmp_path, settings, {"</mjml>": ""})
    with pytest.raises(TemplateError, match="MJML does not compile: unexpected end of stream"):
        compose_issue(make_issue(tmp_path, settings, ISSUE), settings)
