"""The sample emails in real headless Chromium: no horizontal overflow at phone and desktop widths.

Screenshots go to ``test-artifacts/`` (kept by CI, ignored by git).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mailer.compose import ComposedIssue, render_web_pages
from mailer.config import Settings
from mailer.content import Issue
from tests.support.compose import SAMPLES
from tests.support.paths import ARTIFACTS

pytestmark = pytest.mark.chromium


def open_page(browser: Any, html_file: Path, width: int, dark: bool = False) -> Any:
    page = browser.new_page(
        viewport={"width": width, "height": 800}, color_scheme="dark" if dark else "light"
    )
    # Emails must render with no network: block anything that is not the file itself.
    page.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort(),
    )
    page.goto(html_file.as_uri())
    return page


def overflow(page: Any) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


@pytest.mark.parametrize("width", [375, 600])
@pytest.mark.parametrize("slug", SAMPLES)
def test_email_fits_the_screen(
    browser: Any, composed: dict[str, ComposedIssue], tmp_path: Path, slug: str, width: int
) -> None:
    html_file = tmp_path / "email.html"
    html_file.write_text(composed[slug].html, encoding="utf-8")
    page = open_page(browser, html_file, width)
    scroll_width, inner_width = overflow(page)
    assert scroll_width <= inner_width, f"{slug} overflows at {width}px: {scroll_width}px wide"
    # The content column never exceeds the 600 px design width.
    widest = page.evaluate(
        "Math.max(...[...document.querySelectorAll('table')]"
        ".map(t => t.getBoundingClientRect().width))"
    )
    assert widest <= 600
    # The headline text is really there and visible (not just markup).
    assert page.locator("h1").first.is_visible()
    if width < 480:
        # Phones get narrower side margins, so lines keep a readable length.
        assert page.evaluate("document.querySelector('h1').getBoundingClientRect().left") <= 24
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"email-{slug}-{width}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.close()


def test_dark_mode_switches_colours(
    browser: Any, composed: dict[str, ComposedIssue], tmp_path: Path
) -> None:
    html_file = tmp_path / "email.html"
    html_file.write_text(composed[SAMPLES[0]].html, encoding="utf-8")
    colours = []
    for dark in (False, True):
        page = open_page(browser, html_file, 600, dark=dark)
        colours.append(page.evaluate("getComputedStyle(document.querySelector('.headline')).color"))
        if dark:
            page.screenshot(path=str(ARTIFACTS / "email-dark-600.png"), full_page=True)
        page.close()
    assert colours[0] != colours[1]


@pytest.mark.parametrize("width", [375, 1024])
def test_story_pages_fit_the_screen(
    browser: Any, samples: dict[str, Issue], sample_settings: Settings, tmp_path: Path, width: int
) -> None:
    pages = render_web_pages(samples[SAMPLES[1]], sample_settings)
    for rel, html in pages.items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
        page = open_page(browser, target, width)
        scroll_width, inner_width = overflow(page)
        assert scroll_width <= inner_width, f"{rel} overflows at {width}px"
        name = rel.replace("/", "-").removesuffix(".html")
        page.screenshot(path=str(ARTIFACTS / f"web-{name}-{width}.png"), full_page=True)
        page.close()


WIDE_STORY = """
title = "Wide things"
date = 2026-02-02
preheader = "Tables and code on a phone."

[newsletter]
name = "Phone Test Weekly"
postal_address = "Phone Test Weekly · 1 Main St · Springfield"

[[sections]]
label = "Data"

[[sections.stories]]
headline = "A story with a wide table and long code"
file = "story.md"
"""

WIDE_BODY = (
    "The numbers first.\n\n"
    "| province | 2019 | 2020 | 2021 | 2022 | 2023 | 2024 | 2025 | share of national output |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
    "| Guangdong | 1,234,567 | 1,345,678 | 1,456,789 | 1,567,890 | 1,678,901 | 1,789,012 "
    "| 1,890,123 | 23.4% |\n\n"
    "```python\nresult = compute_the_provincial_output_share(provinces, years=range(2019, 2026), "
    "normalise=True, weights=None)\n```\n\n"
    "A long address: https://example.org/a/very/long/path/that/never/breaks/"
    "by/itself/on/a/narrow/screen/unless/told/to/do/so.html and `an_inline_code_identifier_"
    "that_is_very_long_indeed`.\n"
)


def test_story_page_styles_tables_and_code_without_overflow_at_375(
    browser: Any, sample_settings: Settings, tmp_path: Path
) -> None:
    from mailer.content import load_issue

    folder = tmp_path / "issues" / "wide-things"
    folder.mkdir(parents=True)
    (folder / "issue.toml").write_text(WIDE_STORY, encoding="utf-8")
    (folder / "story.md").write_text(WIDE_BODY, encoding="utf-8")
    issue = load_issue(folder, sample_settings)
    pages = render_web_pages(issue, sample_settings, list_slug="phone-test")
    [rel] = [key for key in pages if key != "index.html"]
    target = tmp_path / "site" / rel
    target.parent.mkdir(parents=True)
    target.write_text(pages[rel], encoding="utf-8")
    for dark in (False, True):
        page = open_page(browser, target, 375, dark=dark)
        scroll_width, inner_width = overflow(page)
        assert scroll_width <= inner_width, f"story page overflows at 375px: {scroll_width}px"
        styles = page.evaluate(
            """() => {
              const s = (q, p) => getComputedStyle(document.querySelector(q))[p];
              return {tableOverflow: s('table', 'overflowX'), preOverflow: s('pre', 'overflowX'),
                      cellBorder: s('td', 'borderTopStyle'), preBg: s('pre', 'backgroundColor'),
                      codeFont: s('pre code', 'fontFamily'),
                      tableRight: document.querySelector('table').getBoundingClientRect().right,
                      preRight: document.querySelector('pre').getBoundingClientRect().right};
            }"""
        )
        # Wide content scrolls inside its own box; the page itself never does.
        assert styles["tableOverflow"] == "auto" and styles["preOverflow"] == "auto"
        assert styles["tableRight"] <= 375 and styles["preRight"] <= 375
        assert styles["cellBorder"] == "solid"
        assert styles["preBg"] not in ("rgba(0, 0, 0, 0)", "transparent")
        assert "monospace" in styles["codeFont"]
        # The masthead carries the name, the archive and the subscribe link, all on screen.
        for name in ("Phone Test Weekly", "All issues", "Subscribe"):
            box = page.locator("header").get_by_role("link", name=name, exact=True).bounding_box()
            assert box is not None and box["x"] + box["width"] <= 375, name
        mode = "dark" if dark else "light"
        page.screenshot(path=str(ARTIFACTS / f"web-story-wide-375-{mode}.png"), full_page=True)
        page.close()
