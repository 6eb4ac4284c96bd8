"""The simulated phone's netd, binder and DNS pieces as pure units: the rules
RouteController installs, what `service call` writes and prints, DNS wire
messages, su's argv as each root solution reads it."""

from __future__ import annotations

import pytest

from wgdroid.sim import dnswire
from wgdroid.sim.dnsserver import views
from wgdroid.sim.phone import binder
from wgdroid.sim.phone import netd_routes as rc
from wgdroid.sim.phone.netd import _uid_ranges, encode_resolver_params
from wgdroid.sim.phone.su_variants import SuRun, parse


def rule(r: rc.Rule) -> str:
    return " ".join(r.args())


def test_init_rules_end_unreachable_and_never_look_up_main() -> None:
    rules = [rule(r) for r in rc.init_rules()]
    assert rules == [
        "pref 10000 fwmark 0xc0000/0xd0000 lookup 99",
        "pref 16000 fwmark 0x10063/0x1ffff iif lo lookup 97",
        "pref 18000 fwmark 0x0/0x10000 lookup 99",
        "pref 19000 fwmark 0x0/0x10000 lookup 98",
        "pref 20000 fwmark 0x0/0x10000 lookup 97",
        "pref 32000 unreachable",
    ]
    assert all("254" not in r for r in rules)


def test_physical_default_network_rules() -> None:
    table = rc.interface_table(2)
    assert table == 1002
    rules = [rule(r) for r in rc.physical_network_rules(100, "wlan0", table, 0)]
    assert rules == [
        "pref 16000 fwmark 0x10064/0x1ffff iif lo lookup 1002",
        "pref 11000 iif lo oif wlan0 uidrange 0-0 lookup 1002",
        "pref 17000 iif lo oif wlan0 lookup 1002",
        "pref 23000 fwmark 0x64/0x1ffff iif lo lookup 1002",
    ]
    assert rule(rc.default_network_rule(table, 0)) == \
        "pref 31000 fwmark 0x0/0xffff iif lo lookup 1002"


def test_secure_vpn_rules_select_its_users_unless_protected() -> None:
    table = 1005
    rules = [rule(r) for r in rc.virtual_network_rules(4242, "wg0", table, secure=True)]
    assert rules == [
        "pref 12000 iif wg0 lookup 97",
        "pref 13000 fwmark 0xc1092/0xcffff lookup 1005",  # what android.c's del_if parses
        "pref 16000 fwmark 0x11092/0x1ffff iif lo uidrange 0-0 lookup 1005",
    ]
    users = [rule(r) for r in rc.virtual_user_rules(4242, "wg0", table, (0, 99999), secure=True)]
    assert users[0] == "pref 13000 fwmark 0x0/0x20000 iif lo uidrange 0-99999 lookup 1005"
    assert rule(rc.vpn_fallthrough_rule(4242, 1002, 0)) == \
        "pref 28000 fwmark 0x1092/0xffff lookup 1002"


def test_local_routes_and_table_names() -> None:
    assert rc.is_local_route("10.99.0.1/32", None)
    assert not rc.is_local_route("0.0.0.0/0", "172.16.0.5")
    assert not rc.is_local_route("8.8.8.8/32", None)
    assert rc.is_local_route("fd00::/64", None) and not rc.is_local_route("::/0", None)
    names = rc.table_names({"eth0": 1002, "wg0": 1005})
    assert "254 main\n" in names and "1002 eth0\n" in names
    assert "1000000002 eth0_local\n" in names and "1000000005 wg0_local\n" in names


def test_uid_ranges_as_netd_parses_them() -> None:
    assert _uid_ranges(["10123", "0-99"]) == [(0, 99), (10123, 10123)]
    for bad in (["9-1"], ["1-"], ["x"], [""], ["1-2-3"]):
        assert _uid_ranges(bad) is None, bad


def test_service_call_writes_what_android_c_writes() -> None:
    """`service call dnsresolver 3 i32 1 i32 SIZE ...` builds the same bytes as
    android.c's setResolverConfiguration parcel."""
    expected = encode_resolver_params(4242, ["10.99.0.1"], ["sim.test"])
    size = len(expected.data) - 4
    args = ["i32", "1", "i32", str(size)]
    for value in (4242, 1800, 25, 8, 8, 5000, 2):
        args += ["i32", str(value)]
    args += ["i32", "1", "s16", "10.99.0.1", "i32", "1", "s16", "sim.test", "s16", "",
             "i32", "0", "i32", "0"]
    assert binder.from_service_args(args).data == expected.data
    with pytest.raises(ValueError, match="no integer supplied for 'i32'"):
        binder.from_service_args(["i32"])
    with pytest.raises(ValueError, match="unknown option x"):
        binder.from_service_args(["x"])


