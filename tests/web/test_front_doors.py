"""The CLI and the editors' forms refuse the same input with the same words.

Both doors call the deliver stage (``sends.test_addresses``,
``freeze.compose_for_list``); each only adds its own frame: the CLI its flag
(``Error: --test-to: …``), the web its flash (``Test not sent: …``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markupsafe import escape
from starlette.testclient import TestClient

from mailer.config import Settings
from mailer.deliver import sends
from mailer.errors import MailerError
from tests.support.web import SAMPLE, admin_csrf, post_schedule

ELEVEN = ", ".join(f"qa{i}@example.org" for i in range(11))


def _refusal(raw: str) -> str:
    with pytest.raises(MailerError) as caught:
        sends.test_addresses(raw)
    return caught.value.message


def _outbox(settings: Settings) -> list[Path]:
    folder = settings.path(settings.delivery.outbox_dir)
    return sorted(folder.rglob("*.eml")) if folder.exists() else []


@pytest.mark.parametrize(
    "raw",
    ["not-an-address", "ed@example.org, chief@", "  ,  ", ELEVEN, "ed@example.org\rBcc: x@y.org"],
)
def test_both_doors_refuse_the_same_test_addresses(
    editor: TestClient,
    mailer_cli,
    settings: Settings,
    raw: str,
) -> None:
    message = _refusal(raw)
    cli = mailer_cli("send", SAMPLE, "--list", "news", "--test-to", raw)
    assert cli.exit_code == 1
    assert f"Error: --test-to: {message}" in cli.output

    token = admin_csrf(editor, f"/admin/issues/{SAMPLE}")
    r = editor.post(
        f"/admin/issues/{SAMPLE}/test",
        data={"addresses": raw, "list": "news", "csrf_token": token},
    )
    assert r.status_code == 303
    assert str(escape(f"Test not sent: {message}")) in editor.get(r.headers["location"]).text
    assert _outbox(settings) == []


def test_both_doors_accept_the_same_test_addresses(
    editor: TestClient,
    mailer_cli,
    settings: Settings,
) -> None:
    raw = "ed@EXAMPLE.org; chief@example.org"
    assert sends.test_addresses(raw) == ["ed@example.org", "chief@example.org"]
    cli = mailer_cli("send", SAMPLE, "--list", "news", "--test-to", raw)
    assert cli.exit_code == 0, cli.output
    assert "sent to ed@example.org, chief@example.org" in cli.output
    token = admin_csrf(editor, f"/admin/issues/{SAMPLE}")
    r = editor.post(
        f"/admin/issues/{SAMPLE}/test",
        data={"addresses": raw, "list": "news", "csrf_token": token},
    )
    assert "Test copy sent to 2 addresses." in editor.get(r.headers["location"]).text
    assert len(_outbox(settings)) == 4


def test_both_doors_refuse_an_issue_with_lint_errors(
    editor: TestClient,
    mailer_cli,
    settings: Settings,
    own_issues: Path,
) -> None:
    templates = own_issues.parent / "tpl" / "default"
    templates.mkdir(parents=True)
    (templates / "email.mjml.j2").write_text(
        '<mjml lang="en"><mj-body><mj-section><mj-column><mj-text>'
        '<a href="/relative">{{ issue.title }}</a>'
        "</mj-text></mj-column></mj-section></mj-body></mjml>",
        encoding="utf-8",
    )
    (templates / "email.txt.j2").write_text("{{ issue.title }}\n", encoding="utf-8")
    settings.paths.templates_dir = str(own_issues.parent / "tpl")
    config = settings.base_dir / "config.toml"  # the CLI's view of the same project
    text = re.sub(r'issues_dir = ".*"', f'issues_dir = "{own_issues}"', config.read_text("utf-8"))
    text = re.sub(r'templates_dir = ".*"', f'templates_dir = "{templates.parent}"', text)
    config.write_text(text, encoding="utf-8")
    expected = f"issue {SAMPLE!r} does not pass lint, not sending: "

    cli = mailer_cli("send", SAMPLE, "--list", "news", "--at", "2099-11-24 08:00")
    assert cli.exit_code == 1
    assert f"Error: {expected}" in cli.output and "'/relative' is relative" in cli.output

    r = post_schedule(editor)
    assert r.headers["location"] == f"/admin/issues/{SAMPLE}"
    page = editor.get(r.headers["location"]).text
    assert str(escape(f"Not scheduled: {expected}")) in page
    assert "/relative" in page
