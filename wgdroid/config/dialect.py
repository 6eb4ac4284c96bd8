"""Which wg-quick reads a config: the one Dialect enum (light: the device
layer imports it on every operation; the per-key rules are in keyspec)."""

from __future__ import annotations

from enum import StrEnum


class Dialect(StrEnum):
    """Which wg-quick reads a config (also what a phone was seen to have)."""

    ANDROID = "android"  # wireguard-tools' android.c, as on phones
    LINUX = "linux"  # wireguard-tools' bash wg-quick
    NONE = "none"  # no wg-quick at all (a phone without one): no dialect's rules
