"""The published JSON Schema agrees with the validator on real and broken issues."""

from __future__ import annotations

import tomllib
from pathlib import Path

import jsonschema
import pytest

from mailer.content import Brief, Feature, Issue, issue_schema
from tests.support.paths import ROOT

SAMPLES = sorted((ROOT / "issues").glob("*/issue.toml"))


def test_there_are_three_samples() -> None:
    assert len(SAMPLES) == 3


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.parent.name)
def test_samples_match_the_schema(path: Path) -> None:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    data["date"] = data["date"].isoformat()  # JSON has no date type
    jsonschema.validate(data, issue_schema())


def test_schema_refuses_unknown_keys_and_missing_fields() -> None:
    validator = jsonschema.Draft202012Validator(issue_schema())
    bad = {
        "title": "t",
        "date": "2026-01-01",
        "newsletter": {"name": "n"},
        "sections": [{"stories": [{"headline": "h", "hedline": "x"}]}],
        "extra": 1,
    }
    messages = " ".join(e.message for e in validator.iter_errors(bad))
    assert "'extra'" in messages


def test_schema_lists_every_model_field() -> None:
    schema = issue_schema()
    assert set(schema["properties"]) == set(Issue.model_fields)
    defs = schema["$defs"]
    assert set(defs["Feature"]["properties"]) == set(Feature.model_fields)
    assert set(defs["Brief"]["properties"]) == set(Brief.model_fields)
