"""CLI commands of the lists stage."""

from __future__ import annotations

import click

commands: list[click.Command] = []
