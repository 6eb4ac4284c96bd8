"""The command palette: commands computed from the current state, named
`category: action`, from the same registry as the key bindings."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from wgdroid.tui.actions import ACTIONS

if TYPE_CHECKING:
    from wgdroid.tui.app import WgdroidApp

Entry = tuple[str, Callable[[], Any], str]


def _keys(keys: str) -> str:
    return "/".join(k.replace("question_mark", "?") for k in keys.split(","))


def entries(app: WgdroidApp) -> list[Entry]:
    found: list[Entry] = []
    for a in ACTIONS:
        if a.needs_tunnel:
            continue
        method = app.exit if a.action == "quit" else getattr(app, f"action_{a.action}")
        found.append((a.palette_name, method, f"{a.help} · keys {_keys(a.keys)}"))
    for name in app.tunnel_names():
        verb = "disable" if app.is_up(name) else "enable"
        found += [
            (f"tunnel: {verb} {name}", partial(app.action_toggle_tunnel, name),
             f"bring {name} {'down' if verb == 'disable' else 'up'} · key space"),
            (f"tunnel: edit {name}", partial(app.action_edit, name), "open the editor · key e"),
            (f"tunnel: details of {name}", partial(app.action_details, name),
             "live stats · key enter"),
            (f"tunnel: rename {name}", partial(app.action_rename, name),
             "ask for the new name · key r"),
            (f"tunnel: delete {name}", partial(app.action_delete, name),
             "after a confirmation · key delete"),
            (f"tunnel: copy public key of {name}", partial(app.action_copy_public_key, name),
             "to the clipboard (OSC 52) · key c"),
            (f"export: QR code of {name}", partial(app.action_show_qr, name),
             "draw it in the terminal · key v"),
        ]
    for info in app.devices:
        if info.state == "device" and info.serial != app.serial:
            found.append((f"device: use {info.serial}", partial(app.choose_device, info.serial),
                          info.model or ""))
    return found


class WgdroidCommands(Provider):
    def _app(self) -> WgdroidApp:
        return self.app  # type: ignore[return-value]

    async def discover(self) -> Hits:
        for name, command, help_text in entries(self._app()):
            yield DiscoveryHit(name, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, command, help_text in entries(self._app()):
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), command, text=name, help=help_text)
