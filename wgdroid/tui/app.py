"""The wgdroid TUI application: state, polling, and the one error handler.

Device I/O runs only in thread workers. The two polls (phones every 2 s, the
chosen phone's status every 1 s) re-arm their timer only after the previous
poll finished, so they never overlap or pile up on a hung phone, and the
status poll pauses while a modal dialog is open. Every worker failure lands in
`_worker_changed`, which shows the device's own message as a notification.

Startup: importing this module costs ~200 ms cold (Textual itself); the
config parser and pydantic (~165 ms), the device layer with adbutils (~95 ms)
and QR code support (segno ~100 ms, Pillow + zxing ~30 ms) are imported only
when first used, so the first paint comes at ~60-160 ms here.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from textual import on, work
from textual.app import App
from textual.css.query import NoMatches
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from wgdroid.tui._start_time import START  # first: startup is measured from here
from wgdroid.tui.adapter import DeviceAPI, Snapshot
from wgdroid.tui.commands import WgdroidCommands
from wgdroid.tui.errors_view import describe
from wgdroid.tui.ops import TunnelOps
from wgdroid.tui.screens.main import MainScreen
from wgdroid.tui.widgets.activity import ActivityLog
from wgdroid.tui.widgets.device_table import DeviceTable
from wgdroid.tui.widgets.tunnel_table import TunnelTable

if TYPE_CHECKING:
    from wgdroid.device.connection import DeviceInfo
    from wgdroid.device.doctor import Capabilities

STATUS_INTERVAL = 1.0  # the official app polls its detail view every second
DEVICES_INTERVAL = 2.0
HISTORY = 60  # sparkline samples kept per tunnel
ACTIVITY_LINES = 500


@dataclass
class _Op:
    label: str
    tunnel: str | None
    done: Callable[[Any], None] | None
    started: float


class WgdroidApp(TunnelOps, App[int]):
    CSS_PATH = "wgdroid.tcss"
    TITLE = "wgdroid"
    SUB_TITLE = "WireGuard on rooted Android phones"
    COMMANDS = App.COMMANDS | {WgdroidCommands}

    def __init__(
        self,
        adapter: DeviceAPI | None = None,
        *,
        serial: str | None = None,
        start_sim: bool = False,
        offer_sim: bool = True,
        poll: bool = True,
    ) -> None:
        super().__init__()
        if adapter is None:
            from wgdroid.tui.adapter import AdbAdapter

            adapter = AdbAdapter()
        self.adapter: DeviceAPI = adapter
        self.wanted_serial = serial
        self.serial: str | None = None
        self.devices: list[DeviceInfo] = []
        self.caps: dict[str, Capabilities] = {}
        self.caps_failed: dict[str, str] = {}
        self.snapshot: Snapshot | None = None
        self.rate_history: dict[str, deque[tuple[float, float]]] = {}
        self.pending: dict[str, str] = {}
        self.activity: deque[str] = deque(maxlen=ACTIVITY_LINES)
        self.startup_ms: float | None = None
        self.polling = poll
        self._start_sim = start_sim
        self._offer_sim = offer_sim
        self._offered = False
        self._seen_devices = False
        self._poll_errors: dict[str, str] = {}
        self._ops: dict[Worker[Any], _Op] = {}
        self._status_timer: Timer | None = None
        self._status_busy = False
        self._refresh_soon = False
        self._devices_timer: Timer | None = None
        self._devices_busy = False
        self.main_screen = MainScreen()

    def get_default_screen(self) -> Screen[Any]:
        return self.main_screen

    def on_ready(self) -> None:
        self.startup_ms = (time.perf_counter() - START) * 1000
        self.log_activity(f"ready in {self.startup_ms:.0f} ms (import to first paint)")
        if self._start_sim:
            self._offered = True
            self.action_start_sim()
        if self.polling:
            self.poll_devices_now()

    # -- activity log ----------------------------------------------------------

    def log_activity(self, line: str) -> None:
        """One line of the operation log: labels and messages only, never a config."""
        stamped = f"{time.strftime('%H:%M:%S')} {line}"
        self.activity.append(stamped)
        self.log.info(stamped)
        # Before the main screen is composed there is no log widget yet.
        with contextlib.suppress(NoMatches):
            self.main_screen.query_one("#activity", ActivityLog).write(stamped)

    # -- device operations (workers) -------------------------------------------

    def run_op(
        self,
        label: str,
        fn: Callable[[], Any],
        done: Callable[[Any], None] | None = None,
        *,
        tunnel: str | None = None,
        pending: str | None = None,
    ) -> Worker[Any]:
        """Run blocking device I/O in a thread worker; `done(result)` runs on
        the UI thread after success; failures go to the one error handler."""
        if tunnel and pending:
            self.pending[tunnel] = pending
            self.show_tunnels()
        self.log_activity(f"{label} …")
        worker: Worker[Any] = self.run_worker(
            fn, name=label, group="op", thread=True, exit_on_error=False, description=label
        )
        self._ops[worker] = _Op(label, tunnel, done, time.monotonic())
        return worker

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        worker, state = event.worker, event.state
        if state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        ok = state is WorkerState.SUCCESS
        error = worker.error if state is WorkerState.ERROR else None
        if worker.group == "devices":
            if ok:
                self._poll_ok("devices")
                self._apply_devices(worker.result or [])
            elif error is not None:
                self._poll_failed("devices", error)
            self._devices_busy = False
            self._arm_devices(DEVICES_INTERVAL)
        elif worker.group == "status":
            self._status_busy = False
            if ok and worker.result is not None:
                self._poll_ok("status")
                self._apply_snapshot(worker.result)
            elif error is not None:
                self._poll_failed("status", error)
            self._arm_status(0.0 if self._refresh_soon else STATUS_INTERVAL)
        elif worker.group == "doctor":
            serial = worker.name
            if ok:
                self.caps[serial] = cast("Capabilities", worker.result)
            elif error is not None:
                shown = describe(error, f"doctor {serial}")
                self.caps_failed[serial] = shown.message
                self.log_activity(shown.line().splitlines()[0])
            self.show_devices()
        elif worker in self._ops:
            op = self._ops.pop(worker)
            if op.tunnel:
                self.pending.pop(op.tunnel, None)
            took = time.monotonic() - op.started
            if ok:
                self.log_activity(f"{op.label}: done ({took:.1f} s)")
                if op.done is not None:
                    op.done(worker.result)
            elif error is not None:
                shown = describe(error, op.label)
                self.notify(shown.message, title=shown.title, severity=shown.severity,
                            timeout=8, markup=False)
                self.log_activity(f"{op.label}: failed: {shown.message.splitlines()[0]}")
            self.show_tunnels()
            self.refresh_now()

    def _poll_failed(self, kind: str, error: BaseException) -> None:
        """Report a poll failure once, not every second."""
        shown = describe(error)
        if self._poll_errors.get(kind) != shown.message:
            self._poll_errors[kind] = shown.message
            self.notify(shown.message, title=shown.title, severity=shown.severity, markup=False)
            self.log_activity(f"{kind} poll failed: {shown.message.splitlines()[0]}")

    def _poll_ok(self, kind: str) -> None:
        if self._poll_errors.pop(kind, None) is not None:
            self.log_activity(f"{kind} poll works again")

    # -- phones ----------------------------------------------------------------

    def poll_devices_now(self) -> None:
        self._arm_devices(0.0)

    def _arm_devices(self, delay: float) -> None:
        if self._devices_timer is not None:
            self._devices_timer.stop()
        # Textual's timers divide by the delay: never 0.
        self._devices_timer = self.set_timer(max(delay, 0.01), self._kick_devices)

    def _kick_devices(self) -> None:
        self._devices_timer = None
        if self._devices_busy:
            return  # the running poll re-arms when it ends
        self._devices_busy = True
        self._poll_devices()

    @work(thread=True, exclusive=True, group="devices", exit_on_error=False,
          description="list phones")
    def _poll_devices(self) -> list[DeviceInfo]:
        return self.adapter.list_devices()

    def usable(self) -> list[str]:
        return [d.serial for d in self.devices if d.state == "device"]

    def _apply_devices(self, devices: list[DeviceInfo]) -> None:
        before = {d.serial: d.state for d in self.devices}
        after = {d.serial: d.state for d in devices}
        if self._seen_devices:
            for serial in after.keys() - before.keys():
                self.notify(f"{serial} attached ({after[serial]})", title="Phone")
                self.log_activity(f"phone {serial} attached ({after[serial]})")
            for serial in before.keys() - after.keys():
                self.notify(f"{serial} detached", title="Phone", severity="warning")
                self.log_activity(f"phone {serial} detached")
                self.caps.pop(serial, None)
                self.caps_failed.pop(serial, None)
        self._seen_devices = True
        self.devices = devices
        for d in devices:
            if d.state == "device" and d.serial not in self.caps and (
                    d.serial not in self.caps_failed) and before.get(d.serial) != "device":
                self.run_worker(lambda s=d.serial: self.adapter.doctor(s), name=d.serial,
                                group="doctor", thread=True, exit_on_error=False,
                                description=f"doctor {d.serial}")
        usable = self.usable()
        if self.serial not in usable:
            wanted = self.wanted_serial if self.wanted_serial in usable else None
            self.choose_device(wanted or (usable[0] if usable else None))
        self.show_devices()
        if not devices and not self._offered and self._offer_sim:
            self._offered = True
            self.offer_sim()

    def choose_device(self, serial: str | None) -> None:
        if serial == self.serial:
            return
        self.serial = serial
        self.snapshot = None
        self.rate_history.clear()
        self.pending.clear()
        self._poll_errors.pop("status", None)
        if serial:
            self.log_activity(f"using phone {serial}")
        self.show_devices()
        self.show_tunnels()
        self.refresh_now()

    def show_devices(self) -> None:
        try:
            table = self.main_screen.query_one("#devices", DeviceTable)
        except NoMatches:  # not composed yet
            return
        table.show(self.devices, self.caps, self.caps_failed, self.serial)

    # -- status of the chosen phone -------------------------------------------

    def refresh_now(self) -> None:
        if self._status_busy:
            self._refresh_soon = True
        else:
            self._arm_status(0.0)

    def _arm_status(self, delay: float) -> None:
        self._refresh_soon = False
        if self._status_timer is not None:
            self._status_timer.stop()
        self._status_timer = self.set_timer(max(delay, 0.01), self._kick_status)

    def _kick_status(self) -> None:
        self._status_timer = None
        if not self.polling or self.serial is None or self._status_busy:
            return
        if isinstance(self.screen, ModalScreen):
            self._arm_status(STATUS_INTERVAL)  # paused under a dialog, not stopped
            return
        self._status_busy = True
        self._poll_status(self.serial)

    @work(thread=True, exclusive=True, group="status", exit_on_error=False,
          description="status poll")
    def _poll_status(self, serial: str) -> Snapshot:
        return self.adapter.snapshot(serial)

    def _apply_snapshot(self, snap: Snapshot) -> None:
        if snap.serial != self.serial:
            return  # an answer for a phone no longer chosen
        from wgdroid.device.status import with_rates

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
        self.show_tunnels()
        for screen in self.screen_stack:
            show = getattr(screen, "show_snapshot", None)
            if show is not None:
                name = getattr(screen, "tunnel", "")
                show(snap, list(self.rate_history.get(name, ())))

    def show_tunnels(self) -> None:
        try:
            table = self.main_screen.query_one("#tunnels", TunnelTable)
            title = self.main_screen.query_one("#tunnels-title")
        except NoMatches:  # not composed yet
            return
        table.show(self.snapshot, self.pending)
        if self.serial is None:
            text = "Tunnels (no phone)"
        else:
            caps = self.caps.get(self.serial)
            model = caps.model if caps and caps.model else self.serial
            count = len(self.snapshot.tunnels) if self.snapshot else 0
            text = f"Tunnels on {model} ({self.serial}): {count}"
        title.update(text)  # type: ignore[attr-defined]

    def tunnel_names(self) -> list[str]:
        if self.snapshot is None:
            return []
        return sorted({t.name for t in self.snapshot.tunnels}
                      | {i.name for i in self.snapshot.status.interfaces})

    def is_up(self, name: str) -> bool:
        return self.snapshot is not None and self.snapshot.status.interface(name) is not None


def run(argv: Sequence[str] = ()) -> int:
    """`wgdroid` / `wgdroid tui [--sim] [-s SERIAL] [-H HOST] [-P PORT]`: run the TUI until quit."""
    from wgdroid.tui.adapter import AdbAdapter

    parser = argparse.ArgumentParser(prog="wgdroid tui")
    parser.add_argument("--sim", action="store_true")
    parser.add_argument("-s", "--serial")
    parser.add_argument("-H", dest="adb_host")
    parser.add_argument("-P", dest="adb_port", type=int)
    args = parser.parse_args(list(argv))
    app = WgdroidApp(AdbAdapter(args.adb_host, args.adb_port), serial=args.serial,
                     start_sim=args.sim)
    result = app.run()
    # Left running on purpose: its tunnels stay usable from the CLI.
    from wgdroid.cli import output

    for serial in getattr(app.adapter, "started_sims", ()):
        output.note(f"simulated phone {serial} is still running "
                    f"(stop it with `wgdroid sim stop {serial}`)")
    return int(result or 0)
