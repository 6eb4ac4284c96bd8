"""UAPI get/set semantics (docs/dataplane.md, "UAPI") on the real core Device, without a socket."""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Iterator

import pytest

from wgdroid.config.keys import generate_private_raw, public_raw
from wgdroid.userspace.core import Action, Device, Peer, SendDatagram
from wgdroid.userspace.uapi_config import UapiConfig, parse_endpoint
from wgdroid.userspace.uapi_server import UapiError
from wgdroid.userspace.udp import UdpBind


class Hooks:
    def __init__(self) -> None:
        self.udp = UdpBind()
        self.forgotten: list[Peer] = []
        self.dispatched: list[Action] = []

    def bind(self, port: int) -> int:
        return self.udp.open(port)

    def set_fwmark(self, mark: int) -> None:
        self.udp.fwmark = mark  # SO_MARK needs CAP_NET_ADMIN; the daemon tests cover it

    def forget_peer(self, peer: Peer) -> None:
        self.forgotten.append(peer)

    def now(self) -> float:
        return time.monotonic()

    def dispatch(self, actions: list[Action]) -> None:
        self.dispatched += actions


@pytest.fixture
def cfg() -> Iterator[UapiConfig]:
    hooks = Hooks()
    yield UapiConfig(Device(), hooks)
    hooks.udp.close()


def pairs(text: str) -> list[tuple[str, str]]:
    return [tuple(line.split("=", 1)) for line in text.strip().splitlines()]  # type: ignore[misc]


def code(cfg: UapiConfig, text: str) -> int:
    try:
        cfg.uapi_set(pairs(text))
    except UapiError as e:
        return -e.code
    return 0


def test_set_then_get_round_trip(cfg: UapiConfig) -> None:
    priv = generate_private_raw()
    peer = public_raw(generate_private_raw())
    psk = bytes(range(32))
    assert code(cfg, f"""
private_key={priv.hex()}
listen_port=0
public_key={peer.hex()}
preshared_key={psk.hex()}
endpoint=[fd00::5]:51820
persistent_keepalive_interval=0
replace_allowed_ips=true
allowed_ip=10.0.0.0/24
allowed_ip=fd00:1::/64
protocol_version=1
""") == 0
    got = cfg.uapi_get()
    assert got[0] == f"private_key={priv.hex()}"
    assert got[1].startswith("listen_port=")
    assert int(got[1].split("=")[1]) > 0  # port 0 picks one
    assert got[2:] == [
        f"public_key={peer.hex()}", f"preshared_key={psk.hex()}", "protocol_version=1",
        "endpoint=[fd00::5]:51820", "last_handshake_time_sec=0", "last_handshake_time_nsec=0",
        "tx_bytes=0", "rx_bytes=0", "persistent_keepalive_interval=0",
        "allowed_ip=10.0.0.0/24", "allowed_ip=fd00:1::/64",
    ]


def test_empty_device_get(cfg: UapiConfig) -> None:
    assert cfg.uapi_get() == []  # no key, no port, no fwmark, no peers


@pytest.mark.parametrize("text", [
    "private_key=123",
    "private_key=" + "zz" * 32,
    "listen_port=65536",
    "listen_port=-1",
    "fwmark=x",
    "replace_peers=false",
    "bogus_key=1",
    "public_key=abc",
    "public_key=" + "11" * 32 + "\nprotocol_version=2",
    "public_key=" + "11" * 32 + "\nendpoint=1.2.3.4",
    "public_key=" + "11" * 32 + "\nendpoint=[::1:51820",
    "public_key=" + "11" * 32 + "\nallowed_ip=10.0.0.0/33",
    "public_key=" + "11" * 32 + "\npersistent_keepalive_interval=65536",
    "public_key=" + "11" * 32 + "\nlisten_port=1",  # device key after a peer
])
def test_bad_values_are_einval(cfg: UapiConfig, text: str) -> None:
    assert code(cfg, text) == -errno.EINVAL


