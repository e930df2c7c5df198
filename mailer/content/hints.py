"""Warnings about a valid issue: things that work, but probably not as the editor meant.

Unlike problems, warnings never stop a check or a build. Each one names the
file and the line, so an editor can jump to it.
"""

from __future__ import annotations

from pathlib import Path

from mailer.content import markdown
from mailer.content.loader import ISSUE_FILE, display
from mailer.content.model import Feature, Issue
from mailer.content.problems import format_path
from mailer.errors import Problem

Loc = tuple[int | str, ...]


def issue_warnings(issue: Issue) -> list[Problem]:
    """Every warning about ``issue`` (today: raw HTML in its Markdown), in file order."""
    toml_path = issue.folder / ISSUE_FILE
    toml_lines = toml_path.read_text(encoding="utf-8-sig").splitlines()
    found: list[Problem] = []
    used: set[int] = set()
    texts: list[tuple[Loc, str | None, str | None]] = [
        (("intro",), issue.intro, issue.intro_file),
    ]
    for s, section in enumerate(issue.sections):
        for i, story in enumerate(section.stories):
            loc: Loc = ("sections", s, "stories", i)
            texts.append(((*loc, "body"), story.body, story.file))
            if isinstance(story, Feature):
                texts.append(((*loc, "teaser"), story.teaser, None))
                texts.append(((*loc, "why_it_matters"), story.why_it_matters, None))
    for loc, text, file in texts:
        if text:
            found.extend(_raw_html(issue.folder, toml_path, toml_lines, used, loc, text, file))
    return found


def _raw_html(
    folder: Path,
    toml_path: Path,
    toml_lines: list[str],
    used: set[int],
    loc: Loc,
    text: str,
    file: str | None,
) -> list[Problem]:
    out: list[Problem] = []
    lines = text.split("\n")
    for line, tag in markdown.raw_html(text):
        message = f"raw HTML {tag} is shown as text, not markup (write Markdown instead)"
        if file:
            out.append(Problem(f"{display(folder / file)}:{line}", "", message))
            continue
        where = _toml_line(toml_lines, lines[line - 1], used)
        if where:
            out.append(Problem(f"{display(toml_path)}:{where}", format_path(loc), message))
        else:
            # The text is written with TOML escapes, so its line is not in the
            # file verbatim: say which line of the text it is.
            out.append(
                Problem(display(toml_path), format_path(loc), f"line {line} of the text: {message}")
            )
    return out


def _toml_line(toml_lines: list[str], wanted: str, used: set[int]) -> int | None:
    """The first line of ``issue.toml`` not yet reported that holds the text line ``wanted``.

    Skipping reported lines keeps two stories with the same snippet apart.
    """
    wanted = wanted.strip()
    if not wanted:
        return None
    for number, line in enumerate(toml_lines, start=1):
        if number not in used and wanted in line:
            used.add(number)
            return number
    return None
