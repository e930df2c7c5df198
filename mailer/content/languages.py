"""The languages an issue may be written in: those with a template catalog."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
SOURCE_LANGUAGE = "en"


@lru_cache(maxsize=1)
def available_languages() -> tuple[str, ...]:
    """Language codes with a ``mailer/locale/<lang>/LC_MESSAGES/messages.po`` (plus English)."""
    found = {SOURCE_LANGUAGE}
    if LOCALE_DIR.is_dir():
        for po in LOCALE_DIR.glob("*/LC_MESSAGES/messages.po"):
            found.add(po.parent.parent.name)
    return tuple(sorted(found))


def catalog_language(code: str) -> str | None:
    """The catalog serving ``code`` ("nl-BE" -> "nl"), or None when there is none."""
    langs = available_languages()
    if code in langs:
        return code
    primary = code.split("-")[0].lower()
    return primary if primary in langs else None
