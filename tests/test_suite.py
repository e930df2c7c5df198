"""The test suite itself: it carries everything it reads."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent

# Spelled in pieces so that this file does not match itself.
_SHARED = "sha" + "red"
OUTSIDE_PATHS = re.compile(
    "|".join(
        [
            rf"\.\./{_SHARED}",  # the folder beside the checkout
            rf"/work/{_SHARED}",
            "aws-ses-" + "examples",
            rf"[\"']{_SHARED}[\"']\s*/",  # a path built from its name
        ]
    ).encode()
)


def test_no_test_reads_the_shared_folder_beside_the_checkout() -> None:
    """Fixtures live in tests/: a suite that reads a folder next to the checkout
    skips (or fails) everywhere that folder is missing, CI included."""
    offenders = []
    for path in sorted(TESTS.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        for number, line in enumerate(path.read_bytes().splitlines(), 1):
            if OUTSIDE_PATHS.search(line):
                offenders.append(f"{path.relative_to(TESTS.parent)}:{number}")
    assert offenders == []


def test_the_pattern_catches_every_spelling() -> None:
    for spelling in (
        "Path('..') / '" + _SHARED + "' / 'x'",
        "../" + _SHARED + "/aws-ses-" + "examples",
        "/work/" + _SHARED + "/STYLE.md",
        'ROOT.parent / "' + _SHARED + '" / "seeds"',
    ):
        assert OUTSIDE_PATHS.search(spelling.encode()), spelling
    assert not OUTSIDE_PATHS.search(b"Test kits shared by more than one stage's tests.")
