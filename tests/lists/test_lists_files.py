"""List files: validation names file and field; sync creates and updates, never deletes."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailer.config import Settings
from mailer.db import Database
from mailer.db import subscribers as store
from mailer.errors import ValidationError
from mailer.lists.files import load_list_files, parse_list_file, sync_lists
from mailer.lists.people import add
from tests.support.lists import WEEKLY
from tests.support.paths import ROOT


def test_sample_lists_in_the_repository_are_valid() -> None:
    found = {lf.slug: lf for lf in load_list_files(ROOT / "lists", ROOT / "templates")}
    assert set(found) >= {"china-ai2x", "china-digest-nl"}
    assert found["china-ai2x"].double_opt_in is True
    assert found["china-ai2x"].name == "China AI2X Briefing"
    assert found["china-digest-nl"].language == "nl"
    assert found["china-ai2x"].welcome == "welcome/china-ai2x"
    assert found["china-digest-nl"].welcome == "welcome/china-digest-nl"


def test_parses_fields_and_defaults(lists_dir: Path) -> None:
    daily = parse_list_file(lists_dir / "daily.toml")
    assert daily.slug == "daily"
    assert daily.double_opt_in is False
    assert daily.reply_to == "" and daily.template == "default" and daily.description == ""


@pytest.mark.parametrize(
    ("replace", "field", "message"),
    [
        ('name = "Weekly Briefing"', "name", "required field is missing"),
        ("double_opt_in = true", "double_opt_in", "must be a bool"),
        ('from_email = "editors@example.org"', "from_email", "not a valid email"),
        ('language = "en"', "language", "unknown language"),
        ('template = "default"', "template", "template folder name"),
        ('reply_to = "reply@example.org"', "colour", "unknown field"),
    ],
)
def test_each_problem_names_file_and_field(
    lists_dir: Path, replace: str, field: str, message: str
) -> None:
    new = {
        "name": "",
        "double_opt_in": 'double_opt_in = "yes"',
        "from_email": 'from_email = "editors at example.org"',
        "language": 'language = "xx-nope"',
        "template": 'template = "../etc"',
        "colour": 'reply_to = "reply@example.org"\ncolour = "red"',
    }[field]
    path = lists_dir / "weekly.toml"
    path.write_text(WEEKLY.replace(replace, new), encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        parse_list_file(path)
    (problem,) = err.value.problems
    assert problem.file == str(path)
    assert problem.path == field
    assert message in problem.message


def test_all_problems_of_all_files_at_once(lists_dir: Path) -> None:
    (lists_dir / "weekly.toml").write_text('name = 3\nfrom_name = ""\n', encoding="utf-8")
    (lists_dir / "Bad Name.toml").write_text("this is = not toml =", encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        load_list_files(lists_dir)
    where = {(Path(p.file).name, p.path) for p in err.value.problems}
    assert ("Bad Name.toml", "") in where
    assert {
        ("weekly.toml", f) for f in ("name", "from_name", "from_email", "postal_address")
    } <= where


def test_sync_creates_updates_and_never_deletes(
    db: Database, settings: Settings, lists_dir: Path
) -> None:
    assert {(r.slug, r.action) for r in sync_lists(db, settings)} == {
        ("weekly", "created"),
        ("daily", "created"),
    }
    add(db, settings, "daily", "kept@example.org")
    (lists_dir / "daily.toml").unlink()
    weekly = lists_dir / "weekly.toml"
    weekly.write_text(WEEKLY.replace("Weekly Briefing", "Monday Briefing"), encoding="utf-8")
    assert {(r.slug, r.action) for r in sync_lists(db, settings)} == {("weekly", "updated")}
    assert [r.action for r in sync_lists(db, settings)] == ["unchanged"]
    with db.session() as s:
        assert store.get_list(s, "weekly").name == "Monday Briefing"
        assert store.count_subscriptions(s, store.get_list(s, "daily").id) == {"active": 1}


def test_unknown_template_is_a_problem(db: Database, settings: Settings, lists_dir: Path) -> None:
    weekly = lists_dir / "weekly.toml"
    weekly.write_text(
        WEEKLY.replace('template = "default"', 'template = "fancy"'), encoding="utf-8"
    )
    with pytest.raises(ValidationError) as err:
        sync_lists(db, settings)
    (problem,) = err.value.problems
    assert (problem.file, problem.path) == (str(weekly), "template")
    assert "no template 'fancy'" in problem.message


def test_bad_file_changes_nothing(db: Database, settings: Settings, lists_dir: Path) -> None:
    (lists_dir / "zzz.toml").write_text('name = "Z"\n', encoding="utf-8")
    with pytest.raises(ValidationError):
        sync_lists(db, settings)
    with db.session() as s:
        assert store.all_lists(s) == []


def test_cli_sync_and_table(mailer_cli, lists_db: Database) -> None:
    result = mailer_cli("lists", "sync")
    assert result.exit_code == 0, result.output
    assert "weekly: unchanged" in result.output
    assert mailer_cli("subscribers", "add", "a@example.org", "--list", "weekly").exit_code == 0
    table = mailer_cli("lists")
    assert table.exit_code == 0, table.output
    line = next(ln for ln in table.output.splitlines() if "weekly" in ln)
    assert [c.strip() for c in line.split("│") if c.strip()][2:] == ["1", "0", "0", "0", "1"]


def test_cli_sync_prints_every_problem(mailer_cli, db: Database, lists_dir: Path) -> None:
    (lists_dir / "weekly.toml").write_text('name = "W"\n', encoding="utf-8")
    result = mailer_cli("lists", "sync")
    assert result.exit_code == 1
    assert "Error: " in result.output
    assert "weekly.toml: from_email: required field is missing" in result.output
    assert "weekly.toml: postal_address: required field is missing" in result.output


@pytest.mark.parametrize(
    "brk",
    [
        "\\n",
        "\\r",
        "\\u2028",
        "\\u2029",
        "\\u0085",
        "\\u000b",
        "\\f",
        "\\u001c",
        "\\u001d",
        "\\u001e",
        "\\u0000",
    ],
)
def test_header_fields_must_be_one_line(
    db: Database, settings: Settings, lists_dir: Path, brk: str
) -> None:
    evil = f"Hi{brk}Bcc: x@evil.example"
    path = lists_dir / "weekly.toml"
    path.write_text(
        WEEKLY.replace('name = "Weekly Briefing"', f'name = "{evil}"')
        .replace('from_name = "The Editors"', f'from_name = "{evil}"')
        .replace('reply_to = "reply@example.org"', f'reply_to = "r{brk}@example.org"')
        .replace('from_email = "editors@example.org"', f'from_email = "e{brk}@example.org"'),
        encoding="utf-8",
    )
    with pytest.raises(ValidationError) as err:
        sync_lists(db, settings)
    found = {p.path: p.message for p in err.value.problems if p.file == str(path)}
    assert set(found) == {"name", "from_name", "from_email", "reply_to"}
    assert all(m.startswith("must be one line of text: holds a") for m in found.values())
    with db.session() as s:
        assert store.all_lists(s) == []
