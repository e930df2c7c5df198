"""CLI commands of the compose stage."""

from __future__ import annotations

import click

commands: list[click.Command] = []
