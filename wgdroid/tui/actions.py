"""The one registry of user actions: it feeds the key bindings, the command
palette and the help screen, so keys and descriptions cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ActionSpec:
    id: str  # binding id (stable, for keymaps)
    keys: str  # Textual key list, e.g. "space,t"
    action: str  # action name on the app, without "action_"
    description: str  # footer text
    category: str  # palette prefix: "tunnel", "device", "import", ...
    help: str
    show: bool = True
    needs_tunnel: bool = False  # acts on the selected tunnel

    @property
    def palette_name(self) -> str:
        return f"{self.category}: {self.help}"


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("tunnel.toggle", "space,t", "toggle_tunnel", "On/Off", "tunnel",
               "toggle the selected tunnel up or down", needs_tunnel=True),
    ActionSpec("tunnel.new", "n", "new_tunnel", "New", "tunnel", "create a new tunnel"),
    ActionSpec("tunnel.edit", "e", "edit", "Edit", "tunnel", "edit the selected tunnel",
               needs_tunnel=True),
    ActionSpec("tunnel.details", "enter,l", "details", "Details", "tunnel",
               "live stats of the selected tunnel", show=False, needs_tunnel=True),
    ActionSpec("tunnel.rename", "r", "rename", "Rename", "tunnel", "rename the selected tunnel",
               needs_tunnel=True),
    ActionSpec("tunnel.delete", "delete,D", "delete", "Delete", "tunnel",
               "delete the selected tunnel", needs_tunnel=True),
    ActionSpec("tunnel.qr", "v", "show_qr", "QR", "export", "show the selected tunnel as a QR code",
               needs_tunnel=True),
    ActionSpec("tunnel.copy_public_key", "c", "copy_public_key", "Copy key", "tunnel",
               "copy the selected tunnel's public key", show=False, needs_tunnel=True),
    ActionSpec("import.file", "i", "import_file", "Import", "import",
               "import a .conf, a .zip or a QR image"),
    ActionSpec("export.zip", "x", "export_zip", "Export zip", "export",
               "save all tunnels to a zip file", show=False),
    ActionSpec("device.doctor", "d", "doctor", "Doctor", "device",
               "what the phone has and lacks, with fixes"),
    ActionSpec("device.next", "p", "next_device", "Phone", "device", "switch to the next phone",
               show=False),
    ActionSpec("device.sim", "S", "start_sim", "Sim phone", "device",
               "start a simulated phone", show=False),
    ActionSpec("app.refresh", "ctrl+r,f5", "refresh", "Refresh", "app", "refresh now", show=False),
    ActionSpec("app.help", "f1,question_mark", "help", "Help", "app", "keys and actions"),
    ActionSpec("app.quit", "q", "quit", "Quit", "app", "quit wgdroid"),
)

BY_ID = {a.id: a for a in ACTIONS}
