"""The site key: generated when unset, refused when unusable, rotated without breaking links."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from mailer import links
from mailer.config import Settings, load_settings
from mailer.db import Database
from mailer.deliver.tokens import LinkSigner
from mailer.errors import ConfigError, InvalidToken
from mailer.keys import key_file, site_key, site_keys
from tests.support.paths import ROOT

OLD_KEY = "old-key-that-signed-last-years-mail-0123456789"


def _unset(settings: Settings) -> Settings:
    settings.site.secret_key = None
    return settings


def test_the_shipped_config_holds_no_key() -> None:
    shipped = load_settings(ROOT / "config.toml", environ={})
    assert shipped.site.secret_key is None
    assert shipped.site.previous_secret_keys == []


def test_a_key_is_generated_once_readable_by_its_owner_only(settings: Settings) -> None:
    _unset(settings)
    path = key_file(settings)
    assert not path.exists()
    key = site_key(settings)
    assert path == settings.path("var") / "secret_key" and path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) >= 43 and path.read_text().strip() == key  # 48 random bytes, base64
    # Another process (a fresh settings object) finds the same key.
    again = load_settings(settings.base_dir / "config.toml", environ={})
    again.site.secret_key = None
    assert site_key(again) == key
    token = links.make_token(settings, "unsubscribe", "news", "a" * 64)
    assert links.read_token(again, "unsubscribe", token).list_slug == "news"


def test_a_key_file_others_can_read_is_refused(settings: Settings) -> None:
    _unset(settings)
    path = key_file(settings)
    path.parent.mkdir(parents=True)
    path.write_text("x" * 48 + "\n")
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        site_key(settings)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "site.secret_key is empty"),
        ("   ", "site.secret_key is empty"),
        ("change-me-in-production", "published placeholder"),
        ("CHANGEME", "published placeholder"),
        ("test-secret-key-0123456789", "26 characters long: use at least 32"),
    ],
)
def test_unusable_configured_keys_are_refused(settings: Settings, value: str, message: str) -> None:
    settings.site.secret_key = SecretStr(value)
    with pytest.raises(ConfigError, match=message):
        site_key(settings)
    with pytest.raises(ConfigError, match=message):
        links.make_token(settings, "unsubscribe", "news", "a" * 64)
    with pytest.raises(ConfigError, match=message):
        LinkSigner(settings, "unsubscribe")


def test_previous_keys_must_be_usable_too(settings: Settings) -> None:
    settings.site.previous_secret_keys = [SecretStr("change-me-in-production")]
    with pytest.raises(ConfigError, match=r"site\.previous_secret_keys\[0\]"):
        site_keys(settings)


def test_rotation_keeps_old_links_working(settings: Settings) -> None:
    settings.site.secret_key = SecretStr(OLD_KEY)
    old_unsub = LinkSigner(settings, "unsubscribe").token("news", "b" * 64)
    old_confirm = links.make_confirm_token(settings, "news", "b" * 64)
    settings.site.secret_key = SecretStr("the-new-key-after-rotation-0123456789abcdef")
    # Without the old key, last year's links are refused…
    with pytest.raises(InvalidToken):
        links.read_token(settings, "unsubscribe", old_unsub)
    # …with it, they still work, and new links are signed with the new key only.
    settings.site.previous_secret_keys = [SecretStr(OLD_KEY)]
    assert links.read_token(settings, "unsubscribe", old_unsub).email_hash == "b" * 64
    assert links.read_confirm_token(settings, old_confirm).list_slug == "news"
    new = links.make_token(settings, "unsubscribe", "news", "b" * 64)
    settings.site.previous_secret_keys = []
    assert links.read_token(settings, "unsubscribe", new).list_slug == "news"
    settings.site.secret_key = SecretStr(OLD_KEY)
    with pytest.raises(InvalidToken):
        links.read_token(settings, "unsubscribe", new)


def _placeholder(config_file: Path) -> None:
    text = config_file.read_text(encoding="utf-8")
    config_file.write_text(
        text.replace(
            'secret_key = "test-secret-key-0123456789-abcdefghij"',
            'secret_key = "change-me-in-production"',
        ),
        encoding="utf-8",
    )


@pytest.mark.parametrize(
    "args",
    [
        ("worker", "--once"),
        ("send", "ai2x-briefing-2026-01-12", "--list", "weekly"),
        ("send", "ai2x-briefing-2026-01-12", "--list", "weekly", "--test-to", "me@example.org"),
        ("sends", "resume", "1"),
        ("sends", "retry", "1", "--failed"),
        ("serve", "--port", "1"),
        ("subscribers", "add", "a@example.org", "--list", "weekly", "--send-confirmation"),
    ],
)
def test_every_signing_command_refuses_a_placeholder_key(
    mailer_cli,
    config_file: Path,
    settings: Settings,
    db: Database,
    args: tuple[str, ...],
) -> None:
    _placeholder(config_file)
    result = mailer_cli(*args)
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == [
        "Error: site.secret_key is a published placeholder: set a random value"
    ]
