"""What the user's actions do: each is a short flow of dialogs and device
operations. `Flows` is the App's collaborator: the action registry names its
methods, the App dispatches key bindings and palette entries to them, and
they reach the phone only through `app.run_op` (thread workers) and the
adapter, and read what is known from `app.session`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from wgdroid.errors import WgdroidError
from wgdroid.tui import clash, paths
from wgdroid.tui.errors_view import describe

if TYPE_CHECKING:
    from collections.abc import Callable

    from wgdroid.device.doctor import Capabilities
    from wgdroid.tui.app import WgdroidApp


class Flows:
    def __init__(self, app: WgdroidApp) -> None:
        self.app = app
        self.session = app.session

    # -- helpers ---------------------------------------------------------------

    def _phone(self) -> str | None:
        if self.session.serial is None:
            self.app.notify("no phone chosen: attach one, or start a simulated one (S)",
                            severity="warning")
        return self.session.serial

    def _tunnel(self, name: str | None) -> str | None:
        chosen = name or self.session.selected
        if not chosen:
            self.app.notify("no tunnel selected", severity="warning")
        return chosen

    def _fail(self, error: WgdroidError, doing: str) -> None:
        shown = describe(error, doing)
        self.app.notify(shown.message, title=shown.title, severity=shown.severity, markup=False)

    # -- tunnel actions --------------------------------------------------------

    def toggle(self, name: str | None = None) -> None:
        serial, name = self._phone(), self._tunnel(name)
        if serial is None or name is None:
            return
        adapter = self.app.adapter
        if self.session.is_up(name):
            self.app.run_op(f"disable {name}", lambda: adapter.disable(serial, name),
                            tunnel=name, pending="… going down")
            return
        # A ListenPort clash is explained, not attempted: the config read for
        # the details pane says the port, so bringing it up stays one su call.
        info = self.session.configs.get(name)
        port = info.listen_port if info is not None else None
        status = self.session.snapshot.status if self.session.snapshot else None
        other = clash.port_clash(name, port, status)
        self._enable(serial, name, (port, other) if port and other else None)

    def _enable(self, serial: str, name: str, found: tuple[int, str] | None) -> None:
        adapter = self.app.adapter

        def up() -> str | None:
            return adapter.enable(serial, name)

        def done(backend: str | None) -> None:
            self.app.notify(f"{name} is up" + (f" ({backend})" if backend else ""),
                            title="Tunnel")

        if found is None:
            self.app.run_op(f"enable {name}", up, done, tunnel=name, pending="… going up")
            return
        port, other = found
        from wgdroid.tui.screens.dialogs import ConfirmScreen

        def answer(yes: bool | None) -> None:
            if not yes:
                self.app.log_activity(f"enable {name}: cancelled (port {port} used by {other})")
                return

            def swap() -> str | None:
                adapter.disable(serial, other)
                return adapter.enable(serial, name)

            self.app.run_op(f"disable {other}, enable {name}", swap, done, tunnel=name,
                            pending="… going up")

        self.app.push_screen(ConfirmScreen("ListenPort clash", clash.explain(name, port, other),
                                           yes=f"Down {other}, up {name}", danger=True), answer)

    def new(self) -> None:
        from wgdroid.tui.screens.editor import EditorScreen

        if self._phone() is None:
            return
        self.app.push_screen(EditorScreen(
            None, taken=frozenset(self.session.tunnel_names()), dialect=self.session.dialect(),
            save=lambda name, data, finished: self._save(
                (name, data), restart=False, finished=finished)))

    def edit(self, name: str | None = None) -> None:
        serial, name = self._phone(), self._tunnel(name)
        if serial is None or name is None:
            return
        from wgdroid.tui.screens.editor import EditorScreen

        was_up = self.session.is_up(name)

        def opened(data: bytes) -> None:
            text = data.decode("utf-8", errors="replace")
            self.app.push_screen(EditorScreen(
                name, text, dialect=self.session.dialect(),
                save=lambda name, data, finished: self._save(
                    (name, data), restart=was_up, finished=finished)))

        adapter = self.app.adapter
        self.app.run_op(f"read {name}", lambda: adapter.pull(serial, name), opened)

    def _save(self, result: tuple[str, bytes] | None, *, restart: bool,
              allow_hooks: bool = False,
              finished: Callable[[bool], None] | None = None) -> None:
        """Push an edited config; `finished(stored)` once that is known (the
        editor stays open until then, so a refused push loses no edits)."""
        serial = self.session.serial
        end = finished or (lambda stored: None)
        if result is None or serial is None:
            end(False)
            return
        name, data = result
        adapter = self.app.adapter
        what = f"save {name}" + (" and restart it" if restart else "")

        def push() -> str | None:
            """None once stored; what the hooks do when the device layer
            refused them (nothing was sent): the user is asked first."""
            from wgdroid.device.dialect import HooksRefused

            try:
                adapter.push(serial, name, data, restart=restart, allow_hooks=allow_hooks)
            except HooksRefused as refused:
                return refused.message
            return None

        def saved(hooks: str | None) -> None:
            if hooks is not None:
                self._ask_hooks(hooks, lambda: self._save(result, restart=restart,
                                                          allow_hooks=True, finished=end),
                                declined=lambda: end(False))
                return
            self.session.forget_config(name)
            self.session.expected = name
            self.app.notify(f"{name} saved", title="Tunnel")
            end(True)

        self.app.run_op(what, push, saved, tunnel=name, pending="… saving",
                        failed=lambda: end(False))

    def _ask_hooks(self, said: str, store: Callable[[], None],
                   declined: Callable[[], None] | None = None) -> None:
        """A config runs commands as root on the phone: store it only if the
        user says so (the question starts on Cancel). A phone brought up the
        Android way refuses hooks whatever the answer: no question then."""
        from wgdroid.config.dialect import Dialect
        from wgdroid.tui.screens.dialogs import ConfirmScreen

        def no() -> None:
            if declined is not None:
                declined()

        if self.session.dialect() is not Dialect.LINUX:
            self.app.notify(f"{said}; this phone brings tunnels up the Android way, which "
                            "refuses hooks: remove them to store it", title="Not stored",
                            severity="error", timeout=10, markup=False)
            no()
            return
        self.app.push_screen(ConfirmScreen(
            "Commands run as root", f"{said}. Store it with them?",
            yes="Store with hooks", danger=True), lambda yes: store() if yes else no())

    def details(self, name: str | None = None) -> None:
        name = self._tunnel(name)
        if name is None:
            return
        self.session.selected = name
        self.app.changed()
        self.app.main_screen.focus_detail()

    def copy_config(self, name: str | None = None) -> None:
        name = self._tunnel(name)
        if name is None or self.session.snapshot is None:
            return
        from wgdroid.tui.widgets.detail_pane import build

        shown = build(self.session, name)
        if shown is None:
            return
        self.app.copy_to_clipboard(shown.text())
        self.app.notify(f"the details of {name} (no private key)", title="Copied")

    def filter(self) -> None:
        self.app.main_screen.start_filter()

    def use_phone(self) -> None:
        serial = self.session.phone_cursor
        if serial is not None:
            self.session.wanted_serial = serial
            self.app.choose_device(serial)

    def rename(self, name: str | None = None) -> None:
        serial, name = self._phone(), self._tunnel(name)
        if serial is None or name is None:
            return
        from wgdroid.tui.screens.dialogs import PromptScreen
        from wgdroid.tui.screens.editor import name_problem

        taken = frozenset(self.session.tunnel_names())
        adapter = self.app.adapter

        def renamed(new: str | None) -> None:
            if not new or new == name:
                return

            def done(_: None) -> None:
                self.session.forget_config(name, new)
                self.app.notify(f"{name} is now {new}", title="Tunnel")

            if self.session.selected == name:
                self.session.expected = new  # the cursor follows the tunnel
            self.app.run_op(f"rename {name} to {new}", lambda: adapter.rename(serial, name, new),
                            done, tunnel=name, pending="… renaming")

        self.app.push_screen(PromptScreen(
            f"Rename {name}", "New name (an interface name: 1-15 of a-z A-Z 0-9 _=+.-)",
            value=name, check=lambda v: None if v == name else name_problem(v, taken)),
            renamed)

    def delete(self, name: str | None = None) -> None:
        serial, name = self._phone(), self._tunnel(name)
        if serial is None or name is None:
            return
        from wgdroid.tui.screens.dialogs import ConfirmScreen

        note = " It is up: it will be brought down first." if self.session.is_up(name) else ""
        adapter = self.app.adapter

        def deleted(_: None) -> None:
            self.session.forget_config(name)
            self.app.notify(f"{name} deleted", title="Tunnel")

        def answer(yes: bool | None) -> None:
            if yes:
                self.app.run_op(f"delete {name}", lambda: adapter.remove(serial, name),
                                deleted, tunnel=name, pending="… deleting")

        self.app.push_screen(ConfirmScreen(
            f"Delete {name}?", f"Delete /data/misc/wireguard/{name}.conf on the phone?{note}",
            yes="Delete", danger=True), answer)

    def show_qr(self, name: str | None = None) -> None:
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
            self.app.push_screen(screen)

        adapter = self.app.adapter
        self.app.run_op(f"read {name} for its QR code", lambda: adapter.pull(serial, name),
                        show)

    def copy_public_key(self, name: str | None = None) -> None:
        serial, name = self._phone(), self._tunnel(name)
        if serial is None or name is None:
            return
        snapshot = self.session.snapshot
        iface = snapshot.status.interface(name) if snapshot else None
        if iface is not None:
            self._copy_key(name, iface.public_key)
            return
        adapter = self.app.adapter

        def key() -> str | None:
            from wgdroid.tui.form import check_text

            config, _, _ = check_text(adapter.pull(serial, name).decode(
                "utf-8", errors="replace"), f"{name}.conf")
            return config.interface.public_key.base64() if config else None

        self.app.run_op(f"read {name}'s public key", key, lambda k: self._copy_key(name, k))

    def _copy_key(self, name: str, key: str | None) -> None:
        if key is None:
            self.app.notify(f"{name} has no valid private key", severity="warning")
            return
        self.app.copy_to_clipboard(key)
        self.app.notify(key, title=f"Public key of {name} copied")

    # -- import / export -------------------------------------------------------

    def import_file(self) -> None:
        serial = self._phone()
        if serial is None:
            return
        from wgdroid.tui.screens.dialogs import PathSuggester, PromptScreen

        def chosen(path: str | None) -> None:
            if path:
                paths.remember("import_folder", str(Path(path).expanduser().parent))
                self.import_path(path)

        start = paths.shown(paths.folder("import_folder")).rstrip("/") + "/"
        self.app.push_screen(PromptScreen(
            "Import", "A .conf file, a .zip of them, or a QR code image (Tab completes):",
            value=start, placeholder="~/Downloads/wg0.conf", check=_exists,
            suggester=PathSuggester()), chosen)

    def import_path(self, path: str) -> None:
        serial = self.session.serial
        if serial is None:
            return
        adapter = self.app.adapter

        hooked: list[tuple[str, bytes]] = []  # refused for their hooks: asked after

        def work() -> tuple[str, list[str], list[str], list[str]]:
            from wgdroid.device.dialect import HooksRefused
            from wgdroid.tui.imports import load

            loaded = load(path)
            notes = list(loaded.errors)
            done = []
            unknown = []  # cut off (timeout, link, cancel) before the phone answered for them
            configs = {t.name: t.text.encode("utf-8") for t in loaded.tunnels}
            warnings = {t.name: t.warnings for t in loaded.tunnels}
            # All in one root shell (one su); the phone refuses a name it has
            # already, under that tunnel's lock, and each entry fails alone.
            for o in adapter.push_many(serial, list(configs.items())):
                if not o.known and o.error is not None:
                    unknown.append(o.name)
                    notes.append(o.error.message)  # it names the tunnel
                elif isinstance(o.error, HooksRefused):
                    hooked.append((o.name, configs[o.name]))
                    notes.append(f"not stored yet: {o.error.message}")
                elif o.error is not None:
                    notes.append(f"{o.name}: {o.error.message}")
                else:
                    done.append(o.name)
                    notes += list(warnings[o.name])
            summary = loaded.summary(len(done))
            if unknown:
                summary += f", {len(unknown)} not known (cut off): the list shows what holds"
            return summary, notes, done, unknown

        def finished(result: tuple[str, list[str], list[str], list[str]]) -> None:
            summary, notes, imported, unknown = result
            if hooked:
                said = "; ".join(note.removeprefix("not stored yet: ") for note in notes
                                 if note.startswith("not stored yet: "))
                self._ask_hooks(said, lambda: self._import_hooked(serial, hooked))
            self.session.forget_config(*imported, *unknown)  # maybe stored: read again
            if imported:
                self.session.expected = imported[0]  # the cursor goes to what came in
            for note in notes:
                self.app.log_activity(f"import: {note}")
            self.app.notify(summary + ("\n" + "\n".join(notes[:5]) if notes else ""),
                            title="Import", severity="warning" if notes else "information",
                            markup=False)

        self.app.run_op(f"import {Path(path).name}", work, finished)

    def _import_hooked(self, serial: str, tunnels: list[tuple[str, bytes]]) -> None:
        adapter = self.app.adapter

        def work() -> tuple[list[str], list[str]]:
            outcomes = adapter.push_many(serial, tunnels, allow_hooks=True)  # one su
            return ([o.name for o in outcomes if o.error is None],
                    [o.error.message if not o.known else f"{o.name}: {o.error.message}"
                     for o in outcomes if o.error is not None])

        def done(result: tuple[list[str], list[str]]) -> None:
            names, failed = result
            for note in failed:
                self.app.log_activity(f"import: {note}")
            if names:
                self.session.forget_config(*names)
                self.session.expected = names[0]
            said = [f"imported with hooks: {', '.join(names)}"] if names else []
            self.app.notify("\n".join(said + failed[:5]), title="Import", markup=False,
                            severity="warning" if failed else "information")

        self.app.run_op(f"import {len(tunnels)} with hooks", work, done)

    def export_zip(self) -> None:
        serial = self._phone()
        if serial is None:
            return

        snapshot = self.session.snapshot
        names = [t.name for t in snapshot.tunnels] if snapshot else []
        if not names:
            self.app.notify("no tunnels to export", severity="warning")
            return
        from wgdroid.tui.screens.dialogs import PathSuggester, PromptScreen

        adapter = self.app.adapter

        def chosen(where: str | None) -> None:
            if not where:
                return
            folder = Path(where).expanduser()
            paths.remember("export_folder", str(folder))
            stem = time.strftime("wireguard-export-%Y%m%d-%H%M%S")

            def work() -> str:
                from wgdroid.config.archive import Tunnel, export_zip
                from wgdroid.fileio import write_private

                pulled = adapter.pull_many(serial, names)  # one su for them all
                tunnels = [Tunnel(n, pulled[n].decode("utf-8")) for n in names]
                data = export_zip(tunnels)
                return str(write_private(_unused(folder, stem), data, overwrite=False))

            self.app.run_op(f"export {len(names)} tunnels", work,
                            lambda out: self.app.notify(
                                f"{len(names)} tunnels saved to {out} (0600)", title="Export"))

        self.app.push_screen(PromptScreen(
            "Export all tunnels",
            f"Folder for the zip of {len(names)} tunnels (it holds their private keys; "
            "Tab completes):", value=paths.shown(paths.folder("export_folder")),
            check=_folder, suggester=PathSuggester(dirs_only=True)), chosen)

    # -- phones ----------------------------------------------------------------

    def doctor(self) -> None:
        serial = self._phone()
        if serial is None:
            return
        from wgdroid.tui.screens.doctor import DoctorScreen

        caps = self.session.caps.get(serial)
        if caps is not None:
            self.app.push_screen(DoctorScreen(caps))
            return

        def got(result: Capabilities) -> None:
            self.session.caps[serial] = result
            self.app.push_screen(DoctorScreen(result))

        adapter = self.app.adapter
        self.app.run_op(f"doctor {serial}", lambda: adapter.doctor(serial), got)

    def next_device(self) -> None:
        usable = self.session.usable()
        if not usable:
            self.app.notify("no phone attached", severity="warning")
            return
        serial = self.session.serial
        index = usable.index(serial) + 1 if serial in usable else 0
        self.session.wanted_serial = usable[index % len(usable)]
        self.app.choose_device(self.session.wanted_serial)

    def offer_sim(self) -> None:
        from wgdroid.tui.screens.dialogs import ConfirmScreen

        def answer(yes: bool | None) -> None:
            if yes:
                self.start_sim()

        self.app.push_screen(ConfirmScreen(
            "No phone attached",
            "No Android phone is attached to the adb server. Start a simulated rooted "
            "phone (a Pixel 8 with WireGuard tools and a demo tunnel) to try wgdroid?",
            yes="Start simulated phone"), answer)

    def start_sim(self) -> None:
        def started(serial: str) -> None:
            self.session.wanted_serial = serial
            self.app.notify(f"simulated phone {serial} started", title="Phone")
            self.app.poll_devices_now()

        self.app.run_op("start a simulated phone", self.app.adapter.start_sim, started)

    def cancel(self) -> None:
        self.app.cancel_op()

    def refresh(self) -> None:
        self.app.refresh_all()

    def help(self) -> None:
        from wgdroid.tui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen())

    def quit(self) -> None:
        self.app.exit()


def _exists(path: str) -> str | None:
    return None if Path(path).expanduser().is_file() else "no such file"


def _folder(path: str) -> str | None:
    return None if Path(path).expanduser().is_dir() else "no such folder"


def _unused(folder: Path, stem: str) -> Path:
    """FOLDER/STEM.zip, or STEM_2.zip, STEM_3.zip...: a second export within the
    same second failed on the first one's file ("already exists")."""
    target, n = folder / f"{stem}.zip", 2
    while target.exists():
        target, n = folder / f"{stem}_{n}.zip", n + 1
    return target
