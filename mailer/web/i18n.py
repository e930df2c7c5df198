"""Subscriber pages in the list's language.

The public pages (subscribe, confirm, unsubscribe, preferences) speak the
language of the list they belong to, from a small Babel catalog of their own:
``mailer/web/locale/<lang>/LC_MESSAGES/web.po``, read at run time like the
email templates' catalogs (no compiled ``.mo`` to build). Editor and operator
pages are in English.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.support import NullTranslations

from mailer.compose.i18n import read_translations

LOCALE_DIR = Path(__file__).resolve().parent / "locale"


def catalog_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / "web.po"


@lru_cache(maxsize=16)
def translations(language: str) -> NullTranslations:
    """Translations for ``language`` ("nl", "nl-BE"); English and unknown ones use the msgids."""
    code = language.split("-")[0].lower()
    return read_translations(catalog_path(code), code)
