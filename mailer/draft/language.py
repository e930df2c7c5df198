"""Which language a draft is written in, told by lingua from the text itself."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from mailer.content.languages import available_languages

# The languages told apart: enough to notice that a text is not in one of the
# languages we have template strings for, few enough that their models load
# quickly (each language adds to the first detection's time; CJK ones most).
CANDIDATES = ("ENGLISH", "DUTCH", "GERMAN", "FRENCH", "SPANISH", "ITALIAN")
SAMPLE_CHARS = 4000
# From this length on, lingua's low-accuracy mode (trigrams only) is as sure
# as the full one and loads in milliseconds instead of most of a second.
LONG_TEXT = 400


@lru_cache(maxsize=2)
def _detector(low_accuracy: bool) -> Any:
    from lingua import Language, LanguageDetectorBuilder

    languages = [getattr(Language, name) for name in CANDIDATES]
    builder = LanguageDetectorBuilder.from_languages(*languages)
    return (builder.with_low_accuracy_mode() if low_accuracy else builder).build()


def detect(text: str) -> str | None:
    """The ISO 639-1 code of ``text``'s language (``"en"``, ``"nl"``), or None if unsure."""
    sample = text[:SAMPLE_CHARS]
    if len(sample.split()) < 3:
        return None
    found = _detector(len(sample) >= LONG_TEXT).detect_language_of(sample)
    if found is None:
        return None
    return str(found.iso_code_639_1.name).lower()


def choose(text: str, given: str | None) -> tuple[str, str | None]:
    """The issue's language and, when it is not what was detected or given, why.

    Only languages with template strings can be written (``mailer check``
    refuses others); a text in another language is drafted as English and
    the note says so.
    """
    if given:
        return given, None
    found = detect(text)
    if found is None:
        return "en", "could not tell the language; wrote en; choose the language"
    if found not in available_languages():
        return "en", (
            f"the text looks like {found}, which has no template strings "
            f"({', '.join(available_languages())}); wrote en; choose the language"
        )
    return found, None
