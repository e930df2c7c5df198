"""A list's health at a glance: bounce and complaint rates over its recent sends.

What the lists page shows beside each list: the first warning of its list
report when there is one, otherwise the rates of its last few started sends.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailer.db import Database
from mailer.reports import list_report

RECENT_SENDS = 5


@dataclass(frozen=True)
class Health:
    """One list's health: ``level`` ok or warning, a short label, and the detail."""

    level: str
    label: str
    detail: str


def list_health(db: Database, slug: str, recent: int = RECENT_SENDS) -> Health | None:
    """The health of list ``slug`` over its ``recent`` latest sends; None before any started."""
    # Bounces and complaints only: no need to classify opens and clicks.
    found = list_report(db, slug, limit=recent, engagement=False)
    started = [r for r in found.sends if r.started_at is not None]
    if not started:
        return None
    if found.warnings:
        return Health("warning", "needs attention", found.warnings[0])
    sent = sum(r.counts.get("sent", 0) for r in started)
    bounced = sum(r.counts.get("bounced", 0) for r in started)
    complained = sum(r.counts.get("complained", 0) for r in started)
    detail = (
        f"last {len(started)} send{'s' if len(started) != 1 else ''}: "
        f"{bounced / sent if sent else 0:.1%} bounces, "
        f"{complained / sent if sent else 0:.2%} complaints"
    )
    return Health("ok", "healthy", detail)


def lists_health(db: Database, slugs: list[str]) -> dict[str, Health]:
    """:func:`list_health` of each list in ``slugs`` that has started sends."""
    out: dict[str, Health] = {}
    for slug in slugs:
        health = list_health(db, slug)
        if health is not None:
            out[slug] = health
    return out