def test_parcel_strings_and_replies() -> None:
    p = binder.Parcel()
    p.write_string16("héllo")
    p.write_string16(None)
    p.pos = 0
    assert p.read_string16() == "héllo" and p.read_string16() is None
    with pytest.raises(binder.ParcelError):
        p.read_int32()
    assert binder.print_parcel(binder.reply_ok()).startswith("Parcel(00000000 ")
    err = binder.print_parcel(binder.reply_exception(binder.EX_SERVICE_SPECIFIC, "No such", 2))
    assert err.startswith("Parcel(\n  0x00000000: fffffff8 ")
    assert binder.print_parcel(None) == "Parcel(NULL)"


def _query(name: str, qtype: int = dnswire.TYPE_A) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    return b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + labels + b"\x00" + \
        qtype.to_bytes(2, "big") + b"\x00\x01"


def test_simulated_internet_dns_views() -> None:
    uplink, tunnel = views("192.0.2.1", "192.0.2.2", "10.99.0.1")
    answer = uplink.respond(_query("VPN.sim.test"))
    assert answer is not None and dnswire.rcode_of(answer) == 0
    assert dnswire.answer_count(answer) == 1 and answer.endswith(bytes([192, 0, 2, 1]))
    assert dnswire.answer_count(uplink.respond(_query("many.sim.test")) or b"") == 2
    nodata = uplink.respond(_query("nodata.sim.test")) or b""
    assert dnswire.rcode_of(nodata) == 0 and dnswire.answer_count(nodata) == 0
    assert dnswire.rcode_of(uplink.respond(_query("inside.sim.test")) or b"") == 3
    inside = tunnel.respond(_query("inside.sim.test")) or b""
    assert inside.endswith(bytes([10, 99, 0, 1]))
    assert uplink.respond(_query("timeout.sim.test")) is None
    assert dnswire.answer_count(uplink.respond(_query("vpn.sim.test", 28)) or b"") == 0
    assert uplink.respond(b"\x00") is None  # not even an id to answer


def test_dns_over_tcp_frames_each_answer_and_closes_or_waits_when_unanswered() -> None:
    import asyncio

    async def exchange(close_unanswered: bool) -> tuple[bytes, bool]:
        async def answer(query: bytes) -> bytes | None:
            return None if query == b"silent" else query.upper()

        server = await asyncio.start_server(
            lambda r, w: dnswire.serve_tcp(r, w, answer, close_unanswered=close_unanswered),
            "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(dnswire.tcp_frame(b"abc") + dnswire.tcp_frame(b"silent"))
        await writer.drain()
        got = await asyncio.wait_for(reader.readexactly(5), 10)
        # Closed by the server (b""), or still open: nothing to read in a while
        # (a close comes at once; the wait for one is long only where it must come).
        try:
            closed = await asyncio.wait_for(reader.read(1),
                                            10 if close_unanswered else 0.5) == b""
        except TimeoutError:
            closed = False
        writer.close()
        server.close()
        await server.wait_closed()
        return got, closed

    assert asyncio.run(exchange(True)) == (b"\x00\x03ABC", True)
    assert asyncio.run(exchange(False)) == (b"\x00\x03ABC", False)


def test_su_to_an_app_uid() -> None:
    assert parse("magisk", ["10123", "-c", "ping", "-c", "1", "x"]) == SuRun(
        ("/system/bin/sh", "-c", "ping -c 1 x"), 10123)
    assert parse("kernelsu", ["10123", "-c", "id -u"]) == SuRun(
        ("/system/bin/sh", "-c", "id -u"), 10123, needs_grant=False)
    # su.cpp: getopt_long permutes, so `su 0 sh -c CMD` runs CMD as root.
    assert parse("magisk", ["0", "sh", "-c", "id"]) == SuRun(("/system/bin/sh", "-c", "id"), 0)
