"""The sample emails in real headless Chromium: no horizontal overflow at phone and desktop widths.

Screenshots go to ``test-artifacts/`` (kept by CI, ignored by git).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from composekit import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, SAMPLES, need

from mailer.compose import ComposedIssue, render_web_pages
from mailer.config import Settings
from mailer.content import Issue

pytestmark = pytest.mark.chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    need(CHROMIUM.exists(), f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


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
