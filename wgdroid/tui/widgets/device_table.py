"""The phones attached to the adb server, with what doctor found."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import DataTable

if TYPE_CHECKING:
    from wgdroid.device.connection import DeviceInfo
    from wgdroid.device.doctor import Capabilities


def _ready(info: DeviceInfo, caps: Capabilities | None, failed: str | None) -> str:
    if info.state != "device":
        return "—"
    if failed:
        return "unknown (doctor failed)"
    if caps is None:
        return "checking…"
    if caps.ready:
        return "ready: " + ", ".join(caps.backends)
    return "not ready (see doctor)"


class DeviceTable(DataTable[str]):
    """One row per transport; the chosen phone is marked ▶."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = False
        for label, key in (
            (" ", "mark"), ("Serial", "serial"), ("State", "state"), ("Model", "model"),
            ("Android", "android"), ("Root", "root"), ("WireGuard", "ready"),
        ):
            self.add_column(label, key=key)

    def show(
        self,
        devices: list[DeviceInfo],
        caps: dict[str, Capabilities],
        failed: dict[str, str],
        chosen: str | None,
    ) -> None:
        keep = self.cursor_row
        with self.app.batch_update():
            self.clear()
            for info in devices:
                c = caps.get(info.serial)
                model = (c.model if c and c.model else None) or info.model or "—"
                android = f"{c.android_release} (SDK {c.sdk})" if c and c.android_release else "—"
                root = (c.root_method or "none") if c else "—"
                self.add_row(
                    "▶" if info.serial == chosen else " ",
                    info.serial, info.state, model, android, root,
                    _ready(info, c, failed.get(info.serial)),
                    key=info.serial,
                )
            if self.row_count:
                self.move_cursor(row=min(keep, self.row_count - 1))
