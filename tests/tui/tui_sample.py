"""Deterministic sample data for UI-only tests and snapshots (no device).

The device flows themselves are tested against the simulated phone
(test_sim_flows.py); this only feeds the widgets fixed values.
"""

from __future__ import annotations

import asyncio
import functools
import io
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from PIL import Image
from support import wait_until_async
from textual.message import Message
from textual.notifications import Notification, Notify
from textual.widgets import DataTable, Static

from wgdroid.config.models import Interface, Peer, TunnelConfig
from wgdroid.config.render import to_wg_quick
from wgdroid.device.connection import DeviceInfo
from wgdroid.device.doctor import Advice, Capabilities
from wgdroid.device.rootshell import RootMethod
from wgdroid.device.status import DeviceStatus, InterfaceStatus, PeerStatus
from wgdroid.device.store import PushOutcome, StoredTunnel, StoreResult
from wgdroid.tui.adapter import Snapshot

SERIAL = "SAMPLE0001"
PRIVATE = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
PEER = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
NOW = 1_764_000_000


def config(name: str, port: int | None = None) -> str:
    iface: dict[str, Any] = {
        "private_key": PRIVATE, "addresses": "10.0.0.2/32", "dns_servers": "1.1.1.1"}
    if port:
        iface["listen_port"] = str(port)
    cfg = TunnelConfig.model_validate({
        "interface": Interface.model_validate(iface),
        "peers": [Peer.model_validate({
            "public_key": PEER, "allowed_ips": "0.0.0.0/0, ::/0",
            "endpoint": "vpn.example.com:51820"})],
    })
    return f"# {name}\n" + to_wg_quick(cfg)


def capabilities(serial: str = SERIAL) -> Capabilities:
    return Capabilities(
        serial=serial, model="Pixel 8", android_release="14", sdk=34, abi="arm64-v8a",
        kernel="6.1.0", selinux="Enforcing", root_method="magisk", tun=True,
        store_exists=True,
        tools={"wg": "/system/bin/wg", "wg-quick": "/system/bin/wg-quick",
               "wireguard-go": "/system/bin/wireguard-go", "python3": None},
        wg_quick_variant="android", backends=["wireguard-go"],
        advice=[Advice("no WireGuard kernel module", "use a GKI 5.10+ kernel, or wireguard-go")],
    )


def _peer(age: int, rx: int, tx: int) -> PeerStatus:
    return PeerStatus(PEER, False, "198.51.100.7:51820", ["0.0.0.0/0", "::/0"],
                      NOW - age, rx, tx, 25, handshake_age=age)


SAMPLE_TUNNELS = {"home": True, "lab": False, "office": True}  # name -> up


def snapshot(step: int = 0, serial: str = SERIAL,
             tunnels: dict[str, bool] | None = None) -> Snapshot:
    """By default `home` up with a fresh handshake, `office` up but stale, `lab`
    down; other tunnels that are up have a fresh handshake."""
    tunnels = SAMPLE_TUNNELS if tunnels is None else tunnels
    fixed = {
        "home": InterfaceStatus("home", "HOMEPUBKEY", 51820, None, "wireguard-go", NOW - 3700,
                                3700, [_peer(12, 1_500_000 + step * 20_480,
                                             300_000 + step * 4096)]),
        "office": InterfaceStatus("office", "OFFICEPUB", 51821, None, "kernel", NOW - 900, 900,
                                  [_peer(400, 10_240, 2_048)]),
    }
    ifaces = [fixed.get(name) or InterfaceStatus(name, f"{name.upper()}PUB", 0, None,
                                                  "wireguard-go", NOW - 60, 60,
                                                  [_peer(5, 1000, 1000)])
              for name, up in sorted(tunnels.items()) if up]
    stored = [StoredTunnel(name, 250, NOW, up) for name, up in sorted(tunnels.items())]
    return Snapshot(serial, stored, DeviceStatus(serial, NOW, ifaces), 1000.0 + step)


