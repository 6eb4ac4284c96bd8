"""Human forms of sizes, rates and ages: one formatter for the CLI and the TUI
(pure, no Textual)."""

from __future__ import annotations

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")
NONE = "—"  # unknown


def size(n: float | None) -> str:
    """`1023 B`, `1.50 KiB`, ... `3.00 TiB`."""
    if n is None:
        return NONE
    value = float(n)
    for unit in _UNITS[:-1]:
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1024
    return f"{value:.2f} {_UNITS[-1]}"


def rate(n: float | None) -> str:
    return NONE if n is None else size(n) + "/s"


def age(seconds: int | None) -> str:
    """`12s ago`, `3m 04s ago`, `2h 05m ago`, or `never`."""
    if seconds is None:
        return "never"
    return duration(seconds) + " ago"


def duration(seconds: int | None) -> str:
    """`45s`, `3m 04s`, `2h 05m`, `1d 03h`."""
    if seconds is None:
        return NONE
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600:02d}h"
