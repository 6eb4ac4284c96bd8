"""Formatting for the tables (pure): sizes, rates and ages come from
wgdroid.humanize, shared with the CLI."""

from __future__ import annotations

from collections.abc import Sequence

from wgdroid.humanize import NONE, age, duration, rate, size

__all__ = ["NONE", "STALE_HANDSHAKE", "age", "duration", "is_stale", "rate", "short_key",
           "size", "spark"]

STALE_HANDSHAKE = 180  # seconds: the app and wg call a session stale after 3 min


def is_stale(seconds: int | None) -> bool:
    return seconds is not None and seconds > STALE_HANDSHAKE


def short_key(key: str) -> str:
    """A public key shortened for a table cell (public keys only)."""
    return key if len(key) <= 12 else key[:8] + "…"


_BARS = "▁▂▃▄▅▆▇█"


def spark(values: Sequence[float], width: int) -> str:
    """The last `width` values as bars scaled from zero (not from the smallest
    value: a steady trickle must not look like a full link); zero is blank."""
    shown = list(values)[-width:] if width > 0 else []
    top = max(shown, default=0.0)
    if top <= 0:
        return " " * len(shown)
    return "".join(" " if v <= 0 else _BARS[min(len(_BARS) - 1, int(v / top * len(_BARS)))]
                   for v in shown)
