"""Tunnel status: the one-round-trip status script, the pure parser of its
output (`wg show all dump` plus a few facts), and rate computation.

The private key never leaves the phone: the script (sh/status.sh) replaces
the private key of interface lines and the preshared key of peer lines with
`(hidden)` before the dump is printed, and the parser drops that field anyway.

JSON schema of `wgdroid status --json` (schema 1; fields are only added):

    {
      "schema": 1,
      "devices": [
        {
          "serial": "127.0.0.1:15555",
          "device_time": 1764000000,          # the phone's clock (unix s)
          "sample_seconds": 1.0,              # window of the rates, or null
          "error": null,                      # or {"message", "exit_code"} (with --all)
          "interfaces": [
            {
              "name": "wg0",
              "public_key": "base64",         # never the private key
              "listen_port": 51820,
              "fwmark": null,                 # int, or null for off
              "backend": "kernel",            # kernel | wireguard-go | userspace | unknown
              "up_since": 1763999000,         # unix s (phone clock), or null if unknown
              "uptime_seconds": 1000,         # or null
              "peers": [
                {
                  "public_key": "base64",
                  "preshared_key": true,      # whether one is set (never its value)
                  "endpoint": "198.51.100.1:51820",   # or null
                  "allowed_ips": ["10.0.0.0/24"],
                  "latest_handshake": 1763999990,     # unix s, or null if never
                  "handshake_age_seconds": 10,        # or null
                  "rx_bytes": 1372, "tx_bytes": 1460,
                  "rx_rate": 120.5, "tx_rate": 98.0,  # bytes/s over the sample, or null
                  "persistent_keepalive": 25          # seconds, or null for off
                }
              ]
            }
          ]
        }
      ]
    }
"""

from __future__ import annotations

from wgdroid.device import script as sc
from wgdroid.errors import DeviceCommandError
from wgdroid.lean import Value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SCHEMA_VERSION = 1
HIDDEN = "(hidden)"
TAB = "\t"
NONE = "(none)"


class PeerStatus(Value):
    __slots__ = (
        "allowed_ips",
        "endpoint",
        "handshake_age",
        "latest_handshake",
        "persistent_keepalive",
        "preshared_key",
        "public_key",
        "rx_bytes",
        "rx_rate",
        "tx_bytes",
        "tx_rate",
    )

    def __init__(self, public_key: str, preshared_key: bool, endpoint: str | None,
                 allowed_ips: list[str], latest_handshake: int | None, rx_bytes: int,
                 tx_bytes: int, persistent_keepalive: int | None,
                 handshake_age: int | None = None, rx_rate: float | None = None,
                 tx_rate: float | None = None) -> None:
        self.public_key = public_key
        self.preshared_key = preshared_key
        self.endpoint = endpoint
        self.allowed_ips = allowed_ips
        self.latest_handshake = latest_handshake
        self.rx_bytes = rx_bytes
        self.tx_bytes = tx_bytes
        self.persistent_keepalive = persistent_keepalive
        self.handshake_age = handshake_age
        self.rx_rate = rx_rate
        self.tx_rate = tx_rate

    def to_json(self) -> dict[str, Any]:
        return {
            "public_key": self.public_key,
            "preshared_key": self.preshared_key,
            "endpoint": self.endpoint,
            "allowed_ips": list(self.allowed_ips),
            "latest_handshake": self.latest_handshake,
            "handshake_age_seconds": self.handshake_age,
            "rx_bytes": self.rx_bytes,
            "tx_bytes": self.tx_bytes,
            "rx_rate": self.rx_rate,
            "tx_rate": self.tx_rate,
            "persistent_keepalive": self.persistent_keepalive,
        }


class InterfaceStatus(Value):
    __slots__ = (
        "backend",
        "fwmark",
        "listen_port",
        "name",
        "peers",
        "public_key",
        "up_since",
        "uptime",
    )

    def __init__(self, name: str, public_key: str, listen_port: int, fwmark: int | None,
                 backend: str = "unknown", up_since: int | None = None,
                 uptime: int | None = None, peers: list[PeerStatus] | None = None) -> None:
        self.name = name
        self.public_key = public_key
        self.listen_port = listen_port
        self.fwmark = fwmark
        self.backend = backend
        self.up_since = up_since
        self.uptime = uptime
        self.peers: list[PeerStatus] = [] if peers is None else peers

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "public_key": self.public_key,
            "listen_port": self.listen_port,
            "fwmark": self.fwmark,
            "backend": self.backend,
            "up_since": self.up_since,
            "uptime_seconds": self.uptime,
            "peers": [p.to_json() for p in self.peers],
        }


