"""CSV cells that spreadsheets read as text, never as formulas.

Excel, LibreOffice and Google Sheets evaluate a cell that starts with ``=``,
``+``, ``-`` or ``@`` (and, after trimming, tab or CR) as a formula, so a
subscriber named ``=HYPERLINK(…)`` could run something on the machine of
whoever opens an export (OWASP "CSV injection"). Every CSV mailer writes goes
through :func:`cell`, which puts an apostrophe in front of such a value: the
spreadsheet shows the text as written and hides the apostrophe.

Values that already start with apostrophes before one of those characters
get one more, so :func:`uncell` (used when an export is imported again) gives
back exactly the original text.
"""

from __future__ import annotations

import re

_TRIGGER = re.compile("'*[=+\\-@\t\r]")
_FIRST = frozenset("'=+-@\t\r")


def cell(value: object) -> str:
    """``value`` as CSV cell text that no spreadsheet evaluates."""
    text = "" if value is None else str(value)
    # The first-character test keeps the common case (a million-row export) cheap.
    if text and text[0] in _FIRST and _TRIGGER.match(text):
        return "'" + text
    return text


def uncell(text: str) -> str:
    """The original value of a cell written by :func:`cell`."""
    return text[1:] if text.startswith("'") and _TRIGGER.match(text, 1) else text
