"""The simulated rooted phone: `Simulator` (in-process), `SimClient` (the daemon)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wgdroid.sim.client import SimClient
    from wgdroid.sim.simulator import Simulator

__all__ = ["SimClient", "Simulator"]


def __getattr__(name: str) -> Any:
    # Lazy: importing wgdroid.sim must stay cheap for the CLI.
    if name == "Simulator":
        from wgdroid.sim.simulator import Simulator

        return Simulator
    if name == "SimClient":
        from wgdroid.sim.client import SimClient

        return SimClient
    raise AttributeError(name)
