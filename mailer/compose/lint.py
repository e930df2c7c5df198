"""Checks on the finished email that catch what hurts delivery or readers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import lxml.html

from mailer.compose import placeholders

Level = Literal["error", "warning"]
# Room each per-recipient placeholder takes once delivery fills it in.
PLACEHOLDER_BYTES = 160


@dataclass(frozen=True)
class LintResult:
    """One finding: ``error`` fails the build, ``warning`` is printed."""

    level: Level
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.message} [{self.code}]"


def _link_problem(url: str, what: str) -> LintResult | None:
    url = url.strip()
    if placeholders.PATTERN.fullmatch(url) or url.startswith(("mailto:", "tel:")):
        return None
    scheme = urlsplit(url).scheme.lower()
    if not scheme:
        return LintResult(
            "error", "relative-link", f"{what} {url!r} is relative; mail needs absolute URLs"
        )
    if scheme == "http":
        return LintResult("warning", "insecure-link", f"{what} {url!r} is not https")
    if scheme != "https":
        return LintResult("error", "bad-link", f"{what} {url!r} uses the {scheme}: scheme")
    return None


def lint_html(
    html: str,
    *,
    preheader: str | None,
    max_bytes: int,
    personal_links: bool = True,
) -> list[LintResult]:
    """Lint a composed email: size, alt texts, links, preheader, ``lang``, headings."""
    results: list[LintResult] = []
    # Gmail measures the delivered HTML: each placeholder becomes a signed URL
    # or a name, longer than the token itself.
    size = len(html.encode("utf-8")) + PLACEHOLDER_BYTES * len(placeholders.PATTERN.findall(html))
    if size > max_bytes:
        results.append(
            LintResult(
                "warning",
                "size",
                f"HTML is {size / 1000:.1f} KB once personalised; Gmail clips messages above "
                f"{max_bytes / 1000:.0f} KB (readers would see '[Message clipped]')",
            )
        )
    if not preheader:
        results.append(
            LintResult("warning", "preheader", "no preheader: inboxes show the first body text")
        )
    doc = lxml.html.document_fromstring(html)
    if not (doc.get("lang") or "").strip():
        results.append(LintResult("error", "lang", "<html> has no lang attribute"))
    for img in doc.iter("img"):
        src = img.get("src", "")
        if img.get("alt") is None:
            results.append(LintResult("error", "img-alt", f"image {src!r} has no alt text"))
        problem = _link_problem(src, "image")
        if problem:
            results.append(problem)
    seen: set[str] = set()
    insecure: dict[str, list[str]] = {}
    ids = {str(el.get("id")) for el in doc.iter() if el.get("id")}
    for a in doc.iter("a"):
        href = a.get("href")
        if href is None or href in seen:
            continue
        seen.add(href)
        if href.startswith("#"):
            # A jump within the email ("In this issue"): fine if its target is there.
            if href[1:] not in ids:
                results.append(
                    LintResult("error", "bad-anchor", f"link {href!r} points to no element")
                )
            continue
        problem = _link_problem(href, "link")
        if problem and problem.code == "insecure-link":
            # One warning per site: a plain-http base_url would otherwise flag every story.
            parts = urlsplit(href.strip())
            insecure.setdefault(f"{parts.scheme}://{parts.netloc}", []).append(href)
        elif problem:
            results.append(problem)
    for origin, hrefs in insecure.items():
        what = f"link {hrefs[0]!r} is" if len(hrefs) == 1 else f"{len(hrefs)} links to {origin} are"
        results.append(LintResult("warning", "insecure-link", f"{what} not https"))
    if personal_links and placeholders.UNSUBSCRIBE_URL not in html:
        results.append(
            LintResult("error", "unsubscribe", "no unsubscribe link: the template must have one")
        )
    previous = 0
    for el in doc.iter("h1", "h2", "h3", "h4", "h5", "h6"):
        level = int(str(el.tag)[1])
        if level > previous + 1:
            before = f"h{previous}" if previous else "the start"
            results.append(
                LintResult(
                    "warning",
                    "heading-order",
                    f"heading levels skip from {before} to h{level} "
                    f"({el.text_content().strip()[:40]!r})",
                )
            )
        previous = level
    return results
