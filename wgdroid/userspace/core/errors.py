"""Errors the core raises on configuration (never on packets: bad packets are dropped)."""

from __future__ import annotations

from wgdroid.errors import ConflictError, InvalidInputError


class CoreLimitError(ConflictError):
    """A configured table (peers, allowed IPs) is full."""


class CoreValueError(InvalidInputError):
    """A configuration value the protocol cannot use (wrong key length, bad interval)."""
