"""``mailer draft`` on the command line: files, stdin, what it prints, --force."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from tests.support.draft import INPUTS, seed


def test_draft_prints_what_it_recognised(mailer_cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "issues" / "weekly"
    result = mailer_cli("draft", str(seed(1)), "--out", str(out), "--newsletter", "Watch")
    assert result.exit_code == 0, result.output
    assert ": article" in result.output
    assert "feature: China advances in 6G and AI+ industrial innovation" in result.output
    assert "(also read): Also Read: Can new productive forces" in result.output
    assert "(most popular): Most Popular" in result.output
    assert (out / "issue.toml").is_file()
    assert mailer_cli("check", str(out)).exit_code == 0


def test_draft_from_stdin_with_options(mailer_cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "issues" / "digest"
    text = (INPUTS / "digest_english.txt").read_text(encoding="utf-8")
    result = mailer_cli(
        "draft",
        "-",
        "--out",
        str(out),
        "--date",
        "2026-02-02",
        "--language",
        "nl",
        "--shape",
        "digest",
        input=text,
    )
    assert result.exit_code == 0, result.output
    data = tomllib.loads((out / "issue.toml").read_text(encoding="utf-8"))
    assert data["language"] == "nl"
    assert data["date"].isoformat() == "2026-02-02"
    assert [s["label"] for s in data["sections"]] == ["Chips", "Cars", "Payments"]
    assert data["sections"][0]["stories"][2]["source"] == "AP, Bloomberg"


def test_draft_never_overwrites_without_force(mailer_cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "issues" / "weekly"
    out.mkdir(parents=True)
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    result = mailer_cli("draft", str(seed(0)), "--out", str(out))
    assert result.exit_code == 1
    assert "already exists; use --force" in result.output
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    forced = mailer_cli("draft", str(seed(0)), "--out", str(out), "--force")
    assert forced.exit_code == 0, forced.output
    assert not (out / "notes.txt").exists()
    assert (out / "intro.md").is_file()


def test_unplaced_lines_are_kept_in_a_comment(mailer_cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "issues" / "space"
    result = mailer_cli("draft", str(INPUTS / "briefing_unplaced.txt"), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "unplaced: You are receiving this briefing" in result.output
    toml = (out / "issue.toml").read_text(encoding="utf-8")
    block = toml.split("# unplaced:", 1)[1]
    assert "#   You are receiving this briefing because you asked for it" in block
    assert "#   section without stories: Satellites" in block
    tomllib.loads(toml)  # still valid TOML: the block is comments


def test_newsletter_table_is_copied_from_an_earlier_issue(mailer_cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "issues" / "next"
    result = mailer_cli(
        "draft", str(seed(0)), "--out", str(out), "--newsletter", "China AI2X Briefing"
    )
    assert result.exit_code == 0, result.output
    data = tomllib.loads((out / "issue.toml").read_text(encoding="utf-8"))
    assert data["newsletter"]["accent_color"] == "#b4232a"
    assert "copied from issue ai2x-briefing-2026-01-12" in result.output


def test_bad_input_is_one_clear_line(mailer_cli: Any, tmp_path: Path) -> None:
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("Caf\xe9 news\nA story.\n".encode("latin-1"))
    result = mailer_cli("draft", str(bad), "--out", str(tmp_path / "x"))
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {bad}: not UTF-8 text (byte 3)"
    missing = mailer_cli("draft", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "x"))
    assert "no such file" in missing.output
    assert not (tmp_path / "x").exists()
    date = mailer_cli("draft", str(seed(0)), "--out", str(tmp_path / "x"), "--date", "monday")
    assert date.exit_code == 2 and "must be a date like 2026-01-31" in date.output
