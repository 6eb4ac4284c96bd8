"""What the TUI knows about the phones, as plain data (no Textual, no device I/O).

The app owns one `Session`; poll results are applied to it, and the screens
render from it when a message says it changed. Keeping it apart from the App
lets the action flows and the tests read it without reaching into the App.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from wgdroid.config.dialect import Dialect
from wgdroid.tui.details import ConfigInfo, stamp_of

if TYPE_CHECKING:
    from wgdroid.device.connection import DeviceInfo
    from wgdroid.device.doctor import Capabilities
    from wgdroid.tui.adapter import Snapshot

HISTORY = 60  # sparkline samples kept per tunnel
ACTIVITY_LINES = 500


@dataclass(frozen=True)
class DeviceChanges:
    attached: list[tuple[str, str]]  # (serial, state) new since the last list
    detached: list[str]
    need_doctor: list[str]  # usable phones whose capabilities are unknown


@dataclass
class Session:
    wanted_serial: str | None = None  # -s, or the phone the user switched to
    serial: str | None = None  # the chosen phone
    devices: list[DeviceInfo] = field(default_factory=list)
    caps: dict[str, Capabilities] = field(default_factory=dict)
    caps_failed: dict[str, str] = field(default_factory=dict)  # serial -> message
    snapshot: Snapshot | None = None
    rate_history: dict[str, deque[tuple[float, float]]] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)  # tunnel -> "… going up"
    # What a tunnel's running operation waits for, in words (the details pane).
    waiting: dict[str, str] = field(default_factory=dict)
    selected: str | None = None  # the selected tunnel, by name
    phone_cursor: str | None = None  # the phone under the cursor of the phone list
    filter: str = ""  # only tunnels whose name holds this (case-insensitive)
    # A tunnel to select as soon as the list shows it (renamed, imported, saved:
    # a poll may list it before or after the operation's end is seen).
    expected: str | None = None
    # The stored configs read so far, without secrets (for the detail pane, the
    # list's endpoints and the port-clash check before bringing one up).
    configs: dict[str, ConfigInfo] = field(default_factory=dict)
    seen_devices: bool = False  # a first device list arrived
    # The operation log: labels and messages only, never a config or a key.
    activity: deque[str] = field(default_factory=lambda: deque(maxlen=ACTIVITY_LINES))
    logged: int = 0  # lines ever added to the log (it keeps the last ACTIVITY_LINES)

    def log(self, line: str) -> int:
        """Add one line to the log; its number."""
        self.activity.append(line)
        self.logged += 1
        return self.logged

    # -- phones ----------------------------------------------------------------

    def usable(self) -> list[str]:
        return [d.serial for d in self.devices if d.state == "device"]

    def apply_devices(self, devices: list[DeviceInfo]) -> DeviceChanges:
        before = {d.serial: d.state for d in self.devices}
        after = {d.serial: d.state for d in devices}
        attached, detached = [], []
        if self.seen_devices:
            attached = [(s, after[s]) for s in after if s not in before]
            detached = [s for s in before if s not in after]
        for serial in detached:
            self.caps.pop(serial, None)
            self.caps_failed.pop(serial, None)
        self.seen_devices = True
        self.devices = devices
        need = [d.serial for d in devices if d.state == "device" and d.serial not in self.caps
                and d.serial not in self.caps_failed and before.get(d.serial) != "device"]
        return DeviceChanges(attached, detached, need)

    def fallback_serial(self) -> str | None:
        """The phone to use when the chosen one is gone: the wanted one, else the first."""
        usable = self.usable()
        if self.serial in usable:
            return self.serial
        if self.wanted_serial in usable:
            return self.wanted_serial
        return usable[0] if usable else None

    def choose(self, serial: str | None) -> bool:
        """Switch to another phone (forgets the old one's status); False if no change."""
        if serial == self.serial:
            return False
        self.serial = serial
        self.snapshot = None
        self.rate_history.clear()
        self.pending.clear()
        self.waiting.clear()
        self.selected = self.expected = None
        self.configs.clear()
        return True

    def dialect(self) -> Dialect:
        """The chosen phone's wg-quick dialect (Android's until doctor says)."""
        caps = self.caps.get(self.serial) if self.serial else None
        # Android's C wg-quick when unknown: that is what phones ship.
        variant = caps.wg_quick_variant if caps else None
        # A phone wgdroid brings up through netd reads configs as android.c does,
        # whatever wg-quick it has (docs/android-phone.md).
        if caps and caps.bring_up == "android":
            return Dialect.ANDROID
        return Dialect.LINUX if variant == Dialect.LINUX else Dialect.ANDROID

    def model(self, serial: str) -> str:
        caps = self.caps.get(serial)
        return caps.model if caps and caps.model else serial

    # -- tunnels of the chosen phone ---------------------------------------------

    def apply_snapshot(self, snap: Snapshot) -> bool:
        """Take a status poll (rates from the previous one); False if it is for
        a phone no longer chosen."""
        if snap.serial != self.serial:
            return False
        from wgdroid.device.status import with_rates  # loaded by the poll already

        prev = self.snapshot
        if prev is not None and prev.serial == snap.serial:
            snap = replace(snap, status=with_rates(prev.status, snap.status,
                                                   snap.elapsed - prev.elapsed))
        self.snapshot = snap
        live = set()
        for iface in snap.status.interfaces:
            live.add(iface.name)
            hist = self.rate_history.setdefault(iface.name, deque(maxlen=HISTORY))
            hist.append((sum(p.rx_rate or 0.0 for p in iface.peers),
                         sum(p.tx_rate or 0.0 for p in iface.peers)))
        for gone in set(self.rate_history) - live:
            del self.rate_history[gone]
        return True

    def tunnel_names(self) -> list[str]:
        if self.snapshot is None:
            return []
        return sorted({t.name for t in self.snapshot.tunnels}
                      | {i.name for i in self.snapshot.status.interfaces})

    def is_up(self, name: str) -> bool:
        return self.snapshot is not None and self.snapshot.status.interface(name) is not None

    def history(self, name: str) -> list[tuple[float, float]]:
        return list(self.rate_history.get(name, ()))

    def shown(self, name: str) -> bool:
        """Whether the filter lets `name` through."""
        return self.filter.lower() in name.lower()

    def configs_wanted(self) -> list[tuple[str, tuple[int, int | None]]]:
        """(name, stamp) of the stored configs not read since they last changed,
        the selected one first."""
        if self.snapshot is None:
            return []
        wanted = []
        for stored in self.snapshot.tunnels:
            stamp = stamp_of(stored)
            known = self.configs.get(stored.name)
            if known is None or known.stamp != stamp:
                wanted.append((stored.name, stamp))
        wanted.sort(key=lambda w: w[0] != self.selected)
        return wanted

    def forget_config(self, *names: str) -> None:
        """Read these again (changed by us: the stamp may not show it within a second)."""
        for name in names:
            self.configs.pop(name, None)

    def forget_config_errors(self) -> None:
        for name in [n for n, info in self.configs.items() if info.error]:
            del self.configs[name]
