"""Messages speak the domain; the CLI and the web app add their own hints.

Code outside ``mailer/cli/`` does not write command-line wording (a flag,
a ``mailer …`` command) into the strings it shows: an error carries a
``Hint`` and a ``field``, which ``mailer.cli.hints`` words as flags and
commands and ``mailer.web.pages`` as the web app's own controls.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import mailer
from mailer.cli.hints import FLAGS, HINTS, error_line
from mailer.errors import ConflictError, Hint, MailerError
from mailer.web import pages

ROOT = Path(mailer.__file__).resolve().parent
CLI_WORDING = re.compile(
    r"(?<![\w-])--[a-z][a-z-]+"  # a flag
    r"|`mailer [a-z]"  # a command in backquotes
    r"|\bmailer (?:db|lists|sends?|subscribers|ses|worker|report|events|users|serve|draft|"
    r"check|build|doctor|queue|config|schema)\b"
)
# Where CLI words are still written outside mailer/cli/ (not yet given a Hint).
# Only shrink this list.
KNOWN = {
    ("config.py", "`mailer build`"),  # settings' own help, printed by the sample config
    ("config.py", "`mailer doctor`"),
    ("config.py", "`mailer serve`"),
    ("config.py", "`mailer users hash`"),
    ("draft/__init__.py", "--newsletter"),
    ("draft/writer.py", "`mailer draft`"),  # a comment written into the drafted file
    ("draft/writer.py", "--force"),
    ("reports/__init__.py", "--recipients"),
    ("doctor/lists.py", "`mailer report"),  # doctor's fixes, shown by both
    ("doctor/settings.py", "`mailer serve`"),
    ("doctor/domains.py", "`mailer ses status`"),
    ("doctor/domains.py", "--email-identity"),  # an aws CLI command, not ours
    ("doctor/ses.py", "`mailer doctor`"),
    ("doctor/ses.py", "`mailer ses setup`"),
}


def _strings(tree: ast.AST) -> list[str]:
    """Every string constant that is not a docstring (f-string parts included)."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def cli_wording(root: Path) -> set[tuple[str, str]]:
    """(module path, CLI words) for each string outside ``cli/`` that writes CLI wording."""
    found = set()
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(("cli/", "migrations/")):
            continue
        for text in _strings(ast.parse(path.read_text(encoding="utf-8"))):
            for match in CLI_WORDING.finditer(text):
                found.add((rel, _known_form(rel, text, match.group(0))))
    return found


def _known_form(rel: str, text: str, hit: str) -> str:
    for module, words in KNOWN:
        if module == rel and words in text:
            return words
    return hit


def test_domain_messages_name_no_command_or_flag() -> None:
    found = cli_wording(ROOT)
    new = found - KNOWN
    assert not new, f"CLI wording outside mailer/cli/ (give the error a Hint): {sorted(new)}"
    assert not KNOWN - found, f"gone, take them off KNOWN: {sorted(KNOWN - found)}"


def test_the_wording_check_finds_a_flag_and_a_command(tmp_path: Path) -> None:
    (tmp_path / "deliver").mkdir()
    (tmp_path / "deliver" / "x.py").write_text(
        '"""Docstrings may say `mailer send --at`."""\n'
        'A = f"{1}; use --again to send it once more"\n'
        'B = "run `mailer lists sync` first"\n',
        encoding="utf-8",
    )
    assert cli_wording(tmp_path) == {("deliver/x.py", "--again"), ("deliver/x.py", "`mailer l")}


@pytest.mark.parametrize("hint", list(Hint))
def test_the_cli_words_every_hint_and_the_web_none_as_a_command(hint: Hint) -> None:
    exc = MailerError("no list 'weekly'", hint=hint)
    assert error_line(exc) == "no list 'weekly'" + HINTS[hint]
    assert CLI_WORDING.search(HINTS[hint])
    assert not CLI_WORDING.search(pages.error_text(exc))


def test_a_field_is_a_flag_on_the_cli_and_a_label_on_the_web() -> None:
    exc = MailerError("unknown timezone 'Mars/Olympus'", field="timezone")
    assert error_line(exc) == f"{FLAGS['timezone']}: unknown timezone 'Mars/Olympus'"
    assert pages.error_text(exc) == "timezone: unknown timezone 'Mars/Olympus'"
    when = MailerError("2001-01-01 08:00 (UTC) is in the past", field="when")
    assert error_line(when) == "--at: 2001-01-01 08:00 (UTC) is in the past"
    assert pages.error_text(when) == "2001-01-01 08:00 (UTC) is in the past"


def test_an_already_sent_issue_names_each_front_doors_control() -> None:
    exc = ConflictError("issue 'x' already went to list 'weekly'", hint=Hint.SEND_AGAIN)
    assert error_line(exc).endswith("; use --again to send it once more")
    assert pages.error_text(exc).endswith('; tick "Send again" to send it once more')
    assert "again" not in exc.message
