"""Does an issue fit the list it goes to? Its language and newsletter name against the list's.

An issue written for one edition and sent to another goes out under the
list's sender name and in the list's name: readers would get the wrong
language, or a newsletter they did not sign up for under a familiar name.
These are warnings, not errors: sending one issue to two lists is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ListFacts:
    """What the check needs from a list."""

    slug: str
    name: str
    from_name: str
    language: str


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def list_warnings(language: str, newsletter: str, lst: ListFacts) -> list[str]:
    """One line per way the issue (``language``, ``newsletter`` name) differs from ``lst``."""
    out = []
    if lst.language and _norm(language) != _norm(lst.language):
        out.append(f"the issue is in {language!r} but list {lst.slug!r} is in {lst.language!r}")
    if newsletter and _norm(newsletter) not in (_norm(lst.name), _norm(lst.from_name)):
        out.append(
            f"the issue's newsletter name {newsletter!r} is not list {lst.slug!r}'s "
            f"({lst.name!r}, sent from {lst.from_name!r})"
        )
    return out
