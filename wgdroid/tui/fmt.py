"""Formatting for the tables (pure): sizes, rates and ages come from
wgdroid.humanize, shared with the CLI."""

from __future__ import annotations

from wgdroid.humanize import age, duration, rate, size

__all__ = ["STALE_HANDSHAKE", "age", "duration", "is_stale", "rate", "short_key", "size"]

STALE_HANDSHAKE = 180  # seconds: the app and wg call a session stale after 3 min


def is_stale(seconds: int | None) -> bool:
    return seconds is not None and seconds > STALE_HANDSHAKE


def short_key(key: str) -> str:
    """A public key shortened for a table cell (public keys only)."""
    return key if len(key) <= 12 else key[:8] + "…"
