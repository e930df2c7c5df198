"""Server-side SVG charts: a send's deliveries, bounces and complaints over time.

Rendered as inline SVG so the report page needs no JavaScript chart library.
Deliveries run to thousands while complaints stay in single digits, so the
chart has two panels with their own scales: deliveries on top, the problems
(bounces, complaints, unsubscribes) below. Lines are cumulative: the height at
any moment is the total so far, which is what an operator compares to limits.
Every series shares one bucket size, and axis labels are spaced by their
measured width, so they never overlap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from markupsafe import Markup, escape

WIDTH = 760
PANEL_HEIGHT = 150
LEFT, RIGHT, TOP, GAP, BOTTOM = 56, 16, 24, 46, 28


@dataclass(frozen=True)
class Panel:
    title: str
    lines: dict[str, list[int]]  # name -> count per bucket of ``times`` (not cumulative)


def nice_max(value: int) -> int:
    """The smallest 1, 2 or 5 x 10^k at or above ``value`` (at least 1)."""
    if value <= 1:
        return 1
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * exp >= value:
            return step * exp
    return 10 * exp


def grid_steps(peak: int) -> int:
    """How many gridlines divide ``peak`` into whole, equal steps (at most five)."""
    for steps in (4, 5, 2, 1):
        if steps <= peak and peak % steps == 0:
            return steps
    return 1


# Candidate distances between axis labels, in seconds, smallest first.
TICK_STEPS = [
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    86400,
    2 * 86400,
    7 * 86400,
    14 * 86400,
    28 * 86400,
]
CHAR_WIDTH = 7.0  # px per character of the 12 px axis font, a little generous
LABEL_GAP = 10.0  # px of air between two labels


def label_text(t: datetime, unit: str, span_seconds: float) -> str:
    """An axis label: the time of day for short spans, the date (and time) for longer ones."""
    if unit == "day":
        return t.strftime("%d %b")
    if span_seconds <= 36 * 3600:
        return t.strftime("%H:%M")
    return t.strftime("%d %b %H:%M")


def label_width(text: str) -> float:
    return len(text) * CHAR_WIDTH


def _cumulative(counts: Sequence[int]) -> list[int]:
    out, total = [], 0
    for n in counts:
        total += int(n)
        out.append(total)
    return out


def _ticks(start: datetime, end: datetime, unit: str, plot_w: float) -> list[datetime]:
    """Label times on round steps, far enough apart that no two labels overlap."""
    span = (end - start).total_seconds()
    if span <= 0:
        return [start]
    widest = max(label_width(label_text(t, unit, span)) for t in (start, end)) + LABEL_GAP
    minimum = 86400 if unit == "day" else 60
    step = next(
        (s for s in TICK_STEPS if s >= minimum and plot_w * s / span >= widest), TICK_STEPS[-1]
    )
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    k = -(-(start - midnight).total_seconds() // step)  # ceil: the first round time
    out, t = [], midnight + timedelta(seconds=k * step)
    while t <= end:
        out.append(t)
        t += timedelta(seconds=step)
    return out or [start]


def timeline(
    times: Sequence[datetime], panels: Sequence[Panel], title: str, unit: str = "minute"
) -> Markup:
    """An accessible SVG with one panel per ``Panel``.

    ``times`` are the bucket starts, as the axis should label them (the site's
    timezone); ``unit`` is the bucket size all series share.
    """
    height = TOP + len(panels) * (PANEL_HEIGHT + GAP) - GAP + BOTTOM
    plot_w = WIDTH - LEFT - RIGHT
    n = len(times)
    span = (times[-1] - times[0]).total_seconds() if n > 1 else 0.0
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]

    def x_at(i: int) -> float:
        # Placed by time, not by index: buckets with no activity are simply absent.
        if n < 2 or span <= 0:
            return LEFT + plot_w / 2
        return LEFT + plot_w * (times[i] - times[0]).total_seconds() / span

    for p, panel in enumerate(panels):
        top = TOP + p * (PANEL_HEIGHT + GAP)
        bottom = top + PANEL_HEIGHT
        series = {name: _cumulative(c) for name, c in panel.lines.items()}
        if "sent" in series and "delivered" in series:
            # Belt and braces: a message cannot be delivered before it is sent.
            series["delivered"] = [
                min(d, s) for d, s in zip(series["delivered"], series["sent"], strict=True)
            ]
        peak = nice_max(max((s[-1] for s in series.values() if s), default=0))
        parts.append(
            f'<text x="{LEFT}" y="{top - 8}" class="panel-title">{escape(panel.title)}</text>'
        )
        # Whole, equal steps, so each label sits exactly at its value's height.
        steps = grid_steps(peak)
        for k in range(steps + 1):
            value = peak * k // steps
            y = bottom - PANEL_HEIGHT * k / steps
            cls = "axis" if k == 0 else "grid"
            parts.append(
                f'<line class="{cls}" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            )
            parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{value:,}</text>')
        for name, values in series.items():
            if not values:
                continue
            points = " ".join(
                f"{x_at(i):.1f},{bottom - PANEL_HEIGHT * v / peak:.1f}"
                for i, v in enumerate(values)
            )
            parts.append(
                f'<polyline class="s-{escape(name)}" points="{points}" '
                f'data-values="{",".join(str(v) for v in values)}">'
                f"<title>{escape(name)}: {values[-1]:,}</title></polyline>"
            )
    if n:
        base = height - BOTTOM + 18
        for t in _ticks(times[0], times[-1], unit, plot_w):
            text = label_text(t, unit, span)
            x = LEFT + (plot_w * (t - times[0]).total_seconds() / span if span > 0 else plot_w / 2)
            half = label_width(text) / 2
            if x - half < 0 or x + half > WIDTH:
                continue  # would be cut off at the edge of the chart
            parts.append(
                f'<text class="tick" x="{x:.1f}" y="{base}" text-anchor="middle" '
                f'data-width="{2 * half:.0f}">{escape(text)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
