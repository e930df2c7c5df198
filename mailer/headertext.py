"""Rules for text that ends up in a mail header: one line, no control characters.

Subjects, preheaders, sender and subscriber names and addresses are checked
with these where they enter mailer (``mailer check``, ``lists sync``,
``subscribers add``/import), so a bad value is refused with its file and field
long before a send; the MIME builder applies the same rule as a last guard.
"""

from __future__ import annotations

import re

# Every character some mail or text software treats as the end of a line:
# CR, LF, VT, FF, FS, GS, RS, NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR. All but
# the last two are C0/C1 controls, refused below anyway; they are listed so the
# message can say "line break" rather than "control character".
LINE_BREAKS = frozenset("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")

#: Longest display name put into a From, Reply-To or To header (characters).
MAX_DISPLAY_NAME = 200


def one_line_problem(text: str) -> str | None:
    """Why ``text`` cannot go into a header (a line break or control character), or None."""
    match = _UNSAFE.search(text)
    if match is None:
        return None
    ch = match.group()
    kind = "a line break" if ch in LINE_BREAKS else "a control character"
    return (
        f"must be one line of text: holds {kind} (U+{ord(ch):04X}) at character {match.start() + 1}"
    )
