"""Turn a composed email into what the preview iframes show.

The composed HTML still holds the per-recipient placeholders delivery fills;
the preview fills them with a sample reader. The dark view applies the
email's own ``prefers-color-scheme: dark`` rules unconditionally, which is
what Apple Mail and other clients that honour them display in dark mode.
"""

from __future__ import annotations

import html as htmlmod
import re

from mailer.compose import placeholders

SAMPLE = {
    "unsubscribe_url": "#unsubscribe",
    "preferences_url": "#preferences",
    "subscriber.name": "Alex Reader",
    "subscriber.email": "alex.reader@example.org",
}
_DARK_MEDIA = re.compile(r"@media[^{]*prefers-color-scheme\s*:\s*dark[^{]*\{", re.I)


def fill_placeholders(text: str, web_url: str, escape: bool) -> str:
    """Replace every delivery placeholder with a sample value (HTML-escaped if ``escape``)."""

    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "web_url":
            out = web_url
        elif key.startswith("subscriber.attributes."):
            out = ""
        else:
            out = SAMPLE.get(key, "")
        return htmlmod.escape(out) if escape else out

    return placeholders.PATTERN.sub(value, text)


def has_dark_rules(html: str) -> bool:
    return bool(_DARK_MEDIA.search(html))


def dark_variant(html: str) -> str:
    """``html`` with its dark-mode media blocks always on and a dark colour scheme."""
    out: list[str] = []
    pos = 0
    for match in _DARK_MEDIA.finditer(html):
        if match.start() < pos:
            continue
        # Find the brace closing this @media block, and keep only its body.
        depth, i = 1, match.end()
        while i < len(html) and depth:
            if html[i] == "{":
                depth += 1
            elif html[i] == "}":
                depth -= 1
            i += 1
        out.append(html[pos : match.start()])
        out.append(html[match.end() : i - 1])
        pos = i
    out.append(html[pos:])
    result = "".join(out)
    style = "<style>:root{color-scheme:dark}</style>"
    head = re.search(r"<head[^>]*>", result, re.I)
    if head:
        return result[: head.end()] + style + result[head.end() :]
    return style + result


def frame_document(html: str, web_url: str, dark: bool, draft_url: str = "") -> str:
    """The document one preview iframe loads: sample values, links open in a new tab.

    Links into the issue's public web version (``web_url``: "view in browser",
    "Read more" to a story page) go to ``draft_url`` instead when given: an
    issue is published only once sent, and the editor wants to read it now.
    """
    doc = fill_placeholders(html, web_url, escape=True)
    if draft_url:
        doc = doc.replace(f'href="{htmlmod.escape(web_url)}', f'href="{htmlmod.escape(draft_url)}')
    if dark:
        doc = dark_variant(doc)
    base = '<base target="_blank">'
    head = re.search(r"<head[^>]*>", doc, re.I)
    return doc[: head.end()] + base + doc[head.end() :] if head else base + doc
