"""The contract between the simulator's ADB side (`wgdroid.sim.adb`) and its
phone side (`wgdroid.sim.phone`).

The ADB side speaks the transport protocol to the real adb server and turns
each stream into processes started *inside* the phone through `PhoneRuntime`.
It never touches the phone's files directly: the `sync:` service is a process
too (`python3 -m wgdroid.sim.adb.syncd`, which reads the sync protocol on
stdin), so every file operation runs with the phone's uid, mounts and
permissions, exactly like adbd.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

SHELL_UID = 2000  # adbd's uid on a user build
ROOT_UID = 0


@dataclass(frozen=True)
class PhoneIdentity:
    """What the CNXN banner tells the adb server (values must not hold '=', ';' or ':')."""

    product_name: str
    model: str
    device: str


@dataclass
class StreamCounters:
    """Streams served per service, for measuring control-plane round trips."""

    counts: dict[str, int] = field(default_factory=dict)

    def bump(self, service: str) -> None:
        self.counts[service] = self.counts.get(service, 0) + 1


class SpawnedProcess(Protocol):
    pid: int

    async def wait(self) -> int:
        """Exit status as a shell reports it: the code, or 128 + signal number."""
        ...

    def kill(self) -> None:
        """End the process and its children at once (a service of the
        simulator's own, e.g. syncd, whose stream the host closed)."""
        ...

    def hangup(self) -> None:
        """SIGHUP to the process itself, not its group: what adbd does to a
        shell whose stream the host closed (packages/modules/adb
        daemon/shell_service.cpp Subprocess::PassDataStreams)."""
        ...


class PhoneRuntime(Protocol):
    identity: PhoneIdentity
    counters: StreamCounters
    adbd_root: bool  # `adb root` done (or the profile starts adbd as root)
    debuggable: bool  # ro.debuggable=1: whether `adb root` may succeed

    async def spawn(
        self,
        argv: Sequence[str],
        *,
        uid: int,
        env: Mapping[str, str],
        stdin: int,
        stdout: int,
        stderr: int,
        cwd: str = "/",
        setsid_ctty: bool = False,
    ) -> SpawnedProcess:
        """Start argv inside the phone's namespaces as uid, on the given fds
        (pipes or a pty slave; with setsid_ctty the fd on stdin becomes the
        controlling terminal). The caller closes its copies of the fds."""
        ...

    async def reboot(self) -> None:
        """Kill the phone's processes and come back as after a reboot (tunnels down)."""
        ...
