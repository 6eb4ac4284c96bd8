"""Human formatting of sizes, rates and ages for the tables (pure)."""

from __future__ import annotations

STALE_HANDSHAKE = 180  # seconds: the app and wg call a session stale after 3 min

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def size(n: float | None) -> str:
    if n is None:
        return "—"
    value = float(n)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1024
    return f"{value:.2f} TiB"  # unreachable, keeps mypy happy


def rate(n: float | None) -> str:
    return "—" if n is None else size(n) + "/s"


def age(seconds: int | None) -> str:
    """`12s ago`, `3m 04s ago`, `2h 05m ago`, or `never`."""
    if seconds is None:
        return "never"
    return duration(seconds) + " ago"


def duration(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600:02d}h"


def is_stale(seconds: int | None) -> bool:
    return seconds is not None and seconds > STALE_HANDSHAKE


def short_key(key: str) -> str:
    """A public key shortened for a table cell (public keys only)."""
    return key if len(key) <= 12 else key[:8] + "…"
