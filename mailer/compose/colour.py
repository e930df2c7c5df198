"""Colour arithmetic for templates: tints and WCAG contrast.

An issue's accent colour is the editor's choice; these functions derive the
colours that stay readable from it (a soft tint for light backgrounds, a
lighter shade for dark mode) instead of trusting every brand colour to work
on every background.
"""

from __future__ import annotations

# The dark-mode backgrounds of the default template (page, card, "Why this
# matters" box): accent-coloured text must be readable on each.
DARK_BACKGROUNDS = ("#111418", "#1c2128", "#262c35")
# WCAG 2 AA for body text, with a little room so browsers' rounding of
# blended colours never takes a pair below it.
READABLE = 4.5
_MARGIN = 0.2


def rgb(color: str) -> tuple[int, int, int]:
    """``#rrggbb`` as three 0-255 integers."""
    return (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16))


def hex_colour(channels: tuple[int, int, int] | list[int]) -> str:
    return "#" + "".join(f"{c:02x}" for c in channels)


def mix(color: str, other: str, amount: float) -> str:
    """``color`` moved ``amount`` (0-1) of the way towards ``other``."""
    a, b = rgb(color), rgb(other)
    return hex_colour([round(x + (y - x) * amount) for x, y in zip(a, b, strict=True)])


def tint(color: str, amount: float = 0.9) -> str:
    """``color`` mixed with white (``amount`` of white), for soft backgrounds."""
    return mix(color, "#ffffff", amount)


def luminance(color: str) -> float:
    """WCAG relative luminance of ``#rrggbb`` (0 black, 1 white)."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two colours, from 1 (same) to 21 (black on white)."""
    hi, lo = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def readable_on(color: str, backgrounds: tuple[str, ...], ratio: float = READABLE) -> str:
    """``color``, lightened just enough to reach ``ratio`` on every one of ``backgrounds``.

    Used for dark mode, so the backgrounds are dark and lightening always
    gets there (white reaches at least 14:1 on each of them).
    """
    target = ratio + _MARGIN
    for step in range(101):
        candidate = mix(color, "#ffffff", step / 100)
        if all(contrast(candidate, bg) >= target for bg in backgrounds):
            return candidate
    return "#ffffff"
