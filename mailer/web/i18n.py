"""Subscriber pages in the list's language.

The public pages (subscribe, confirm, unsubscribe, preferences) speak the
language of the list they belong to, from a small Babel catalog of their own:
``mailer/web/locale/<lang>/LC_MESSAGES/web.po``, read at run time like the
email templates' catalogs (no compiled ``.mo`` to build). Editor and operator
pages are in English.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent / "locale"


def catalog_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / "web.po"


@lru_cache(maxsize=16)
def translations(language: str) -> NullTranslations:
    """Translations for ``language`` ("nl", "nl-BE"); English and unknown ones use the msgids."""
    code = language.split("-")[0].lower()
    po = catalog_path(code)
    if not po.is_file():
        return NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=code)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf)
