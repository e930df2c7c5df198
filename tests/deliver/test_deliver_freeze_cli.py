"""`mailer check --list`, warnings before `send`, `sends show` and `sends refreeze`."""

from __future__ import annotations

import shutil
from pathlib import Path

from mailer.config import Settings
from mailer.db import Database
from mailer.db import subscribers as store
from tests.support.paths import ROOT

SAMPLE = "ai2x-briefing-2026-01-12"


def _list(db: Database, slug: str, language: str, name: str) -> None:
    with db.session() as s:
        store.upsert_list(
            s,
            slug,
            {"name": name, "description": "", "from_name": name, "from_email": "n@example.org",
             "reply_to": "", "language": language, "template": "default",
             "double_opt_in": False, "postal_address": "Street 1, Brussels"},
        )  # fmt: skip


def test_scheduled_send_is_frozen_visibly(
    mailer_cli, db: Database, settings: Settings, config_file: Path, tmp_path: Path
) -> None:
    issues = tmp_path / "own-issues"
    shutil.copytree(ROOT / "issues" / SAMPLE, issues / SAMPLE)
    config_file.write_text(
        config_file.read_text().replace(f'"{ROOT / "issues"}"', f'"{issues}"'), encoding="utf-8"
    )
    _list(db, "briefing", "en", "China AI2X Briefing")
    _list(db, "dutch", "nl", "Nieuwsbrief")
    r = mailer_cli("check", SAMPLE, "--list", "dutch")
    assert r.exit_code == 0, r.output
    assert "warning: the issue is in 'en' but list 'dutch' is in 'nl'" in r.output
    assert "newsletter name 'China AI2X Briefing'" in r.output
    r = mailer_cli("check", SAMPLE, "--list", "briefing")
    assert r.exit_code == 0 and "warning" not in r.output
    r = mailer_cli("send", SAMPLE, "--list", "dutch", "--at", "2099-01-01 08:00", "--tz", "UTC")
    assert r.exit_code == 0, r.output
    assert "warning: the issue is in 'en'" in r.output and "scheduled" in r.output
    shown = mailer_cli("sends", "show", "1").output
    assert "scheduled: 2099-01-01 09:00:00 CET (UTC+01:00)" in shown
    assert "content frozen: " in shown and "changed since" not in shown
    toml = issues / SAMPLE / "issue.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace('subject = "AI', 'subject = "New: AI'), "utf-8"
    )
    shown = mailer_cli("sends", "show", "1").output
    assert "the issue's files changed since this send was frozen" in shown
    assert "subject: “AI to everything" in shown and "“New: AI to everything" in shown
    assert "mailer sends refreeze 1" in shown
    r = mailer_cli("sends", "refreeze", "1")
    assert r.exit_code == 0 and "re-frozen: subject 'New: AI to everything" in r.output
    assert "changed since" not in mailer_cli("sends", "show", "1").output
    mailer_cli("sends", "cancel", "1")
    r = mailer_cli("sends", "refreeze", "1")
    assert r.exit_code == 1 and "can no longer change" in r.output
