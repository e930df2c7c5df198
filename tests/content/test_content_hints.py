"""Warnings about valid issues: raw HTML in Markdown (file and line); teasers that are not prose."""

from __future__ import annotations

from pathlib import Path

from mailer.config import Settings
from mailer.content import check_issue, load_issue
from mailer.content.hints import issue_warnings
from tests.support.content import MINIMAL, WriteIssue

STORY_FILE = """\
# A heading

An opening paragraph.

<div class="box">
Boxed text.
</div>

Then a line with <b>bold</b> inside,
and on the next line <span>more</span>.
"""

INLINE = (
    MINIMAL.replace(
        'body = "Something happened. Then more happened."',
        'body = """\nFirst line.\nSecond line with <em>raw</em> emphasis.\n"""',
    )
    + """
[[sections.stories]]
headline = "From a file"
file = "stories/boxed.md"
"""
)


def test_raw_html_in_a_story_file_is_a_warning_with_its_line(
    write_issue: WriteIssue, settings: Settings
) -> None:
    folder = write_issue(INLINE, **{"stories__boxed.md": STORY_FILE})
    # Warnings do not make the issue invalid.
    assert check_issue(folder, settings) == []
    warnings = [str(w) for w in issue_warnings(load_issue(folder, settings))]
    story = str(folder / "stories" / "boxed.md")
    assert f'{story}:5: raw HTML <div class="box"> is shown as text' in "\n".join(warnings)
    assert any(w.startswith(f"{story}:9: raw HTML <b>") for w in warnings)
    assert any(w.startswith(f"{story}:10: raw HTML <span>") for w in warnings)


def test_raw_html_in_an_inline_body_names_the_issue_toml_line(
    write_issue: WriteIssue, settings: Settings
) -> None:
    folder = write_issue(INLINE, **{"stories__boxed.md": "Plain text only.\n"})
    [warning] = issue_warnings(load_issue(folder, settings))
    toml_lines = (folder / "issue.toml").read_text(encoding="utf-8").splitlines()
    line = next(n for n, text in enumerate(toml_lines, 1) if "<em>raw</em>" in text)
    assert str(warning) == (
        f"{folder / 'issue.toml'}:{line}: sections[0].stories[0].body: raw HTML <em> is "
        "shown as text, not markup (write Markdown instead)"
    )


def test_markdown_that_only_looks_like_html_is_no_warning(
    write_issue: WriteIssue, settings: Settings
) -> None:
    body = "Prices fell 3 < 5 > 2 and <https://example.org> is an autolink. `<b>` is code."
    folder = write_issue(MINIMAL.replace("Something happened. Then more happened.", body))
    assert issue_warnings(load_issue(folder, settings)) == []


def test_a_teaser_with_a_table_or_list_is_a_problem(
    write_issue: WriteIssue, settings: Settings
) -> None:
    toml = MINIMAL.replace(
        'body = "Something happened. Then more happened."',
        'body = "Something happened."\nteaser = """\n- one\n- two\n\n| a |\n| - |\n| b |\n"""',
    )
    [problem] = check_issue(write_issue(toml), settings)
    assert problem.path == "sections[0].stories[0].teaser"
    assert problem.message == "a teaser is running text: it must not contain a list or a table"


def test_check_prints_warnings_and_still_passes(
    mailer_cli, write_issue: WriteIssue, tmp_path: Path
) -> None:
    folder = write_issue(INLINE, **{"stories__boxed.md": STORY_FILE})
    result = mailer_cli("check", str(folder))
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert sum(line.startswith("warning: ") for line in lines) == 4
    assert lines[-1].endswith("issue.toml: ok (4 warnings)")
