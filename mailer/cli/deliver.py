"""CLI commands of the deliver stage."""

from __future__ import annotations

import click

commands: list[click.Command] = []
