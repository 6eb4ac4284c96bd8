"""What the user's actions do: each is a short flow of dialogs and device
operations run through `run_op` (the app's worker runner). Mixed into the App;
every device call goes through `self.adapter`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wgdroid.errors import WgdroidError
from wgdroid.tui import clash
from wgdroid.tui.errors_view import describe

if TYPE_CHECKING:
    from collections import deque

    from textual.worker import Worker

    from wgdroid.device.connection import DeviceInfo
    from wgdroid.device.doctor import Capabilities
    from wgdroid.tui.adapter import DeviceAPI, Snapshot
    from wgdroid.tui.screens.main import MainScreen


if TYPE_CHECKING:
    from textual.app import App

    _Base = App[int]
else:
    _Base = object


class TunnelOps(_Base):
    # Provided by the App (declared for mypy).
    adapter: DeviceAPI
    serial: str | None
    snapshot: Snapshot | None
    devices: list[DeviceInfo]
    caps: dict[str, Capabilities]
    wanted_serial: str | None
    main_screen: MainScreen
    rate_history: dict[str, deque[tuple[float, float]]]

    if TYPE_CHECKING:

        def run_op(self, label: str, fn: Callable[[], Any],
                   done: Callable[[Any], None] | None = None, *,
                   tunnel: str | None = None, pending: str | None = None) -> Worker[Any]: ...
        def tunnel_names(self) -> list[str]: ...
        def is_up(self, name: str) -> bool: ...
        def usable(self) -> list[str]: ...
        def choose_device(self, serial: str | None) -> None: ...
        def refresh_now(self) -> None: ...
        def log_activity(self, line: str) -> None: ...
        def poll_devices_now(self) -> None: ...

    # -- helpers ---------------------------------------------------------------

    def _phone(self) -> str | None:
        if self.serial is None:
            self.notify("no phone chosen: attach one, or start a simulated one (S)",
                        severity="warning")
        return self.serial

    def _tunnel(self, name: str | None) -> str | None:
        if name:
            return name
        picker = getattr(self.screen, "selected_tunnel", None)
        chosen = picker() if picker is not None else self.main_screen.selected_tunnel()
        if not chosen:
            self.notify("no tunnel selected", severity="warning")
        return chosen

    def _fail(self, error: WgdroidError, doing: str) -> None:
        shown = describe(error, doing)
        self.notify(shown.message, title=shown.title, severity=shown.severity, markup=False)

    # -- tunnel actions --------------------------------------------------------

    def action_toggle_tunnel(self, name: str | None = None) -> None:
        serial, name = self._phone(), self._tunnel(name)
        if serial is None or name is None:
            return
        if self.is_up(name):
            self.run_op(f"disable {name}", lambda: self.adapter.disable(serial, name),
                        tunnel=name, pending="… going down")
            return
        status = self.snapshot.status if self.snapshot else None

        def check() -> tuple[int, str] | None:
            # Read the config first: a ListenPort clash is explained, not attempted.
            from wgdroid.tui.form import check_text

            text = self.adapter.pull(serial, name).decode("utf-8", errors="replace")
            config, _, _ = check_text(text, f"{name}.conf")
            other = clash.port_clash(name, config, status) if config else None
            if config is None or other is None or config.interface.listen_port is None:
                return None
            return config.interface.listen_port, other

        self.run_op(f"check {name}", check, lambda found: self._enable(serial, name, found),
                    tunnel=name, pending="… going up")

    def _enable(self, serial: str, name: str, found: tuple[int, str] | None) -> None:
        def up() -> str | None:
            return self.adapter.enable(serial, name)

        def done(backend: str | None) -> None:
            self.notify(f"{name} is up" + (f" ({backend})" if backend else ""), title="Tunnel")

        if found is None:
            self.run_op(f"enable {name}", up, done, tunnel=name, pending="… going up")
            return
        port, other = found
        from wgdroid.tui.screens.dialogs import ConfirmScreen

        def answer(yes: bool | None) -> None:
            if not yes:
                self.log_activity(f"enable {name}: cancelled (port {port} used by {other})")
                return

            def swap() -> str | None:
                self.adapter.disable(serial, other)
                return self.adapter.enable(serial, name)

            self.run_op(f"disable {other}, enable {name}", swap, done, tunnel=name,
                        pending="… going up")

        self.push_screen(ConfirmScreen("ListenPort clash", clash.explain(name, port, other),
                                       yes=f"Down {other}, up {name}"), answer)

    def action_new_tunnel(self) -> None:
        from wgdroid.tui.screens.editor import EditorScreen

        if self._phone() is None:
            return
        self.push_screen(EditorScreen(None, taken=frozenset(self.tunnel_names())),
                         lambda result: self._save(result, restart=False))

    def action_edit(self, name: str | None = None) -> None:
        serial, name = self._phone(), self._tunnel(name)
        if serial is None or name is None:
            return
        from wgdroid.tui.screens.editor import EditorScreen

        was_up = self.is_up(name)

        def opened(data: bytes) -> None:
            text = data.decode("utf-8", errors="replace")
            self.push_screen(EditorScreen(name, text),
                             lambda result: self._save(result, restart=was_up))

        self.run_op(f"read {name}", lambda: self.adapter.pull(serial, name), opened)

    def _save(self, result: tuple[str, bytes] | None, *, restart: bool) -> None:
        serial = self.serial
        if result is None or serial is None:
            return
        name, data = result
        what = f"save {name}" + (" and restart it" if restart else "")
        self.run_op(what, lambda: self.adapter.push(serial, name, data, restart=restart),
                    lambda _: self.notify(f"{name} saved", title="Tunnel"), tunnel=name,
                    pending="… saving")

    def action_details(self, name: str | None = None) -> None:
        name = self._tunnel(name)
        if name is None:
            return
        from wgdroid.tui.screens.detail import DetailScreen

        self.push_screen(DetailScreen(name))

    def action_rename(self, name: str | None = None) -> None:
        serial, name = self._phone(), self._tunnel(name)
        if serial is None or name is None:
            return
        from wgdroid.tui.screens.dialogs import PromptScreen
        from wgdroid.tui.screens.editor import name_problem

        taken = frozenset(self.tunnel_names())

        def renamed(new: str | None) -> None:
            if new and new != name:
                self.run_op(f"rename {name} to {new}",
                            lambda: self.adapter.rename(serial, name, new),
                            lambda _: self.notify(f"{name} is now {new}", title="Tunnel"),
                            tunnel=name, pending="… renaming")

        self.push_screen(PromptScreen(
            f"Rename {name}", "New name (an interface name: 1-15 of a-z A-Z 0-9 _=+.-)",
            value=name, check=lambda v: None if v == name else name_problem(v, taken)),
            renamed)

    def action_delete(self, name: str | None = None) -> None:
        serial, name = self._phone(), self._tunnel(name)
        if serial is None or name is None:
            return
        from wgdroid.tui.screens.dialogs import ConfirmScreen

        note = " It is up: it will be brought down first." if self.is_up(name) else ""

        def answer(yes: bool | None) -> None:
            if yes:
                self.run_op(f"delete {name}", lambda: self.adapter.remove(serial, name),
                            lambda _: self.notify(f"{name} deleted", title="Tunnel"),
                            tunnel=name, pending="… deleting")

        self.push_screen(ConfirmScreen(
            f"Delete {name}?", f"Delete /data/misc/wireguard/{name}.conf on the phone?{note}",
            yes="Delete", danger=True), answer)

    def action_show_qr(self, name: str | None = None) -> None:
        serial, name = self._phone(), self._tunnel(name)
        if serial is None or name is None:
            return
        from wgdroid.tui.screens.qr import QrScreen

        def show(data: bytes) -> None:
            try:
                screen = QrScreen(name, data.decode("utf-8", errors="replace"))
            except WgdroidError as exc:
                self._fail(exc, f"QR of {name}")
                return
            self.push_screen(screen)

        self.run_op(f"read {name} for its QR code", lambda: self.adapter.pull(serial, name), show)

    def action_copy_public_key(self, name: str | None = None) -> None:
        serial, name = self._phone(), self._tunnel(name)
        if serial is None or name is None:
            return
        iface = self.snapshot.status.interface(name) if self.snapshot else None
        if iface is not None:
            self._copy_key(name, iface.public_key)
            return

        def key() -> str | None:
            from wgdroid.tui.form import check_text

            config, _, _ = check_text(self.adapter.pull(serial, name).decode(
                "utf-8", errors="replace"), f"{name}.conf")
            return config.interface.public_key.base64() if config else None

        self.run_op(f"read {name}'s public key", key, lambda k: self._copy_key(name, k))

    def _copy_key(self, name: str, key: str | None) -> None:
        if key is None:
            self.notify(f"{name} has no valid private key", severity="warning")
            return
        self.copy_to_clipboard(key)
        self.notify(key, title=f"Public key of {name} copied")

    # -- import / export -------------------------------------------------------

    def action_import_file(self) -> None:
        serial = self._phone()
        if serial is None:
            return
        from wgdroid.tui.screens.dialogs import PromptScreen

        def chosen(path: str | None) -> None:
            if path:
                self.import_path(path)

        self.push_screen(PromptScreen(
            "Import", "A .conf file, a .zip of them, or a QR code image:",
            placeholder="~/Downloads/wg0.conf", check=_exists), chosen)

    def import_path(self, path: str) -> None:
        serial = self.serial
        if serial is None:
            return
        taken = set(self.tunnel_names())

        def work() -> tuple[str, list[str]]:
            from wgdroid.tui.imports import load

            loaded = load(path)
            notes = list(loaded.errors)
            done = 0
            for t in loaded.tunnels:
                if t.name in taken:
                    notes.append(f"{t.name}: a tunnel with this name exists already")
                    continue
                self.adapter.push(serial, t.name, t.text.encode("utf-8"))
                taken.add(t.name)
                done += 1
                notes += list(t.warnings)
            return loaded.summary(done), notes

        def finished(result: tuple[str, list[str]]) -> None:
            summary, notes = result
            for note in notes:
                self.log_activity(f"import: {note}")
            self.notify(summary + ("\n" + "\n".join(notes[:5]) if notes else ""),
                        title="Import", severity="warning" if notes else "information",
                        markup=False)

        self.run_op(f"import {Path(path).name}", work, finished)

    def action_export_zip(self) -> None:
        serial = self._phone()
        if serial is None:
            return
        from wgdroid.tui.screens.dialogs import PromptScreen

        names = [t.name for t in self.snapshot.tunnels] if self.snapshot else []
        if not names:
            self.notify("no tunnels to export", severity="warning")
            return

        def chosen(path: str | None) -> None:
            if not path:
                return

            def work() -> str:
                from wgdroid.config.archive import Tunnel, export_zip
                from wgdroid.fileio import write_private

                tunnels = [Tunnel(n, self.adapter.pull(serial, n).decode("utf-8"))
                           for n in names]
                return str(write_private(Path(path).expanduser(), export_zip(tunnels),
                                         overwrite=False))

            self.run_op(f"export {len(names)} tunnels", work,
                        lambda out: self.notify(f"{len(names)} tunnels saved to {out} (0600)",
                                                title="Export"))

        self.push_screen(PromptScreen("Export all tunnels", "Zip file to write:",
                                      value="wireguard-export.zip"), chosen)

    # -- phones ----------------------------------------------------------------

    def action_doctor(self) -> None:
        serial = self._phone()
        if serial is None:
            return
        from wgdroid.tui.screens.doctor import DoctorScreen

        caps = self.caps.get(serial)
        if caps is not None:
            self.push_screen(DoctorScreen(caps))
            return

        def got(result: Capabilities) -> None:
            self.caps[serial] = result
            self.push_screen(DoctorScreen(result))

        self.run_op(f"doctor {serial}", lambda: self.adapter.doctor(serial), got)

    def action_next_device(self) -> None:
        usable = self.usable()
        if not usable:
            self.notify("no phone attached", severity="warning")
            return
        index = usable.index(self.serial) + 1 if self.serial in usable else 0
        self.wanted_serial = usable[index % len(usable)]
        self.choose_device(self.wanted_serial)

    def offer_sim(self) -> None:
        from wgdroid.tui.screens.dialogs import ConfirmScreen

        def answer(yes: bool | None) -> None:
            if yes:
                self.action_start_sim()

        self.push_screen(ConfirmScreen(
            "No phone attached",
            "No Android phone is attached to the adb server. Start a simulated rooted "
            "phone (a Pixel 8 with WireGuard tools and a demo tunnel) to try wgdroid?",
            yes="Start simulated phone"), answer)

    def action_start_sim(self) -> None:
        def started(serial: str) -> None:
            self.wanted_serial = serial
            self.notify(f"simulated phone {serial} started", title="Phone")
            self.poll_devices_now()

        self.run_op("start a simulated phone", self.adapter.start_sim, started)

    def action_refresh(self) -> None:
        self.refresh_now()

    def action_help(self) -> None:
        from wgdroid.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen())


def _exists(path: str) -> str | None:
    return None if Path(path).expanduser().is_file() else "no such file"
