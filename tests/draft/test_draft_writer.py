"""The TOML the draft writes: any text survives the round trip, and writes are whole."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailer.draft.writer import comment, toml_string, toml_text, write
from mailer.errors import ConflictError

TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=200)


@given(TEXT)
def test_one_line_strings_round_trip(value: str) -> None:
    assert tomllib.loads(f"v = {toml_string(value)}")["v"] == value


@given(TEXT)
def test_multi_line_strings_round_trip(value: str) -> None:
    value = value.replace("\r", "")  # TOML normalises CRLF inside multi-line strings
    parsed = tomllib.loads(f"v = {toml_text(value)}")["v"]
    assert parsed == value + "\n"


@given(TEXT)
def test_comments_stay_comments(value: str) -> None:
    assert tomllib.loads(f"#   {comment(value)}\nv = 1\n") == {"v": 1}


def test_write_swaps_the_folder_whole(tmp_path: Path) -> None:
    out = tmp_path / "issues" / "weekly"
    write({"issue.toml": "a = 1\n", "stories/x.md": "x\n"}, out)
    with pytest.raises(ConflictError, match="already exists"):
        write({"issue.toml": "a = 2\n"}, out)
    assert (out / "issue.toml").read_text() == "a = 1\n"
    write({"issue.toml": "a = 2\n"}, out, force=True)
    assert sorted(p.name for p in out.rglob("*")) == ["issue.toml"]
    assert (out / "issue.toml").read_text() == "a = 2\n"
    assert [p.name for p in out.parent.iterdir()] == ["weekly"]  # no staging left behind
