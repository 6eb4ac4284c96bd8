"""The one registry of user actions: it feeds the key bindings (and so the
footer), the help screen and the command palette, so keys, footer words and
palette entries cannot drift apart (pure: no Textual).

Every binding runs `app.run('<id>')`; the app hands the id to its `Flows`
collaborator, whose method of the same `method` name does the work.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Scope(StrEnum):
    """Where an action's keys are bound, and so when the footer shows them."""

    APP = "app"  # everywhere (help, quit)
    MAIN = "main"  # the main screen, whatever pane has focus
    TUNNEL = "tunnel"  # the tunnel list and the detail pane: acts on the selected tunnel
    PHONE = "phone"  # the phone list: acts on the phone under the cursor


@dataclass(frozen=True)
class ActionSpec:
    id: str  # binding id (stable, for keymaps)
    keys: str  # Textual key list, e.g. "space,t"
    method: str  # method of Flows that runs it
    description: str  # footer word(s)
    category: str  # palette prefix: "tunnel", "device", "import", ...
    help: str  # one line for help and palette
    scope: Scope = Scope.MAIN
    show: bool = True  # in the footer...
    wide: int = 0  # ...when the terminal has at least this many columns (80 fit the rest)
    aliases: tuple[str, ...] = ()  # more words the palette finds it by
    # Palette title per tunnel ("{name}" and, for toggles, "{onoff}" = enable/disable);
    # None: the action needs no tunnel, or is not offered per tunnel.
    each_tunnel: str | None = None

    @property
    def palette_name(self) -> str:
        return f"{self.category}: {self.help}"

    @property
    def needs_tunnel(self) -> bool:
        return self.scope is Scope.TUNNEL

    @property
    def key_list(self) -> list[str]:
        return self.keys.split(",")

    def display_keys(self, sep: str = "/") -> str:
        return sep.join(display_key(k) for k in self.key_list)

    def words(self) -> tuple[str, ...]:
        """What the palette matches besides the title: footer words, id, aliases."""
        return (self.description.lower(), self.id.split(".")[-1].replace("_", " "),
                *self.aliases)

    def tunnel_title(self, name: str, up: bool) -> str | None:
        if self.each_tunnel is None:
            return None
        title = self.each_tunnel.format(name=name, onoff="disable" if up else "enable")
        return f"{self.category}: {title}"


_KEY_NAMES = {"question_mark": "?", "slash": "/", "delete": "del"}


def display_key(key: str) -> str:
    return _KEY_NAMES.get(key, key)


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("tunnel.toggle", "space,t", "toggle", "On/Off", "tunnel",
               "toggle the selected tunnel up or down", Scope.TUNNEL,
               aliases=("toggle", "on", "off", "up", "down", "enable", "disable", "start",
                        "stop", "connect", "disconnect", "switch"),
               each_tunnel="{onoff} {name}"),
    ActionSpec("tunnel.edit", "e", "edit", "Edit", "tunnel", "edit the selected tunnel",
               Scope.TUNNEL, aliases=("change", "modify", "config"), each_tunnel="edit {name}"),
    ActionSpec("tunnel.details", "enter,l", "details", "Details", "tunnel",
               "the whole config and live stats of the selected tunnel", Scope.TUNNEL,
               show=False, aliases=("stats", "show", "status", "info", "peers", "rates"),
               each_tunnel="details of {name}"),
    ActionSpec("tunnel.rename", "r", "rename", "Rename", "tunnel", "rename the selected tunnel",
               Scope.TUNNEL, wide=120, aliases=("name", "move"), each_tunnel="rename {name}"),
    ActionSpec("tunnel.delete", "delete,D", "delete", "Delete", "tunnel",
               "delete the selected tunnel", Scope.TUNNEL, wide=120,
               aliases=("remove", "rm", "erase"), each_tunnel="delete {name}"),
    ActionSpec("tunnel.qr", "v", "show_qr", "QR", "export", "show the selected tunnel as a QR code",
               Scope.TUNNEL, wide=120, aliases=("qr code", "scan", "share"),
               each_tunnel="QR code of {name}"),
    ActionSpec("tunnel.copy_public_key", "c", "copy_public_key", "Copy key", "tunnel",
               "copy the selected tunnel's public key", Scope.TUNNEL, wide=160,
               aliases=("copy", "clipboard", "public key", "pubkey"),
               each_tunnel="copy public key of {name}"),
    ActionSpec("tunnel.copy_config", "y", "copy_config", "Copy", "tunnel",
               "copy what the detail pane shows (no private key)", Scope.TUNNEL, wide=160,
               aliases=("yank", "copy config", "copy details", "clipboard"),
               each_tunnel="copy the details of {name}"),
    ActionSpec("tunnel.new", "n", "new", "New", "tunnel", "create a new tunnel",
               aliases=("add", "create", "new tunnel")),
    ActionSpec("tunnel.filter", "slash", "filter", "Filter", "tunnel",
               "show only the tunnels whose name has some text",
               aliases=("find", "search", "grep", "narrow")),
    ActionSpec("import.file", "i", "import_file", "Import", "import",
               "import a .conf, a .zip or a QR image", wide=140,
               aliases=("load", "open", "file")),
    ActionSpec("export.zip", "x", "export_zip", "Export", "export",
               "save all tunnels to a zip file", wide=140,
               aliases=("export", "backup", "save", "zip")),
    ActionSpec("device.doctor", "d", "doctor", "Doctor", "device",
               "what the phone has and lacks, with fixes", wide=100,
               aliases=("doctor", "diagnose", "check", "root", "capabilities")),
    ActionSpec("device.use", "enter,l", "use_phone", "Use", "device",
               "use the phone under the cursor", Scope.PHONE,
               aliases=("choose", "select phone")),
    ActionSpec("device.next", "p", "next_device", "Next phone", "device",
               "switch to the next phone", show=False,
               aliases=("phone", "device", "switch phone", "next")),
    ActionSpec("device.sim", "S", "start_sim", "Sim phone", "device",
               "start a simulated phone", show=False,
               aliases=("simulator", "emulator", "sim", "fake phone", "demo")),
    ActionSpec("app.refresh", "ctrl+r,f5", "refresh", "Refresh", "app",
               "refresh now (and ask the phone again what it has)", show=False,
               aliases=("reload", "update", "poll", "rescan")),
    ActionSpec("app.cancel", "ctrl+x", "cancel", "Cancel", "app",
               "stop waiting for the running operation (su prompt, a hung phone)", Scope.APP,
               aliases=("cancel", "abort", "interrupt")),
    ActionSpec("app.help", "f1,question_mark", "help", "Help", "app", "keys and actions",
               Scope.APP, aliases=("help", "keys", "shortcuts", "bindings")),
    ActionSpec("app.quit", "q", "quit", "Quit", "app", "quit wgdroid", Scope.APP,
               aliases=("exit", "close", "bye")),
)

BY_ID = {a.id: a for a in ACTIONS}
