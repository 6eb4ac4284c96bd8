"""UAPI `get=1`/`set=1` contents mapped onto the core's Device/Peer API
(docs/dataplane.md, "UAPI").

Set lines are applied one by one, not transactionally, as wireguard-go does:
device keys until the first `public_key`, then peer keys. Values are validated
here; the errors carry the negative errno `wg` expects and never a key.
"""

from __future__ import annotations

import errno
import ipaddress
from typing import Protocol

from wgdroid.errors import WgdroidError
from wgdroid.userspace.core import Action, Device, Endpoint, Peer
from wgdroid.userspace.uapi_server import UapiError

_ZERO_KEY = bytes(32)


class ShellHooks(Protocol):
    """What a set needs from the I/O shell."""

    def bind(self, port: int) -> int:
        """(Re)bind the UDP sockets; returns the port; raises OSError."""
        ...

    def set_fwmark(self, mark: int) -> None: ...

    def forget_peer(self, peer: Peer) -> None: ...

    def now(self) -> float: ...

    def dispatch(self, actions: list[Action]) -> None:
        """Carry out what the core asked for (a keepalive when one is enabled)."""
        ...


def format_endpoint(ep: Endpoint) -> str:
    host, port = ep
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_endpoint(text: str) -> Endpoint:
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit():
        raise ValueError("endpoint needs host:port")
    port = int(port_text)
    if not 0 < port < 65536:
        raise ValueError("port out of range")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1].split("%", 1)[0]
        return (str(ipaddress.IPv6Address(host)), port)
    return (str(ipaddress.IPv4Address(host)), port)


def _key(value: str) -> bytes:
    if len(value) != 64:
        raise ValueError("key must be 64 hex digits")
    return bytes.fromhex(value)


def _uint(value: str, bits: int) -> int:
    if not value.isdigit():
        raise ValueError("not a decimal number")
    n = int(value)
    if n >= 1 << bits:
        raise ValueError("number out of range")
    return n


def _true(value: str) -> None:
    if value != "true":
        raise ValueError("only 'true' is accepted")


class UapiConfig:
    """A UapiHandler over a core Device."""

    def __init__(self, device: Device, hooks: ShellHooks) -> None:
        self.device = device
        self.hooks = hooks
        self._actions: list[Action] = []

    # --- get ---
    def uapi_get(self) -> list[str]:
        snap = self.device.snapshot()
        out: list[str] = []
        if snap.private_key is not None and snap.private_key != _ZERO_KEY:
            out.append(f"private_key={snap.private_key.hex()}")
        if snap.listen_port:
            out.append(f"listen_port={snap.listen_port}")
        if snap.fwmark:
            out.append(f"fwmark={snap.fwmark}")
        for p in snap.peers:
            out.append(f"public_key={p.public_key.hex()}")
            out.append(f"preshared_key={p.preshared_key.hex()}")
            out.append("protocol_version=1")
            if p.endpoint is not None:
                out.append(f"endpoint={format_endpoint(p.endpoint)}")
            out.append(f"last_handshake_time_sec={p.last_handshake_sec}")
            out.append(f"last_handshake_time_nsec={p.last_handshake_nsec}")
            out.append(f"tx_bytes={p.tx_bytes}")
            out.append(f"rx_bytes={p.rx_bytes}")
            out.append(f"persistent_keepalive_interval={p.persistent_keepalive}")
            out.extend(f"allowed_ip={net}" for net in p.allowed_ips)
        return out

    # --- set ---
    def uapi_set(self, pairs: list[tuple[str, str]]) -> None:
        peer: Peer | None = None
        in_peers = False  # after the first public_key, every key is a peer key
        try:
            for key, value in pairs:
                if key == "public_key":
                    in_peers = True
                    peer = self._select_peer(value)
                elif not in_peers:
                    self._device_line(key, value)
                elif peer is not None:
                    peer = self._peer_line(peer, key, value)
                else:
                    self._check_peer_line(key, value)  # ignored peer: still validate
        except WgdroidError as e:  # the core refused a value (limits, lengths)
            raise UapiError(errno.EINVAL, f"{e.message}") from None
        finally:
            # Lines are applied one by one: what was applied before a bad line stands.
            actions, self._actions = self._actions, []
            self.hooks.dispatch(actions)

    def _device_line(self, key: str, value: str) -> None:
        dev = self.device
        now = self.hooks.now()
        try:
            if key == "private_key":
                k = _key(value)
                dev.set_private_key(None if k == _ZERO_KEY else k, now)
                # set_private_key may drop a peer whose key is our own new one.
                return
            if key == "listen_port":
                port = _uint(value, 16)
            elif key == "fwmark":
                mark = _uint(value, 32)
            elif key == "replace_peers":
                _true(value)
                for p in list(dev.peers.values()):
                    self.hooks.forget_peer(p)
                dev.replace_peers()
                return
            else:
                raise ValueError("unknown device key")
        except ValueError as e:
            raise UapiError(errno.EINVAL, f"invalid {key!r}: {e}") from None
        try:
            if key == "listen_port":
                dev.listen_port = self.hooks.bind(port)
            else:
                self.hooks.set_fwmark(mark)
                dev.fwmark = mark
        except OSError as e:
            raise UapiError(errno.EADDRINUSE, f"{key}: {e.strerror}") from None

    def _select_peer(self, value: str) -> Peer | None:
        try:
            pk = _key(value)
        except ValueError as e:
            raise UapiError(errno.EINVAL, f"invalid public_key: {e}") from None
        existed = pk in self.device.peers
        peer = self.device.add_or_update_peer(pk)  # CoreLimitError beyond MAX_PEERS
        if peer is not None:
            self._created = not existed
        return peer

    def _check_peer_line(self, key: str, value: str) -> None:
        """Lines for an ignored peer (our own key, removed, update_only): syntax only."""
        try:
            if key in ("remove", "update_only", "replace_allowed_ips"):
                _true(value)
            elif key == "preshared_key":
                _key(value)
            elif key == "endpoint":
                parse_endpoint(value)
            elif key == "persistent_keepalive_interval":
                _uint(value, 16)
            elif key == "allowed_ip":
                ipaddress.ip_network(value.removeprefix("-"), strict=False)
            elif key == "protocol_version":
                if value != "1":
                    raise ValueError("only protocol_version=1")
            else:
                raise ValueError("unknown peer key")
        except ValueError as e:
            raise UapiError(errno.EINVAL, f"invalid {key!r}: {e}") from None

    def _peer_line(self, peer: Peer, key: str, value: str) -> Peer | None:
        self._check_peer_line(key, value)
        dev = self.device
        if key == "remove":
            self.hooks.forget_peer(peer)
            dev.remove_peer(peer.public_key)
            return None
        if key == "update_only":
            if self._created:
                self.hooks.forget_peer(peer)
                dev.remove_peer(peer.public_key)
                return None
            return peer
        if key == "preshared_key":
            k = _key(value)
            peer.set_preshared_key(None if k == _ZERO_KEY else k)
        elif key == "endpoint":
            peer.endpoint = parse_endpoint(value)
        elif key == "persistent_keepalive_interval":
            self._actions += peer.set_persistent_keepalive(int(value), self.hooks.now())
        elif key == "replace_allowed_ips":
            dev.clear_allowed_ips(peer)
        elif key == "allowed_ip":
            if value.startswith("-"):
                dev.remove_allowed_ip(peer, ipaddress.ip_network(value[1:], strict=False))
            else:
                dev.add_allowed_ip(peer, ipaddress.ip_network(value, strict=False))
        return peer

    _created = False
