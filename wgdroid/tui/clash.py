"""The ListenPort clash check the TUI runs before bringing a tunnel up (pure)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wgdroid.device.status import DeviceStatus


def port_clash(name: str, port: int | None, status: DeviceStatus | None) -> str | None:
    """The up tunnel other than `name` already listening on `port`, or None.

    Two interfaces can't bind one UDP port: wg-quick would fail half-way."""
    if not port or status is None:
        return None
    for iface in status.interfaces:
        if iface.name != name and iface.listen_port == port:
            return iface.name
    return None


def explain(name: str, port: int, other: str) -> str:
    return (
        f"{name} listens on UDP port {port}, which {other} (up) already uses: "
        f"both can't be up at once. Bring {other} down and {name} up?"
    )
