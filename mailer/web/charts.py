"""Server-side SVG charts: a send's deliveries, bounces and complaints over time.

Rendered as inline SVG so the report page needs no JavaScript chart library.
Deliveries run to thousands while complaints stay in single digits, so the
chart has two panels with their own scales: deliveries on top, the problems
(bounces, complaints, unsubscribes) below. Lines are cumulative: the height at
any moment is the total so far, which is what an operator compares to limits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

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


def _label(t: datetime, span_seconds: float) -> str:
    if span_seconds <= 36 * 3600:
        return t.strftime("%H:%M")
    return t.strftime("%d %b %H:%M")


def _cumulative(counts: Sequence[int]) -> list[int]:
    out, total = [], 0
    for n in counts:
        total += int(n)
        out.append(total)
    return out


def timeline(times: Sequence[datetime], panels: Sequence[Panel], title: str) -> Markup:
    """An accessible SVG with one panel per ``Panel``; ``times`` are the bucket starts (UTC)."""
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
                f'<polyline class="s-{escape(name)}" points="{points}">'
                f"<title>{escape(name)}: {values[-1]:,}</title></polyline>"
            )
    if n:
        base = height - BOTTOM + 18
        ticks = sorted({0, n // 2, n - 1}) if n > 2 else list(range(n))
        for i in ticks:
            anchor = "start" if i == 0 else ("end" if i == n - 1 and n > 1 else "middle")
            parts.append(
                f'<text x="{x_at(i):.1f}" y="{base}" text-anchor="{anchor}">'
                f"{escape(_label(times[i], span))}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))
