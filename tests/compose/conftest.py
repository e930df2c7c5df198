"""Fixtures of the compose tests: the sample issues, composed once per session."""

from __future__ import annotations

import pytest
from composekit import ROOT, SAMPLES, sample_path

from mailer.compose import ComposedIssue, compose_issue
from mailer.config import Settings, load_settings
from mailer.content import Issue, load_issue


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