class DeviceStatus(Value):
    __slots__ = ("device_time", "interfaces", "sample_seconds", "serial")

    def __init__(self, serial: str, device_time: int | None,
                 interfaces: list[InterfaceStatus], sample_seconds: float | None = None) -> None:
        self.serial = serial
        self.device_time = device_time
        self.interfaces = interfaces
        self.sample_seconds = sample_seconds

    def interface(self, name: str) -> InterfaceStatus | None:
        return next((i for i in self.interfaces if i.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "device_time": self.device_time,
            "sample_seconds": self.sample_seconds,
            "error": None,
            "interfaces": [i.to_json() for i in self.interfaces],
        }


# -- the script ---------------------------------------------------------------


def status_script(sample_seconds: float | None, *, timeout: float = 30.0) -> str:
    """Root script (sh/status.sh): the phone's time, per-interface facts, an
    optional first transfer sample, then the dump with secrets hidden."""
    sample = f"{sample_seconds:g}" if sample_seconds else ""
    return sc.Script("status", timeout=timeout).call("op_status", sample).render()


# -- the parser ---------------------------------------------------------------


def _opt_int(text: str) -> int | None:
    return None if text in ("off", NONE, "", "0") else int(text, 0)


def _port(text: str) -> int:
    return int(text) if text.isdigit() else 0


def parse_dump_lines(
    lines: list[str],
) -> tuple[list[InterfaceStatus], dict[str, list[PeerStatus]]]:
    """Parse `wg show all dump` lines (secrets already hidden or not: both
    are dropped). Line types are told apart by field count."""
    ifaces: list[InterfaceStatus] = []
    peers: dict[str, list[PeerStatus]] = {}
    for number, line in enumerate(lines, 1):
        if not line:
            continue
        f = line.split(TAB)
        try:
            if len(f) == 5:
                ifaces.append(
                    InterfaceStatus(
                        name=f[0], public_key=f[2], listen_port=_port(f[3]),
                        fwmark=_opt_int(f[4]),
                    )
                )
            elif len(f) == 9:
                handshake = int(f[5])
                peers.setdefault(f[0], []).append(
                    PeerStatus(
                        public_key=f[1],
                        preshared_key=f[2] != NONE,
                        endpoint=None if f[3] == NONE else f[3],
                        allowed_ips=[] if f[4] == NONE else f[4].split(","),
                        latest_handshake=handshake or None,
                        rx_bytes=int(f[6]),
                        tx_bytes=int(f[7]),
                        persistent_keepalive=_opt_int(f[8]),
                    )
                )
            else:
                raise ValueError
        except ValueError:
            # Say which line, never what it holds (it may hold a key).
            raise DeviceCommandError(
                f"unexpected `wg show all dump` output (line {number}, {len(f)} fields)"
            ) from None
    return ifaces, peers


class _Facts(Value):
    __slots__ = ("ifindex", "kind", "state")

    def __init__(self, kind: str, ifindex: str, state: str) -> None:
        self.kind = kind  # kernel | tun
        self.ifindex = ifindex
        self.state = state  # "<since> <backend> <ifindex>" written at up, or ""


def parse_status_output(
    serial: str, stdout: str, sample_seconds: float | None = None
) -> DeviceStatus:
    """Parse the status script's output into a DeviceStatus with ages and rates."""
    now: int | None = None
    facts: dict[str, _Facts] = {}
    first: dict[tuple[str, str], tuple[int, int]] = {}
    dump: list[str] = []
    for r in sc.records(stdout, "now", "iface", "xfer", "dump"):
        if r.kind == "now":
            now = int(r["time"]) if r["time"].strip().isdigit() else None
        elif r.kind == "iface":
            facts[r["name"]] = _Facts(r["kind"], r["ifindex"], r["note"].strip())
        elif r.kind == "xfer":
            if r["rx"].isdigit() and r["tx"].isdigit():
                first[(r["iface"], r["peer"])] = (int(r["rx"]), int(r["tx"]))
        else:
            dump.append(r["line"])
    ifaces, peers = parse_dump_lines(dump)
    result: list[InterfaceStatus] = []
    for iface in ifaces:
        fact = facts.get(iface.name)
        backend, since = _backend_and_since(fact)
        plist = []
        for p in peers.get(iface.name, []):
            age = None
            if p.latest_handshake is not None and now is not None:
                age = max(0, now - p.latest_handshake)
            rx_rate = tx_rate = None
            before = first.get((iface.name, p.public_key))
            if before is not None and sample_seconds:
                rx_rate = max(0, p.rx_bytes - before[0]) / sample_seconds
                tx_rate = max(0, p.tx_bytes - before[1]) / sample_seconds
            plist.append(p._replace(handshake_age=age, rx_rate=rx_rate, tx_rate=tx_rate))
        uptime = max(0, now - since) if since is not None and now is not None else None
        result.append(
            iface._replace(backend=backend, up_since=since, uptime=uptime, peers=plist)
        )
    return DeviceStatus(serial, now, result, sample_seconds if first else None)


def _backend_and_since(fact: _Facts | None) -> tuple[str, int | None]:
    if fact is None:
        return "unknown", None
    generic = "kernel" if fact.kind == "kernel" else "userspace"
    parts = fact.state.split()
    # The note is ours only if it names this very interface instance (the
    # Android bring-up adds its VPN's netId as a fourth field).
    if len(parts) in (3, 4) and parts[2] == fact.ifindex and parts[0].isdigit():
        backend = parts[1] if parts[1] in ("kernel", "wireguard-go", "userspace") else generic
        return backend, int(parts[0])
    return generic, None


def with_rates(prev: DeviceStatus, cur: DeviceStatus, seconds: float) -> DeviceStatus:
    """Rates between two polls (for --watch and the TUI); counters that went
    down (a tunnel restarted) give no rate rather than a negative one."""
    if seconds <= 0:
        return cur
    before = {
        (i.name, p.public_key): (p.rx_bytes, p.tx_bytes)
        for i in prev.interfaces
        for p in i.peers
    }
    ifaces = []
    for iface in cur.interfaces:
        plist = []
        for p in iface.peers:
            b = before.get((iface.name, p.public_key))
            if b is None or p.rx_bytes < b[0] or p.tx_bytes < b[1]:
                plist.append(p._replace(rx_rate=None, tx_rate=None))
            else:
                plist.append(p._replace(rx_rate=(p.rx_bytes - b[0]) / seconds,
                                        tx_rate=(p.tx_bytes - b[1]) / seconds))
        ifaces.append(iface._replace(peers=plist))
    return cur._replace(interfaces=ifaces, sample_seconds=seconds)


def status_json(statuses: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schema": SCHEMA_VERSION, "devices": statuses}
