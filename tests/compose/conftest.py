"""Fixtures of the compose tests: the sample issues, composed once per session; Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mailer.compose import ComposedIssue, compose_issue
from mailer.config import Settings, load_settings
from mailer.content import Issue, load_issue
from tests.support.compose import SAMPLES, sample_path
from tests.support.paths import ROOT
from tests.support.peers import chromium


@pytest.fixture(scope="session")
def sample_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings with an https base URL, the shipped templates and the sample issues."""
    folder = tmp_path_factory.mktemp("project")
    cfg = folder / "config.toml"
    cfg.write_text(
        f"""
[paths]
issues_dir = "{ROOT / "issues"}"
templates_dir = "{ROOT / "templates"}"
build_dir = "build"
[site]
base_url = "https://news.example.org"
secret_key = "test-secret-key-0123456789-abcdefghij"
""",
        encoding="utf-8",
    )
    return load_settings(cfg, environ={})


@pytest.fixture(scope="session")
def samples(sample_settings: Settings) -> dict[str, Issue]:
    return {slug: load_issue(sample_path(slug), sample_settings) for slug in SAMPLES}


@pytest.fixture(scope="session")
def composed(samples: dict[str, Issue], sample_settings: Settings) -> dict[str, ComposedIssue]:
    return {slug: compose_issue(issue, sample_settings) for slug, issue in samples.items()}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium, shared by a module's tests (skips without it, fails in CI)."""
    with chromium() as instance:
        yield instance
