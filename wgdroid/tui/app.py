"""The wgdroid TUI application: polling, the operation runner, and the one
error handler. What is known lives in `state.Session`; what actions do lives
in `flows.Flows`; the screens render the session when told it changed.

Device I/O runs only in thread workers, which post their results as messages
(`messages.py`). The two polls (phones every 2 s, the chosen phone's status
every 1 s) re-arm their timer only after the previous poll finished, so they
never overlap or pile up on a hung phone, and the status poll pauses while a
modal dialog is open. Every worker failure lands in `_worker_changed`, which
shows the device's own message as a notification.

Startup: importing this module costs ~200 ms cold (Textual itself) plus
~30 ms for the device layer; the config parser and pydantic (~95 ms) and QR
code support (~95 ms) are imported only when first used, in workers or dialogs.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import App
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from wgdroid.errors import WgdroidError
from wgdroid.tui import paths
from wgdroid.tui._start_time import START  # first: startup is measured from here
from wgdroid.tui.actions import BY_ID, Scope
from wgdroid.tui.adapter import AdbAdapter, DeviceAPI, Snapshot
from wgdroid.tui.bindings import bindings
from wgdroid.tui.commands import WgdroidCommands
from wgdroid.tui.details import ConfigInfo, read_info
from wgdroid.tui.errors_view import describe
from wgdroid.tui.flows import Flows
from wgdroid.tui.messages import (
    ActivityLogged,
    ConfigRead,
    DevicesListed,
    DoctorDone,
    OpProgress,
    SessionChanged,
    SnapshotPolled,
)
from wgdroid.tui.ops import WAIT_FOR_GRANT, Op
from wgdroid.tui.screens.main import MainScreen, PhoneChosen, TunnelSelected
from wgdroid.tui.state import Session

if TYPE_CHECKING:
    from wgdroid.device.connection import DeviceInfo
    from wgdroid.device.progress import Event

STATUS_INTERVAL = 1.0  # the official app polls its detail view every second
DEVICES_INTERVAL = 2.0
IO_THREADS = 32  # device calls in flight at once (workers), see WgdroidApp.on_load


class WgdroidApp(App[int]):
    CSS_PATH = "wgdroid.tcss"
    TITLE = "wgdroid"
    SUB_TITLE = "WireGuard on rooted Android phones"
    COMMANDS = App.COMMANDS | {WgdroidCommands}
    BINDINGS = bindings(Scope.APP)

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
        self.adapter: DeviceAPI = adapter if adapter is not None else AdbAdapter()
        self.session = Session(wanted_serial=serial)
        self.flows = Flows(self)
        self.startup_ms: float | None = None
        self.polling = poll
        self._start_sim = start_sim
        self._offer_sim = offer_sim
        self._offered = False
        self._poll_errors: dict[str, str] = {}
        self._ops: dict[Worker[Any], Op] = {}
        self._op_ids = itertools.count(1)
        self._status_timer: Timer | None = None
        self._status_busy = False
        self._refresh_soon = False
        self._devices_timer: Timer | None = None
        self._devices_busy = False
        # Bumped when an operation ends: a status poll started before it may
        # show a state that no longer holds (a tunnel up mid-way through a
        # failing wg-quick), so its answer is dropped for the fresh one.
        self._epoch = 0
        self._settling: set[str] = set()  # tunnels shown "checking" until then
        self._reading_config = False  # one config read at a time, in the background
        # Phones doctor found without root that were asked again since (once,
        # unless su says it granted or the user presses f5).
        self._root_rechecked: set[str] = set()
        self.main_screen = MainScreen(self.session)

    def get_default_screen(self) -> Screen[Any]:
        return self.main_screen

    def on_load(self) -> None:
        """Thread workers run in the event loop's default executor, which
        asyncio sizes to cpus+4 threads: on 2 cores, six calls to a hung phone
        (toggles, a QR read, doctor, a status poll) left none for the phone
        poll, so unplugging that phone went unnoticed. Every device call ends
        at its own timeout, the polls run one at a time, and operations are
        started by hand, so a larger pool stays bounded."""
        import asyncio
        from concurrent.futures import ThreadPoolExecutor

        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=IO_THREADS, thread_name_prefix="wgdroid-io"))

    def on_ready(self) -> None:
        self.startup_ms = (time.perf_counter() - START) * 1000
        self.log_activity(f"ready in {self.startup_ms:.0f} ms (import to first paint)")
        if self._start_sim:
            self._offered = True
            self.flows.start_sim()
        if self.polling:
            self.poll_devices_now()

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every notification is plain text (screens' notify calls land here):
        messages carry names, config lines and phone output, and as markup
        `[Interface] PublicKey: ...` lost its section and a typed `[/x]`
        ended the app (MarkupError while drawing the toast)."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    # -- actions (the registry's ids) -------------------------------------------

    def action_do(self, action_id: str) -> None:
        """Run a registry action: bindings and the palette both come here."""
        getattr(self.flows, BY_ID[action_id].method)()

    # -- telling the screens ---------------------------------------------------

    def changed(self) -> None:
        """The session changed: every screen that shows it renders again."""
        for screen in self.screen_stack:
            screen.post_message(SessionChanged())

    def log_activity(self, line: str) -> None:
        """One line of the operation log: labels and messages only, never a config."""
        stamped = f"{time.strftime('%H:%M:%S')} {line}"
        number = self.session.log(stamped)
        self.log.info(stamped)
        self.main_screen.post_message(ActivityLogged(stamped, number))

    # -- device operations (workers) -------------------------------------------

    def run_op(
        self,
        label: str,
        fn: Callable[[], Any],
        done: Callable[[Any], None] | None = None,
        *,
        tunnel: str | None = None,
        pending: str | None = None,
        failed: Callable[[], None] | None = None,
    ) -> Worker[Any]:
        """Run blocking device I/O in a thread worker; `done(result)` runs on
        the UI thread after success; failures go to the one error handler,
        then to `failed()` (also when cancelled).
        What it waits for (su, the phone script's steps) arrives as OpProgress;
        `cancel_op` stops it."""
        from wgdroid.device import progress

        op_id = next(self._op_ids)
        cancel = threading.Event()

        def report(event: Event) -> None:  # called from the device layer's threads
            self.post_message(OpProgress(op_id, event.kind, event.detail))

        def watched() -> Any:
            with progress.observe(report, cancel):
                return fn()

        if tunnel and pending:
            self.session.pending[tunnel] = pending
            self.changed()
        self.log_activity(f"{label} …")
        worker: Worker[Any] = self.run_worker(
            watched, name=label, group="op", thread=True, exit_on_error=False,
            description=label)
        self._ops[worker] = Op(op_id, label, tunnel, done, cancel, pending, failed=failed)
        self.refresh_bindings()  # Cancel shows while something runs
        return worker

    def _op(self, op_id: int) -> Op | None:
        return next((op for op in self._ops.values() if op.id == op_id), None)

    def on_op_progress(self, message: OpProgress) -> None:
        op = self._op(message.op)
        if op is None:
            return
        line = op.progressed(message.kind, message.detail)
        if message.kind == "su-granted":
            self._root_works(granted=True)
        if line:
            self.log_activity(line)
        if message.kind == "su-waiting":  # a prompt is probably on the phone
            self.notify(f"{op.label}: {WAIT_FOR_GRANT} (ctrl+x cancels)", title="su asks",
                        severity="warning", timeout=10)
        self._show_op(op)

    def _show_op(self, op: Op) -> None:
        if op.tunnel is None:
            return
        if op.row_label:
            self.session.pending[op.tunnel] = op.row_label
        if op.waiting:
            self.session.waiting[op.tunnel] = op.waiting
        else:
            self.session.waiting.pop(op.tunnel, None)
        self.changed()

    def cancel_op(self) -> None:
        """Stop the operation on the selected tunnel, else the latest one."""
        running = [op for op in self._ops.values() if not op.cancelled]
        if not running:
            self.notify("nothing is running", severity="warning")
            return
        mine = [op for op in running if op.tunnel == self.session.selected]
        op = (mine or running)[-1]
        self.log_activity(f"{op.label}: cancelling")
        op.cancel.set()

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """The palette's Screenshot: into the export folder (Textual's default,
        ~/Downloads, may not exist), 0600, as the screen may show a QR code
        (a private key)."""
        from wgdroid.fileio import write_private

        folder = Path(path).expanduser() if path else paths.folder("export_folder")
        name = filename or time.strftime("wgdroid-%Y%m%d-%H%M%S.svg")
        try:
            saved = write_private(folder / name, self.export_screenshot(), overwrite=False)
        except WgdroidError as exc:
            self.notify(exc.message, title="Screenshot not saved", severity="error")
            return None
        self.notify(str(saved), title="Screenshot saved")
        return str(saved)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "do" and parameters == ("app.cancel",):
            return any(not op.cancelled for op in self._ops.values())
        return True

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        worker, state = event.worker, event.state
        if state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        if not self.screen_stack:  # quit while it ran: nothing left to show it on
            return
        ok = state is WorkerState.SUCCESS
        error = worker.error if state is WorkerState.ERROR else None
        if worker.group == "devices":
            if ok:
                self._poll_ok("devices")
            elif error is not None:
                self._poll_failed("devices", error)
            self._devices_busy = False
            self._arm_devices(DEVICES_INTERVAL)
        elif worker.group == "doctor":
            if error is not None:
                shown = describe(error, f"doctor {worker.name}")
                self.session.caps_failed[worker.name] = shown.message
                self.log_activity(shown.line().splitlines()[0])
                self.changed()
        elif worker.group == "config":
            self._reading_config = False
            if error is not None and worker.name in dict(self.session.configs_wanted()):
                # Shown in the pane; read again when the file changes or on f5.
                stamp = dict(self.session.configs_wanted())[worker.name]
                self.session.configs[worker.name] = ConfigInfo(
                    stamp, error=describe(error).message.splitlines()[0])
                self.changed()
            self.read_configs()
        elif worker.group == "status":
            self._status_busy = False
            if ok:
                self._poll_ok("status")
            elif error is not None:
                self._poll_failed("status", error)
            self._arm_status(0.0 if self._refresh_soon else STATUS_INTERVAL)
        elif worker in self._ops:
            op = self._ops.pop(worker)
            self.refresh_bindings()
            self._epoch += 1
            if op.tunnel:
                self.session.waiting.pop(op.tunnel, None)
            if op.tunnel and self.polling:
                self.session.pending[op.tunnel] = "… checking"
                self._settling.add(op.tunnel)
            elif op.tunnel:
                self.session.pending.pop(op.tunnel, None)
            took = time.monotonic() - op.started
            if ok:
                self.log_activity(f"{op.label}: done ({took:.1f} s)")
                self._root_works()
                if op.done is not None:
                    op.done(worker.result)
            elif op.cancelled:
                self.log_activity(f"{op.label}: cancelled after {took:.1f} s")
                self.notify("wgdroid stopped waiting; what the phone already did stays done, "
                            "the list shows what holds", title=f"{op.label}: cancelled")
            elif error is not None:
                shown = describe(error, op.label)
                self.notify(shown.message, title=shown.title, severity=shown.severity,
                            timeout=8, markup=False)
                self.log_activity(f"{op.label}: failed: {shown.message.splitlines()[0]}")
            if not ok and op.failed is not None:
                op.failed()
            self.changed()
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
    def _poll_devices(self) -> None:
        self.post_message(DevicesListed(self.adapter.list_devices()))

    def on_devices_listed(self, message: DevicesListed) -> None:
        self.apply_devices(message.devices)

    def apply_devices(self, devices: list[DeviceInfo]) -> None:
        changes = self.session.apply_devices(devices)
        for serial, state in changes.attached:
            self.notify(f"{serial} attached ({state})", title="Phone")
            self.log_activity(f"phone {serial} attached ({state})")
        for serial in changes.detached:
            self.notify(f"{serial} detached", title="Phone", severity="warning")
            self.log_activity(f"phone {serial} detached")
        for serial in changes.need_doctor:
            self._doctor(serial)
        self.choose_device(self.session.fallback_serial())
        self.changed()
        if not devices and not self._offered and self._offer_sim:
            self._offered = True
            self.flows.offer_sim()

    def _doctor(self, serial: str) -> None:
        adapter = self.adapter
        self.run_worker(lambda: self.post_message(DoctorDone(serial, adapter.doctor(serial))),
                        name=serial, group="doctor", thread=True, exit_on_error=False,
                        description=f"doctor {serial}")

    def _root_works(self, *, granted: bool = False) -> None:
        """Something that needs su just worked on the chosen phone: if doctor
        said it has no root (su waited for a tap, or was denied then allowed),
        ask again, so the phone list and doctor stop saying "root none"."""
        serial = self.session.serial
        caps = self.session.caps.get(serial) if serial else None
        if serial is None or caps is None or caps.root_method is not None:
            return
        if serial in self._root_rechecked and not granted:
            return
        self._root_rechecked.add(serial)
        self.log_activity(f"root works on {serial} now: asking it again what it has")
        self._doctor(serial)

    def on_doctor_done(self, message: DoctorDone) -> None:
        if message.caps.root_method is not None:
            self._root_rechecked.discard(message.serial)
        self.session.caps[message.serial] = message.caps
        self.changed()

    def choose_device(self, serial: str | None) -> None:
        if not self.session.choose(serial):
            return
        self._poll_errors.pop("status", None)
        if serial:
            self.log_activity(f"using phone {serial}")
        self.changed()
        self.refresh_now()

    @on(PhoneChosen)
    def _phone_chosen(self, message: PhoneChosen) -> None:
        self.session.wanted_serial = message.serial
        self.choose_device(message.serial)

    # -- status of the chosen phone -------------------------------------------

    def refresh_all(self) -> None:
        """f5: poll now, and ask the phone again what it has (root may have been
        granted since: doctor said "none" while su waited) and for the configs
        that could not be read."""
        serial = self.session.serial
        if serial is not None:
            self.session.caps_failed.pop(serial, None)
            self._root_rechecked.discard(serial)
            self._doctor(serial)
        self.session.forget_config_errors()
        self.refresh_now()
        self.read_configs()

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
        if not self.polling or self.session.serial is None or self._status_busy:
            return
        if not self.screen_stack:  # the app is shutting down
            return
        if isinstance(self.screen, ModalScreen):
            self._arm_status(STATUS_INTERVAL)  # paused under a dialog, not stopped
            return
        self._status_busy = True
        self._poll_status(self.session.serial, self._epoch)

    @work(thread=True, exclusive=True, group="status", exit_on_error=False,
          description="status poll")
    def _poll_status(self, serial: str, epoch: int) -> None:
        self.post_message(SnapshotPolled(self.adapter.snapshot(serial), epoch))

    def on_snapshot_polled(self, message: SnapshotPolled) -> None:
        if message.epoch != self._epoch:
            return  # started before an operation ended; a fresh poll follows
        for name in self._settling:
            self.session.pending.pop(name, None)
        self._settling.clear()
        self.apply_snapshot(message.snapshot)
        self._root_works()  # a status poll runs `wg` through su

    def apply_snapshot(self, snapshot: Snapshot) -> None:
        if self.session.apply_snapshot(snapshot):
            self.changed()
            self.read_configs()

    # -- stored configs (details, endpoints of down tunnels, port clashes) ---------

    @on(TunnelSelected)
    def _tunnel_selected(self, message: TunnelSelected) -> None:
        self.read_configs()

    def read_configs(self) -> None:
        """Read the next stored config not read since it changed (the selected
        tunnel's first), one at a time so the phone is not flooded."""
        serial = self.session.serial
        wanted = self.session.configs_wanted()
        if self._reading_config or serial is None or not wanted or not self.screen_stack:
            return
        name, stamp = wanted[0]
        dialect = self.session.dialect()
        adapter = self.adapter

        def read() -> None:
            text = adapter.pull(serial, name).decode("utf-8", errors="replace")
            self.post_message(ConfigRead(serial, name, read_info(text, name, stamp, dialect)))

        self._reading_config = True
        self.run_worker(read, name=name, group="config", thread=True, exit_on_error=False,
                        description=f"read {name}")

    def on_config_read(self, message: ConfigRead) -> None:
        if message.serial == self.session.serial:
            self.session.configs[message.name] = message.info
            self.changed()


def run(argv: Sequence[str] = ()) -> int:
    """`wgdroid` / `wgdroid tui [--sim] [-s SERIAL] [-H HOST] [-P PORT]`: run the TUI until quit."""
    parser = argparse.ArgumentParser(prog="wgdroid tui")
    parser.add_argument("--sim", action="store_true")
    parser.add_argument("-s", "--serial")
    parser.add_argument("-H", dest="adb_host")
    parser.add_argument("-P", dest="adb_port", type=int)
    args = parser.parse_args(list(argv))
    adapter = AdbAdapter(args.adb_host, args.adb_port)
    app = WgdroidApp(adapter, serial=args.serial, start_sim=args.sim)
    result = app.run()
    # Left running on purpose: its tunnels stay usable from the CLI (said only
    # of those still running: one may have been stopped from another shell).
    for serial in adapter.running_sims():
        sys.stderr.write(f"wgdroid: note: simulated phone {serial} is still running "
                         f"(stop it with `wgdroid sim stop {serial}`)\n")
    return exit_status(app, result)


def exit_status(app: App[int], result: int | None) -> int:
    """What `run` exits with: a crash (Textual printed the traceback and set
    return_code) is an internal error, never 0."""
    if app.return_code:
        from wgdroid.exit_codes import ExitCode

        return ExitCode.INTERNAL
    return int(result or 0)
