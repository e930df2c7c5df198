"""A send's activity over time: what its chart draws.

Every series (sent, delivered, bounced, complained, unsubscribed) comes from
the send's outbox rows with one bucket size, chosen from the span of the
activity, and is counted in the site's timezone: a day is the site's day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from mailer import clock
from mailer.db import Database
from mailer.db import reports as store

UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
SERIES = ("sent", "delivered", "bounced", "complained", "unsubscribed")


def chart_unit(start: datetime, end: datetime) -> str:
    """The one bucket size for every series, from the span of the send's activity."""
    span = end - start
    if span <= timedelta(hours=3):
        return "minute"
    if span <= timedelta(days=3):
        return "hour"
    return "day"


@dataclass(frozen=True)
class Activity:
    """Counts per bucket of each series, buckets starting at ``times`` (site's timezone)."""

    unit: str
    times: list[datetime]
    lines: dict[str, list[int]]


def send_activity(
    db: Database, send_id: int, started: datetime | None, zone: str
) -> Activity | None:
    """The send's activity per bucket in timezone ``zone``, or None before it has any.

    The first bucket is one before the first activity, with nothing in it, so
    a send that fits in one bucket still draws a rising line, not a dot.
    """
    if started is None:
        return None
    with db.session() as session:
        first, last = store.activity_span(session, send_id)
        if first is None or last is None:
            return None
        unit = chart_unit(min(first, started), last)
        # Days follow the site's calendar: bucket by hour in SQL, then by local day here.
        raw = store.send_activity(session, send_id, "hour" if unit == "day" else unit)
    series: dict[str, dict[datetime, int]] = {name: {} for name in SERIES}
    for name in SERIES:
        for at, n in raw[name].items():
            local = clock.to_local(at, zone)
            if unit == "day":
                local = local.replace(hour=0, minute=0, second=0, microsecond=0)
            series[name][local] = series[name].get(local, 0) + n
    times = sorted({t for points in series.values() for t in points})
    if not times:
        return None
    times.insert(0, times[0] - UNITS[unit])
    return Activity(unit, times, {name: [series[name].get(t, 0) for t in times] for name in SERIES})
