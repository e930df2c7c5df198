"""Times as people read them: in the site's timezone, with the offset spelled out.

Timestamps are stored as naive UTC; every page and command that shows one to
a person goes through :func:`local_time`, so "09:00" is never ambiguous.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def utcnow() -> datetime:
    """The current time as naive UTC, the way every timestamp is stored."""
    return datetime.now(UTC).replace(tzinfo=None)


def zone(name: str) -> ZoneInfo:
    """The timezone ``name``, or UTC when it is unknown (a bad setting must not break pages)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def to_local(when: datetime, zone_name: str) -> datetime:
    """Naive UTC ``when`` as an aware time in ``zone_name``."""
    return when.replace(tzinfo=UTC).astimezone(zone(zone_name))


def offset(local: datetime) -> str:
    """``UTC+01:00`` for an aware time."""
    text = local.strftime("%z") or "+0000"
    return f"UTC{text[:3]}:{text[3:]}"


def local_time(when: datetime | None, zone_name: str, seconds: bool = False) -> str:
    """``2026-11-24 09:00 CET (UTC+01:00)``; ``–`` for no time."""
    if when is None:
        return "–"
    local = to_local(when, zone_name)
    shape = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return f"{local.strftime(shape)} {local.tzname()} ({offset(local)})"
