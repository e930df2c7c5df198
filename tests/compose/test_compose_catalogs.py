"""Every user-visible template string is in the catalogs, translated into Dutch."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from mailer.content.languages import LOCALE_DIR, available_languages
from tests.support.paths import ROOT

METHOD_MAP = [("**.j2", "jinja2")]
OPTIONS = {
    "**.j2": {"extensions": "jinja2.ext.i18n", "trim_blocks": "True", "lstrip_blocks": "True"}
}


def template_messages() -> set[str]:
    found = extract_from_dir(str(ROOT / "templates"), METHOD_MAP, OPTIONS)
    return {msg if isinstance(msg, str) else msg[0] for _, _, msg, _, _ in found}


def catalog(lang: str) -> dict[str, str]:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return {str(m.id): str(m.string) for m in read_po(fh, locale=lang) if m.id}


def test_english_and_dutch_are_available() -> None:
    assert {"en", "nl"} <= set(available_languages())


def test_every_template_string_is_translated() -> None:
    used = template_messages()
    assert "Read more" in used and "Why this matters" in used
    for lang in ("en", "nl"):
        entries = catalog(lang)
        missing = used - set(entries)
        assert not missing, f"{lang}: not in the catalog (run pybabel update): {sorted(missing)}"
        untranslated = [m for m in used if not entries[m].strip()]
        assert not untranslated, f"{lang}: untranslated: {untranslated}"
    dutch = catalog("nl")
    assert all(dutch[m] != m for m in used), "a Dutch entry is still English"


def test_placeholders_survive_translation() -> None:
    for msgid, msgstr in catalog("nl").items():
        for name in ("%(name)s", "%(list)s", "%(source)s"):
            assert (name in msgid) == (name in msgstr), msgid
