"""Where things are: the checkout, the shipped samples, the test data, the screenshots."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
# Saved SES and SNS payloads (the events stage's fixtures, read by other stages too).
PAYLOADS = TESTS / "events" / "payloads"
# Screenshots from the browser tests: kept by CI, ignored by git.
ARTIFACTS = ROOT / "test-artifacts"