def test_listen_port_in_use_is_eaddrinuse(cfg: UapiConfig) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("0.0.0.0", 0))
        assert code(cfg, f"listen_port={s.getsockname()[1]}") == -errno.EADDRINUSE


def test_line_by_line_remove_update_only_and_replace(cfg: UapiConfig) -> None:
    a, b, c = (public_raw(generate_private_raw()) for _ in range(3))
    assert code(cfg, f"public_key={a.hex()}\nallowed_ip=10.0.0.1/32\nallowed_ip=10.0.0.2/32\n"
                     f"public_key={b.hex()}\nallowed_ip=10.0.1.0/24") == 0
    # update_only does not create c; a prefix is removed with a leading '-'.
    assert code(cfg, f"public_key={c.hex()}\nupdate_only=true\nallowed_ip=10.9.0.0/16\n"
                     f"public_key={a.hex()}\nupdate_only=true\nallowed_ip=-10.0.0.2/32") == 0
    peers = set(cfg.device.peers)
    assert peers == {a, b}
    got = cfg.uapi_get()
    assert "allowed_ip=10.0.0.2/32" not in got
    assert "allowed_ip=10.0.0.1/32" in got
    # Not transactional: the line before the bad one stays applied.
    assert code(cfg, f"public_key={b.hex()}\nremove=true\npublic_key={a.hex()}\nbogus=1") < 0
    assert set(cfg.device.peers) == {a}
    hooks = cfg.hooks
    assert isinstance(hooks, Hooks)
    assert [p.public_key for p in hooks.forgotten] == [c, b]  # update_only undid c
    assert code(cfg, "replace_peers=true") == 0
    assert cfg.device.peers == {}


def test_own_public_key_is_ignored(cfg: UapiConfig) -> None:
    priv = generate_private_raw()
    assert code(cfg, f"private_key={priv.hex()}\npublic_key={public_raw(priv).hex()}\n"
                     "allowed_ip=10.0.0.0/8") == 0
    assert cfg.device.peers == {}


def test_zero_private_key_clears(cfg: UapiConfig) -> None:
    assert code(cfg, f"private_key={generate_private_raw().hex()}") == 0
    assert code(cfg, "private_key=" + "00" * 32) == 0
    assert not any(line.startswith("private_key=") for line in cfg.uapi_get())


def test_parse_endpoint() -> None:
    assert parse_endpoint("10.0.0.1:51820") == ("10.0.0.1", 51820)
    assert parse_endpoint("[fe80::1%eth0]:1") == ("fe80::1", 1)
    for bad in ("10.0.0.1", "[::1]", "host:1", "1.2.3.4:0", "1.2.3.4:70000", "::1:5"):
        with pytest.raises(ValueError):  # noqa: PT011
            parse_endpoint(bad)


def test_enabling_persistent_keepalive_hands_its_first_packet_to_the_shell(
        cfg: UapiConfig) -> None:
    """The core returns the keepalive (here: the initiation it needs first) as an
    action; the set hands it to the shell's dispatch, even when a later line fails."""
    peer = public_raw(generate_private_raw())
    assert code(cfg, f"""
private_key={generate_private_raw().hex()}
public_key={peer.hex()}
endpoint=10.0.0.9:51820
persistent_keepalive_interval=25
bogus=1
""") == -errno.EINVAL
    hooks = cfg.hooks
    assert isinstance(hooks, Hooks)
    assert [(type(a), len(a.data), a.endpoint) for a in hooks.dispatched
            if isinstance(a, SendDatagram)] == [(SendDatagram, 148, ("10.0.0.9", 51820))]
    assert len(hooks.dispatched) == 1
    assert code(cfg, f"public_key={peer.hex()}\npersistent_keepalive_interval=25") == 0
    assert len(hooks.dispatched) == 1  # already on: nothing new to send
