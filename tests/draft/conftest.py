"""Fixtures of the draft tests: the seed texts and the raw inputs in this folder."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
SEEDS = HERE / "seeds"
INPUTS = HERE / "inputs"
