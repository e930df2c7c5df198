"""Page noise in pasted text: what a copied web page brings besides the story.

Each rule names the kind of noise it removes, so ``mailer draft`` can print
every dropped line with its reason. Rules only fire on short lines: noise is
a link label or a widget title, never a paragraph, so a sentence that merely
starts with "Share prices" or "Subscribers" stays.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailer.draft.lines import Kind, Line

MAX_NOISE_CHARS = 160
_SOCIAL = (
    r"(?:facebook|twitter|x|linkedin|whatsapp|telegram|reddit|email|e-mail|print|copy link|"
    r"pinterest|weibo|wechat|instagram|youtube|threads|bluesky|mastodon)"
)

RULES: list[tuple[str, re.Pattern[str]]] = [
    (
        "also read",
        re.compile(
            r"^(?:also read|read also|see also|lees ook|ook interessant|you might also like|"
            r"you may also like|recommended(?: for you| reading)?|suggested reading)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "related",
        re.compile(
            r"^(?:related(?: articles| stories| posts| news| content| coverage)?|"
            r"more (?:from|on) this|more stories|gerelateerd|meer nieuws)\s*[:.…]?\s*(?:$|[:–—|-])",
            re.IGNORECASE,
        ),
    ),
    (
        "share",
        re.compile(
            rf"^(?:share(?: this(?: article| story| post)?)?(?: on| via)?|deel(?: dit artikel)?|"
            rf"tweet(?: this)?)\s*[:|]?\s*(?:{_SOCIAL}[\s,|/·•]*)*$|"
            rf"^(?:{_SOCIAL}[\s,|/·•]*){{2,}}$",
            re.IGNORECASE,
        ),
    ),
    ("tags", re.compile(r"^(?:tags?|tagged(?: with)?|topics|trefwoorden)\s*[:：]", re.IGNORECASE)),
    (
        "follow us",
        re.compile(
            r"^(?:follow us|volg ons|follow (?:[\w ]+ )?on (?:twitter|x|facebook|linkedin|"
            r"instagram|google news|telegram|whatsapp))\b",
            re.IGNORECASE,
        ),
    ),
    (
        "most popular",
        re.compile(
            r"^(?:most popular|most read|most viewed|trending(?: now| stories)?|popular posts|"
            r"top stories|meest gelezen|populair)\s*:?\s*$",
            re.IGNORECASE,
        ),
    ),
    (
        "subscribe",
        re.compile(
            r"^(?:subscribe|sign up|abonneer|schrijf je in|get our newsletter|join our newsletter)"
            r"\b(?!\w)",
            re.IGNORECASE,
        ),
    ),
    (
        "cookie",
        re.compile(
            r"\b(?:we|this (?:web)?site|our (?:web)?site) uses? cookies\b|"
            r"\bcookie (?:policy|settings|preferences|consent|notice|banner)\b|"
            r"^(?:accept|reject|allow)(?: all)?(?: cookies)?\s*$|"
            r"^manage (?:cookies|preferences)\s*$|\bcookies? (?:accepteren|instellingen)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "navigation",
        re.compile(
            r"^(?:home|menu|search|zoeken|skip to (?:main )?content|back to top|"
            r"next (?:article|story|post)|previous (?:article|story|post)|log ?in|sign in|"
            r"advertisement|advertentie|sponsored|comments?(?: \(\d+\))?|leave a (?:reply|comment)|"
            r"print this (?:article|page)|click here to .*)\s*[:»›>]?\s*$",
            re.IGNORECASE,
        ),
    ),
    (
        "breadcrumbs",
        re.compile(r"^home\s*(?:[>»›/|]\s*[^>»›/|]+){1,}$", re.IGNORECASE),
    ),
    (
        "byline",
        re.compile(
            r"^(?i:by|door|written by|posted by|text:?)\s+"
            r"[A-Z][\w.'’-]+(?:\s+(?:(?:de|van|der|den|von|la|le|du)\s+)*[A-Z][\w.'’-]+){0,3}"
            r"(?:\s*(?:[|·•–]|,\s*(?=\w+ \d|\d)).*)?$"
        ),
    ),
]

# Page furniture after the article: everything below these is other headlines.
TAIL_MARKERS = ("comment", "leave a reply")


@dataclass
class Dropped:
    """A line left out of the draft, and why."""

    number: int
    text: str
    reason: str


def noise_reason(line: Line, next_text: str | None = None) -> str | None:
    """Why ``line`` is page noise, or ``None`` when it is content."""
    if line.kind is not Kind.TEXT and line.kind is not Kind.BULLET:
        return None
    text = line.text
    if len(text) > MAX_NOISE_CHARS and not text.lower().startswith(("also read", "read also")):
        return None
    if next_text and _run_together_breadcrumbs(text, next_text):
        return "breadcrumbs"
    for reason, pattern in RULES:
        if pattern.search(text):
            return reason
    return None


def _run_together_breadcrumbs(text: str, following: str) -> bool:
    """``HomeTechnologyArtificial intelligenceChina advances …`` above ``China advances …``.

    A copied breadcrumb trail loses its separators and ends with the page's
    own headline, which the next line repeats.
    """
    return (
        len(text) > len(following) + 3
        and text.endswith(following)
        and re.match(r"^(?:Home|Start|Nieuws|News)[A-Z]", text) is not None
    )


def drop_noise(lines: list[Line], cut_tail: bool) -> tuple[list[Line], list[Dropped]]:
    """``lines`` without page noise, and what was dropped.

    With ``cut_tail`` (an article), a "Most Popular" or "Related" heading ends
    the story: what follows it is the page's list of other headlines.
    """
    kept: list[Line] = []
    dropped: list[Dropped] = []
    for i, line in enumerate(lines):
        following = lines[i + 1].text if i + 1 < len(lines) else None
        reason = noise_reason(line, following)
        if reason is None:
            kept.append(line)
            continue
        dropped.append(Dropped(line.number, line.raw.strip(), reason))
        ends_story = reason in ("most popular", "related") or (
            reason == "navigation" and line.text.lower().startswith(TAIL_MARKERS)
        )
        if cut_tail and ends_story:
            for rest in lines[i + 1 :]:
                dropped.append(Dropped(rest.number, rest.raw.strip(), f"after “{line.text}”"))
            break
    return kept, dropped