class SampleAdapter:
    """A DeviceAPI with made-up answers that remembers what was done to it:
    tunnels come, go, are renamed and switched (for UI tests; `calls` records
    every device call)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.step = 0
        self.ports: dict[str, int] = {}  # ListenPort of pulled configs
        self.fail: dict[str, Exception] = {}  # operation -> what it raises
        self.tunnels = dict(SAMPLE_TUNNELS)
        self.texts: dict[str, str] = {}  # configs pushed here
        # push_many cut off (a host timeout) once this many entries answered
        self.cut_after: int | None = None

    def _op(self, *call: str) -> None:
        self.calls.append(call)
        if call[0] in self.fail:
            raise self.fail[call[0]]

    def list_devices(self) -> list[DeviceInfo]:
        return [DeviceInfo(SERIAL, "device", "Pixel_8")]

    def doctor(self, serial: str) -> Capabilities:
        self._op("doctor", serial)
        return capabilities(serial)

    def snapshot(self, serial: str) -> Snapshot:
        self.step += 1
        return snapshot(self.step, serial, self.tunnels)

    def enable(self, serial: str, name: str) -> str | None:
        self._op("enable", name)
        self.tunnels[name] = True
        return "wireguard-go"

    def disable(self, serial: str, name: str) -> None:
        self._op("disable", name)
        self.tunnels[name] = False

    def pull(self, serial: str, name: str) -> bytes:
        self._op("pull", name)
        return (self.texts.get(name) or config(name, self.ports.get(name))).encode()

    def pull_many(self, serial: str, names: list[str]) -> dict[str, bytes]:
        self._op("pull_many", *names)
        return {n: (self.texts.get(n) or config(n, self.ports.get(n))).encode() for n in names}

    def push(self, serial: str, name: str, data: bytes, *, restart: bool = False,
             allow_hooks: bool = False) -> None:
        from wgdroid.device.dialect import check_config

        check_config(data, f"{name}.conf").allow_hooks(allow_hooks)  # as store.push does
        self._op("push", name)
        self.texts[name] = data.decode()
        self.tunnels[name] = self.tunnels.get(name, False)

    def push_many(self, serial: str, configs: list[tuple[str, bytes]], *,
                  allow_hooks: bool = False) -> list[PushOutcome]:
        """As store.push_many: one call; each entry refused alone (hooks, a
        taken name); with `cut_after`, the entries after that many are not
        known (store.cut_off)."""
        from wgdroid.device.dialect import check_config
        from wgdroid.device.store import cut_off
        from wgdroid.errors import ConflictError, OperationTimeout, WgdroidError

        self._op("push_many", *(name for name, _ in configs))
        outcomes = []
        for at, (name, data) in enumerate(configs):
            if self.cut_after is not None and at >= self.cut_after:
                cause = OperationTimeout(f"the operation on {serial} did not finish in 60 s")
                outcomes.append(PushOutcome(name, error=cut_off(name, cause), known=False))
                continue
            try:
                check_config(data, f"{name}.conf").allow_hooks(allow_hooks)
                if name in self.tunnels:
                    raise ConflictError(f"a tunnel named {name!r} already exists")
            except WgdroidError as exc:
                outcomes.append(PushOutcome(name, error=exc))
                continue
            self.texts[name] = data.decode()
            self.tunnels[name] = False
            outcomes.append(PushOutcome(name, StoreResult(name, RootMethod.MAGISK, 0.0)))
        return outcomes

    def remove(self, serial: str, name: str) -> None:
        self._op("remove", name)
        del self.tunnels[name]

    def rename(self, serial: str, old: str, new: str) -> None:
        self._op("rename", old, new)
        self.tunnels[new] = self.tunnels.pop(old)
        if old in self.texts:
            self.texts[new] = self.texts.pop(old)

    def start_sim(self) -> str:
        raise AssertionError("not in UI tests")

    def since(self, mark: int, *kinds: str) -> list[tuple[str, ...]]:
        """The calls after the first `mark` ones (only these kinds, if given)."""
        return [c for c in self.calls[mark:] if not kinds or c[0] in kinds]


async def fill(app: object, pilot: Any) -> None:
    """Put the sample phone and two polls into a WgdroidApp built with poll=False,
    wait until its configs are read, then empty the activity log once it shows
    every line so far (their timestamps and the start-up time vary)."""
    from wgdroid.tui.app import WgdroidApp
    from wgdroid.tui.widgets.activity import ActivityLog

    assert isinstance(app, WgdroidApp)
    app.session.caps[SERIAL] = capabilities()
    app.apply_devices([DeviceInfo(SERIAL, "device", "Pixel_8")])
    app.apply_snapshot(snapshot(0))
    app.apply_snapshot(snapshot(1))
    await pilot.pause()  # the screens have processed what this posted
    log = app.main_screen.query_one("#activity", ActivityLog)
    await until(pilot, "the activity log", lambda: log.written == app.session.logged)
    await until(pilot, "every config read", lambda: not app.session.configs_wanted()
                and not app._reading_config)
    await pilot.pause()  # and shown
    log.clear()
    app.main_screen.query_one("#last-activity", Static).update("")


class Notes:
    """The notifications an app showed, seen through `run_test(message_hook=...)`
    (kept after they time out on screen)."""

    def __init__(self) -> None:
        self.shown: list[Notification] = []

    def __call__(self, message: Message) -> None:
        if isinstance(message, Notify):
            self.shown.append(message.notification)

    def titled(self, part: str) -> list[Notification]:
        return [n for n in self.shown if part in n.title]


def sync(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async Pilot test under asyncio.run (no async pytest plugin here)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))

    return wrapper


_QUADRANTS = " ▘▝▀▖▌▞▛▗▚▐▜▄▙▟█"


def _cells(style: str, ch: str) -> list[list[int]]:
    """The modules one character draws, as rows of 1 (lit) and 0, for a style."""
    if style == "half":
        top, bottom = {"█": (1, 1), "▀": (1, 0), "▄": (0, 1), " ": (0, 0)}[ch]
        return [[top], [bottom]]
    bits = _QUADRANTS.index(ch)
    return [[bits & 1, bits >> 1 & 1], [bits >> 2 & 1, bits >> 3 & 1]]


def modules(drawing: str, style: str = "half") -> list[list[int]]:
    """Read a terminal drawing back into module rows (1 = a lit, light module)."""
    lines = drawing.splitlines()
    if style == "large":
        return [[1 if line[x] == "█" else 0 for x in range(0, len(line), 2)] for line in lines]
    rows: list[list[int]] = []
    for line in lines:
        cells = [_cells(style, ch) for ch in line]
        rows += [[bit for cell in cells for bit in cell[half]] for half in range(2)]
    return rows


def scan(drawing: Any, style: str = "half") -> str:
    """Decode a drawing (a Drawing or the text of one) with zxing, as a phone
    would read the screen: each module a square (quadrant blocks are drawn
    twice as tall as wide, as on a terminal)."""
    if not isinstance(drawing, str):
        drawing, style = drawing.text, drawing.style
    rows = modules(drawing, style)
    sx, sy = (2, 4) if style == "quarter" else (4, 4)
    img = Image.new("L", (len(rows[0]) * sx, len(rows) * sy))
    for y, row in enumerate(rows):
        for x, lit in enumerate(row):
            if lit:  # the blocks draw the light modules
                img.paste(255, (x * sx, y * sy, (x + 1) * sx, (y + 1) * sy))
    framed = Image.new("L", (img.width + 40, img.height + 40), 255)
    framed.paste(img, (20, 20))
    buf = io.BytesIO()
    framed.save(buf, format="PNG")
    from wgdroid.config.qr import decode_image

    return decode_image(buf.getvalue())


async def until(pilot: Any, what: str, cond: Callable[[], object],
                timeout: float = 30,  # noqa: ASYNC109 (wait_until's keywords)
                check: Callable[[Any], object] | None = None) -> None:
    """Wait for an effect in the app, letting it process its messages meanwhile
    (`check`: when the probe returns what it saw rather than a truth value).

    Between tries the app runs on its own (its pumps share this event loop);
    `pilot.pause()` settles the screen once, after the effect is seen, not at
    every try: it walks every widget and repaints, which cost more CPU than the
    tests themselves."""
    await wait_until_async(cond, what=what, timeout=timeout, interval=0.02, check=check)
    await pilot.pause()


S = TypeVar("S")


async def select_tunnel(app: Any, pilot: Any, name: str) -> None:
    """Put the tunnel list's cursor on NAME once it is listed; wait until selected."""
    table = app.main_screen.query_one("#tunnels", DataTable)
    await until(pilot, f"{name} listed", lambda: name in table.rows)
    table.focus()
    table.move_cursor(row=table.get_row_index(name))
    await until(pilot, f"{name} selected", lambda: app.session.selected == name)


