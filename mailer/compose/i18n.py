"""Template strings in the issue's language, from the Babel catalogs.

Catalogs are plain ``.po`` files under ``mailer/locale``; they are read at run
time and turned into gettext translations in memory, so no compiled ``.mo``
has to be built or committed.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from mailer.content.languages import LOCALE_DIR, catalog_language


@lru_cache(maxsize=16)
def translations(language: str) -> NullTranslations:
    """The gettext translations for ``language`` (English falls back to the msgids)."""
    code = catalog_language(language)
    if code is None:
        return NullTranslations()
    return read_translations(LOCALE_DIR / str(code) / "LC_MESSAGES" / "messages.po", str(code))


def read_translations(po: Path, code: str) -> NullTranslations:
    """Gettext translations straight from a ``.po`` file (none: the msgids are used).

    Compiled in memory, so no ``.mo`` file has to be built or committed.
    """
    if not po.is_file():
        return NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=code)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf)


def long_date(value: object, language: str) -> str:
    """A date the way the language writes it: "January 12, 2026", "12 januari 2026"."""
    return format_date(value, format="long", locale=_locale(language))  # type: ignore[arg-type]


@lru_cache(maxsize=16)
def _locale(language: str) -> Locale:
    try:
        return Locale.parse(language.replace("-", "_"))
    except (ValueError, LookupError):
        return Locale.parse("en")
