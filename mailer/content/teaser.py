"""Teasers: the opening of a story body, cut at a sentence end within a word budget.

The excerpt is always a prefix of the body's prose (paragraph by paragraph,
words separated by single spaces), so it can never split a word nor leave a
Markdown or HTML construct half open: it is built from text, not markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Lower-cased words that end in a full stop without ending a sentence.
_ABBREVIATIONS = """
    dr mr mrs ms prof st jr sr vs etc inc ltd co corp nos fig approx ca cf e.g i.e
    a.m p.m mt gen gov rep sen jan feb mar apr jun jul aug sep sept oct nov dec dhr mevr
    mw drs ir ing bijv o.a m.b.t nr blz zgn enz evt resp vnl ong
"""
ABBREVIATIONS = frozenset(_ABBREVIATIONS.split())

_CLOSERS = "\"'”’»)]*_"
_TERMINAL = re.compile(r"[.!?…]$")


def ends_sentence(word: str) -> bool:
    """Whether ``word`` closes a sentence (``word.`` but not ``Dr.`` or ``3.5``)."""
    core = word.rstrip(_CLOSERS)
    if not _TERMINAL.search(core):
        return False
    if core.endswith("."):
        stem = core[:-1].lstrip("(\"'“‘«").lower()
        if stem in ABBREVIATIONS:
            return False
        # Single initials ("J. Smith") rarely end a sentence.
        if len(stem) == 1 and stem.isalpha():
            return False
    return True


@dataclass(frozen=True)
class Excerpt:
    """A teaser cut from prose paragraphs."""

    paragraphs: list[str]
    complete: bool  # the whole body fits: nothing was cut
    mid_sentence: bool  # cut inside a sentence (shown with an ellipsis)

    @property
    def text(self) -> str:
        return " ".join(self.paragraphs)


def excerpt(paragraphs: list[str], budget: int) -> Excerpt:
    """Return the longest run of whole sentences from the start within ``budget`` words.

    When even the first sentence is longer than the budget, the whole first
    sentence is used if it is at most twice the budget; otherwise the text is
    cut after ``budget`` words (``mid_sentence``), never inside a word.
    """
    words: list[tuple[int, str]] = [
        (index, word) for index, para in enumerate(paragraphs) for word in para.split()
    ]
    total = len(words)
    if total <= budget:
        return Excerpt([" ".join(p.split()) for p in paragraphs if p.split()], True, False)
    boundaries: list[int] = []  # word counts after which a sentence ends
    for i, (para, word) in enumerate(words):
        last_in_para = i + 1 == total or words[i + 1][0] != para
        if last_in_para or ends_sentence(word):
            boundaries.append(i + 1)
    fitting = [b for b in boundaries if b <= budget]
    mid = False
    if fitting:
        cut = fitting[-1]
    elif boundaries[0] <= 2 * budget:
        cut = boundaries[0]
    else:
        cut, mid = budget, True
    out: list[list[str]] = []
    current = -1
    for para, word in words[:cut]:
        if para != current:
            out.append([])
            current = para
        out[-1].append(word)
    return Excerpt([" ".join(p) for p in out], cut == total, mid)