async def shown(pilot: Any, cls: type[S], timeout: float = 30) -> S:  # noqa: ASYNC109
    """Wait until the app's screen is a `cls`, composed and mounted (a screen is
    on the stack before its widgets exist)."""
    app = pilot.app
    await until(pilot, f"a mounted {cls.__name__}",
                lambda: isinstance(app.screen, cls) and app.screen.is_mounted, timeout)
    screen = app.screen
    assert isinstance(screen, cls)
    return screen


async def qr_drawn(pilot: Any) -> Any:
    """Open the QR code of the selected tunnel (key v); its QrView once it has
    chosen its drawing for the screen's size."""
    from wgdroid.tui.screens.qr import QrScreen
    from wgdroid.tui.widgets.qr_view import QrView

    await pilot.press("v")
    view = (await shown(pilot, QrScreen)).query_one(QrView)
    await until(pilot, "the drawing chosen", lambda: view.drawing is None
                or view.size.width == view.drawing.width)
    return view


async def run_from_palette(pilot: Any, query: str, expect: str) -> None:
    """Open the command palette, type QUERY at once (one search, whose hits
    replace the ones listed on opening) and press enter once the first hit
    names EXPECT (enter runs the highlighted hit)."""
    from textual.command import CommandInput, CommandList, CommandPalette

    await pilot.press("ctrl+p")
    palette = await shown(pilot, CommandPalette)
    palette.query_one(CommandInput).value = query
    commands = palette.query_one(CommandList)

    def first() -> str:
        index = commands.highlighted
        return "" if index is None else str(commands.get_option_at_index(index).prompt)

    await until(pilot, f"{expect!r} first in the palette", lambda: expect in first())
    await pilot.press("enter")
