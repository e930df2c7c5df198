"""Each lint check finds its problem, and only that."""

from __future__ import annotations

from mailer.compose import placeholders
from mailer.compose.lint import lint_html

UNSUB = f'<a href="{placeholders.UNSUBSCRIBE_URL}">Unsubscribe</a>'


def page(body: str, lang: str = ' lang="en"') -> str:
    return (
        f"<!DOCTYPE html><html{lang}><head><title>t</title></head><body>{body}{UNSUB}</body></html>"
    )


def codes(html: str, preheader: str | None = "pre", max_bytes: int = 102_000) -> dict[str, str]:
    return {r.code: r.level for r in lint_html(html, preheader=preheader, max_bytes=max_bytes)}


def test_clean_page_has_no_findings() -> None:
    html = page(
        '<h1>A</h1><h2>B</h2><img src="https://e.org/a.png" alt="A"><a href="https://e.org">x</a>'
    )
    assert codes(html) == {}


def test_size_over_gmail_clip() -> None:
    html = page("<p>" + "x" * 2000 + "</p>")
    found = lint_html(html, preheader="p", max_bytes=1000)
    [size] = [r for r in found if r.code == "size"]
    assert size.level == "warning" and "Gmail clips" in size.message


def test_image_without_alt() -> None:
    assert codes(page('<img src="https://e.org/a.png">')) == {"img-alt": "error"}


def test_relative_and_insecure_and_odd_links() -> None:
    found = codes(page('<a href="/about">a</a><img src="logo.png" alt="L">'))
    assert found == {"relative-link": "error"}
    assert codes(page('<a href="http://e.org/a">a</a>')) == {"insecure-link": "warning"}
    assert codes(page('<a href="ftp://e.org/a">a</a>')) == {"bad-link": "error"}
    assert codes(page('<a href="mailto:a@e.org">m</a>')) == {}


def test_insecure_links_grouped_per_site() -> None:
    html = page("".join(f'<a href="http://e.org/{i}">{i}</a>' for i in range(4)))
    messages = [r.message for r in lint_html(html, preheader="p", max_bytes=10**6)]
    assert messages == ["4 links to http://e.org are not https"]


def test_missing_preheader_and_lang() -> None:
    assert codes(page(""), preheader=None) == {"preheader": "warning"}
    assert codes(page("", lang="")) == {"lang": "error"}


def test_skipped_heading_levels() -> None:
    found = lint_html(page("<h1>A</h1><h3>C</h3>"), preheader="p", max_bytes=10**6)
    assert [(r.code, r.level) for r in found] == [("heading-order", "warning")]
    assert "h1 to h3" in found[0].message
    assert codes(page("<h2>Starts low</h2>")) == {"heading-order": "warning"}


def test_missing_unsubscribe_link() -> None:
    html = page("").replace(UNSUB, "")
    assert codes(html) == {"unsubscribe": "error"}
    assert lint_html(html, preheader="p", max_bytes=10**6, personal_links=False) == []


def test_size_counts_filled_in_placeholders() -> None:
    body = "<p>" + "x" * 800 + "</p>" + f'<a href="{placeholders.WEB_URL}">w</a>' * 3
    html = page(body)
    assert len(html.encode()) < 1200
    assert "size" in codes(html, max_bytes=1200)  # 4 placeholders x 160 bytes push it over
    assert "size" not in codes(page("<p>" + "x" * 800 + "</p>"), max_bytes=1200)
