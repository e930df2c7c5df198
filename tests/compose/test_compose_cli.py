"""``mailer check``, ``mailer build`` and ``mailer schema``."""

from __future__ import annotations

import json
import re
from pathlib import Path

from mailer.config import Settings
from tests.support.compose import ENGLISH, SAMPLES, sample_path


def test_check_ok_by_slug_and_path(mailer_cli) -> None:
    for ref in (ENGLISH, str(sample_path(ENGLISH)), str(sample_path(ENGLISH) / "issue.toml")):
        result = mailer_cli("check", ref)
        assert result.exit_code == 0, result.output
        assert result.output.strip().endswith("issue.toml: ok")


def test_check_prints_every_problem_and_fails(mailer_cli, tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "issue.toml").write_text(
        'title = 3\ndate = 2026-01-01\n[newsletter]\nname = "N"\nwebsite = "http://x.org"\n'
        '[[sections]]\n[[sections.stories]]\nhedline = "H"\nbody = "B"\n',
        encoding="utf-8",
    )
    result = mailer_cli("check", str(folder))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert any(
        line.endswith("issue.toml: title: must be text in quotes (got a number)") for line in lines
    )
    assert any("newsletter.website: must use https://" in line for line in lines)
    assert any(
        'sections[0].stories[0].hedline: unknown key "hedline"; did you mean "headline"?' in line
        for line in lines
    )
    assert any("sections[0].stories[0].headline: is required" in line for line in lines)
    assert lines[-1].startswith("Error: 4 problems in ")


def test_check_unknown_issue(mailer_cli) -> None:
    result = mailer_cli("check", "no-such-issue")
    assert result.exit_code == 1
    assert "Error: no issue 'no-such-issue'" in result.output


def test_build_writes_email_text_and_web_pages(mailer_cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = mailer_cli("build", ENGLISH, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert (out / "email.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "WHY THIS MATTERS" in (out / "email.txt").read_text(encoding="utf-8")
    pages = sorted(p.relative_to(out / "web").as_posix() for p in (out / "web").rglob("*.html"))
    assert "index.html" in pages and len(pages) == 6
    assert "built ai2x-briefing-2026-01-12 into" in result.output


def test_build_defaults_to_the_build_dir(mailer_cli, settings: Settings) -> None:
    for slug in SAMPLES:
        result = mailer_cli("build", slug)
        assert result.exit_code == 0, result.output
        assert (settings.path(settings.paths.build_dir) / slug / "email.html").is_file()


def test_build_prints_lint_warnings(mailer_cli, config_file: Path) -> None:
    config_file.write_text(
        config_file.read_text(encoding="utf-8").replace(
            'base_url = "https://news.example.org"', 'base_url = "http://localhost:8000"'
        ),
        encoding="utf-8",
    )
    result = mailer_cli("build", ENGLISH)
    assert result.exit_code == 0, result.output
    assert (
        "warning: 5 links to http://localhost:8000 are not https [insecure-link]" in result.output
    )


def test_build_fails_on_lint_errors_and_writes_nothing(
    mailer_cli, tmp_path: Path, config_file: Path
) -> None:
    templates = tmp_path / "tpl" / "default"
    templates.mkdir(parents=True)
    (templates / "email.mjml.j2").write_text(
        '<mjml lang="{{ issue.language }}"><mj-body><mj-section><mj-column><mj-text>'
        '<a href="/relative">{{ issue.title }}</a>'
        "</mj-text></mj-column></mj-section></mj-body></mjml>",
        encoding="utf-8",
    )
    (templates / "email.txt.j2").write_text("{{ issue.title }}\n", encoding="utf-8")
    text = config_file.read_text(encoding="utf-8")
    text = re.sub(r'templates_dir = ".*"', f'templates_dir = "{tmp_path / "tpl"}"', text)
    config_file.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = mailer_cli("build", ENGLISH, "--out", str(out))
    assert result.exit_code == 1, result.output
    assert (
        "error: link '/relative' is relative; mail needs absolute URLs [relative-link]"
        in result.output
    )
    assert "error: no unsubscribe link" in result.output
    assert "Error: 2 lint errors; nothing written" in result.output
    assert not out.exists()


def test_build_reports_validation_problems(mailer_cli, tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "issue.toml").write_text("title = \n", encoding="utf-8")
    result = mailer_cli("build", str(folder))
    assert result.exit_code == 1
    assert "not valid TOML" in result.output
    assert "Error: 1 problem in " in result.output


def test_schema_is_json_schema_of_the_model(mailer_cli) -> None:
    result = mailer_cli("schema")
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert set(schema["required"]) == {"newsletter", "title", "date", "sections"}
    assert schema["additionalProperties"] is False
