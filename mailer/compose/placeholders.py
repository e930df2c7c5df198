"""The per-recipient placeholders: the contract between compose and deliver.

Compose runs once per issue and leaves these tokens in the HTML and text;
delivery substitutes them per recipient with cheap string work (HTML-escaped in
the HTML part). ``%%`` never occurs in Markdown-rendered or escaped content,
so the tokens cannot collide with editor text.
"""

from __future__ import annotations

import re

UNSUBSCRIBE_URL = "%%unsubscribe_url%%"
PREFERENCES_URL = "%%preferences_url%%"
WEB_URL = "%%web_url%%"
SUBSCRIBER_NAME = "%%subscriber.name%%"
SUBSCRIBER_EMAIL = "%%subscriber.email%%"
ATTRIBUTE_PREFIX = "%%subscriber.attributes."

# Every placeholder, including ``%%subscriber.attributes.<key>%%``.
PATTERN = re.compile(r"%%(unsubscribe_url|preferences_url|web_url|subscriber\.[A-Za-z0-9_.-]+)%%")


def attribute(key: str) -> str:
    """The placeholder for a subscriber attribute."""
    return f"{ATTRIBUTE_PREFIX}{key}%%"
