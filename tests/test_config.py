"""Settings layering: defaults < config.toml < MAILER_* variables."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailer.cli import cli
from mailer.config import SECTIONS, load_settings
from mailer.errors import ConfigError
from tests.support.paths import ROOT


def test_file_then_environment(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[database]\nurl = "sqlite:///x.db"\n[delivery]\nbatch_size = 50\n')
    s = load_settings(cfg, environ={"MAILER_DELIVERY_BATCH_SIZE": "75"})
    assert s.delivery.batch_size == 75  # env beats file
    assert s.database_url == f"sqlite:///{tmp_path / 'x.db'}"  # anchored at the file
    s2 = load_settings(cfg, environ={"MAILER_EVENTS_TOPIC_ARNS": "arn:a, arn:b"})
    assert s2.events.topic_arns == ["arn:a", "arn:b"]


def test_unknown_setting_is_named(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[delivery]\nbatchsize = 5\n")
    with pytest.raises(ConfigError, match=r"delivery\.batchsize: unknown setting"):
        load_settings(cfg, environ={})


def test_bad_value_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./config.toml: defaults, then the variable
    with pytest.raises(ConfigError, match=r"delivery\.batch_size"):
        load_settings(environ={"MAILER_DELIVERY_BATCH_SIZE": "lots"})


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.toml", environ={})


def test_reference_config_documents_every_setting() -> None:
    text = (ROOT / "config.toml").read_text()
    settings = load_settings(ROOT / "config.toml", environ={})
    for section, model in SECTIONS.items():
        assert f"[{section}]" in text
        for name, field in model.model_fields.items():
            # A setting with no default is shown commented out.
            pattern = rf"^{name} = " if field.default is not None else rf"^(# )?{name} = "
            assert re.search(pattern, text, re.M), f"{section}.{name} undocumented"
            assert field.description, f"{section}.{name} has no description"
    assert settings.delivery.transport == "outbox"


def test_cli_config_masks_secrets(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[site]\nsecret_key = "supersecretvalue-0123456789abcdefgh"\n')
    result = CliRunner().invoke(cli, ["--config", str(cfg), "config"])
    assert result.exit_code == 0
    assert "supersecretvalue" not in result.output
    assert '"secret_key": "********"' in result.output


def test_cli_bad_config_is_one_line_error(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[site\n")
    result = CliRunner().invoke(cli, ["--config", str(cfg), "config"])
    assert result.exit_code == 2
    assert result.output.startswith("Error: ") and "not valid TOML" in result.output
    assert "Traceback" not in result.output
