"""CLI commands of the events stage."""

from __future__ import annotations

import click

commands: list[click.Command] = []
