"""Which adbd port a new simulated phone gets: the simulator picks it, skipping
ports in use and the ports a caller's adb server still names (`avoid_ports`),
so a caller never has to choose one itself and race other simulators for it
(the TUI's S did: "address already in use" when another simulator on the
machine bound its port first)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from wgdroid.errors import UsageError
from wgdroid.sim.simulator import FIRST_PORT, Simulator


def test_pick_port_skips_avoided_used_and_bound_ports(tmp_path: Path) -> None:
    sim = Simulator(tmp_path)
    avoid = set(range(FIRST_PORT, FIRST_PORT + 10))
    first = sim.pick_port(None, avoid)
    assert first >= FIRST_PORT + 10
    # Bound by someone else meanwhile: the next pick goes past it. The test binds
    # the first port after `first` it can: the suite's other workers run
    # simulators on ports from FIRST_PORT too, so first + 1 may be theirs.
    with socket.socket() as other:
        theirs = first + 1
        while True:
            try:
                other.bind(("127.0.0.1", theirs))
                break
            except OSError:
                theirs += 1
        other.listen()
        second = sim.pick_port(None, avoid)
    # first is ours now, `theirs` the next free one: the pick skips both
    assert second not in avoid and second not in (first, theirs)

@pytest.mark.sim
def test_start_avoids_the_ports_asked(sim_state: Any, sim_phones: Any) -> None:
    avoid = list(range(FIRST_PORT, FIRST_PORT + 40))
    (phone,) = sim_phones(1, "pixel", avoid_ports=avoid)
    assert phone.port not in avoid and phone.serial == f"127.0.0.1:{phone.port}"
    with pytest.raises(UsageError, match="avoid_ports must be a list of port numbers"):
        sim_state.start(1, "pixel", avoid_ports=["15555"])
