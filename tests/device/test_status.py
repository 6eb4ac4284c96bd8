"""Pure tests of the status parser and rates (the script that hides the keys:
test_sh.py)."""

from __future__ import annotations

import pytest
from wg_dump import DUMP, PEER1, PRIV, PSK, PUB

from wgdroid.device.status import (
    DeviceStatus,
    parse_dump_lines,
    parse_status_output,
    status_json,
    with_rates,
)
from wgdroid.errors import DeviceCommandError


def test_dump_lines_parse_by_field_count() -> None:
    ifaces, peers = parse_dump_lines(DUMP)
    assert [i.name for i in ifaces] == ["wg0", "wg1"]
    assert ifaces[0].public_key == PUB and ifaces[0].listen_port == 51820
    assert ifaces[0].fwmark is None and ifaces[1].fwmark == 0x20000
    p1, p2 = peers["wg0"]
    assert p1.preshared_key is True and p1.endpoint == "198.51.100.1:51820"
    assert p1.allowed_ips == ["10.0.0.0/24", "fd00::/64"]
    assert (p1.latest_handshake, p1.rx_bytes, p1.tx_bytes) == (1700000000, 1372, 1460)
    assert p1.persistent_keepalive == 25
    assert p2.preshared_key is False and p2.endpoint is None and p2.allowed_ips == []
    assert p2.latest_handshake is None and p2.persistent_keepalive is None
    assert "wg1" not in peers


def test_parsed_objects_hold_no_secret() -> None:
    ifaces, peers = parse_dump_lines(DUMP)
    text = repr(ifaces) + repr(peers) + repr([i.to_json() for i in ifaces])
    assert PRIV not in text and PSK not in text


def test_bad_dump_line_names_the_line_not_the_content() -> None:
    with pytest.raises(DeviceCommandError) as info:
        parse_dump_lines([DUMP[0], f"wg0\t{PRIV}\tgarbage"])
    assert "line 2" in info.value.message and PRIV not in info.value.message
    with pytest.raises(DeviceCommandError):
        parse_dump_lines([f"wg0\t{PEER1}\t{PSK}\t(none)\t(none)\tnotanumber\t0\t0\toff"])


def _script_output(rx: int, tx: int, first: tuple[int, int] | None) -> str:
    lines = [
        "now\t1700000100",
        "iface\twg0\ttun\t7\t1700000000 wireguard-go 7",
        "iface\twg1\tkernel\t9\t1700000000 kernel 3",  # a stale note: other ifindex
    ]
    if first:
        lines.append(f"xfer\twg0\t{PEER1}\t{first[0]}\t{first[1]}")
    lines += [
        f"dump\twg0\t(hidden)\t{PUB}\t51820\toff",
        f"dump\twg0\t{PEER1}\t(hidden)\t1.2.3.4:5\t10.0.0.0/24\t1700000090\t{rx}\t{tx}\toff",
        f"dump\twg1\t(hidden)\t{PUB}\t51821\toff",
    ]
    return "\n".join(lines) + "\n"


def test_status_output_ages_uptime_backend_and_rates() -> None:
    st = parse_status_output("S1", _script_output(3000, 5000, (1000, 1000)), 2.0)
    assert st.device_time == 1700000100 and st.sample_seconds == 2.0
    wg0, wg1 = st.interfaces
    assert (wg0.backend, wg0.up_since, wg0.uptime) == ("wireguard-go", 1700000000, 100)
    assert (wg1.backend, wg1.up_since, wg1.uptime) == ("kernel", None, None)
    peer = wg0.peers[0]
    assert peer.handshake_age == 10
    assert (peer.rx_rate, peer.tx_rate) == (1000.0, 2000.0)
    doc = status_json([st.to_json()])
    assert doc["schema"] == 1
    assert doc["devices"][0]["interfaces"][0]["peers"][0]["handshake_age_seconds"] == 10


def test_status_without_sample_has_no_rates() -> None:
    st = parse_status_output("S1", _script_output(3000, 5000, None), None)
    assert st.sample_seconds is None
    assert st.interfaces[0].peers[0].rx_rate is None


def test_rates_between_polls_and_counter_reset() -> None:
    a = parse_status_output("S", _script_output(1000, 2000, None))
    b = parse_status_output("S", _script_output(1500, 2600, None))
    rated = with_rates(a, b, 0.5)
    peer = rated.interfaces[0].peers[0]
    assert (peer.rx_rate, peer.tx_rate) == (1000.0, 1200.0)
    assert rated.sample_seconds == 0.5
    reset = with_rates(b, a, 1.0)  # counters went down: the tunnel restarted
    assert reset.interfaces[0].peers[0].rx_rate is None


def test_empty_status() -> None:
    st = parse_status_output("S", "now\t5\n")
    assert st == DeviceStatus("S", 5, [], None)
