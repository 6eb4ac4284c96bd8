"""Our userspace WireGuard against the real wireguard-go, in real network namespaces.

Each test builds two namespaces joined by a veth pair (tests/userspace/netpair.py)
and tears everything down even on failure. No timing assertions: throughput is
the bench's job (scripts/bench-dataplane).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from netpair import Impl, Pair, Side, iperf3, stop
from support import wait_until

from wgdroid.config.keys import encode
from wgdroid.userspace.accel import load as load_accel

pytestmark = pytest.mark.sim


def dump(side: Side) -> list[list[str]]:
    return [line.split("\t") for line in side.wg("show", side.iface, "dump").splitlines()]


def peer_line(side: Side) -> list[str]:
    lines = dump(side)
    assert len(lines) == 2
    return lines[1]


def assert_ping(pair: Pair, src: Side, dst: str, count: int = 3) -> None:
    r = pair.ping(src, dst, count=count)
    assert f"{count} received" in r.stdout, r.stdout + r.stderr + src.log_text()[-3000:]


def ours(pair: Pair) -> Side:
    return pair.a if pair.a.impl == "ours" else pair.b


def assert_no_secrets(pair: Pair) -> None:
    s = ours(pair)
    text = s.log_text()
    for secret in (s.private.hex(), encode(s.private)):
        assert secret not in text


BOTH_WAYS = pytest.mark.parametrize(
    ("impl_a", "impl_b"),
    [("ours", "wireguard-go"), ("wireguard-go", "ours")],
    ids=["ours-initiates", "wireguard-go-initiates"],
)


@BOTH_WAYS
def test_handshake_ping_and_tcp_both_ways(impl_a: Impl, impl_b: Impl) -> None:
    with Pair(impl_a, impl_b, psk=True) as p:
        assert_ping(p, p.a, p.b.addr4)
        assert_ping(p, p.b, p.a.addr6)
        for s in (p.a, p.b):
            assert int(peer_line(s)[4]) > 0  # latest handshake
        # Both ends count the same datagram bytes (handshake + data + keepalives),
        # once the last datagram in flight has landed.
        a_peer, b_peer = wait_until(lambda: (peer_line(p.a), peer_line(p.b)),
                                    check=lambda ab: (ab[0][5], ab[0][6]) == (ab[1][6], ab[1][5]),
                                    timeout=10, interval=0.05,
                                    what="both ends to count the same bytes")
        assert (a_peer[5], a_peer[6]) == (b_peer[6], b_peer[5])
        assert b_peer[2] == f"{p.a.underlay4}:{p.a.port}"  # B learned A's endpoint
        for reverse in (False, True):
            assert iperf3(p.a, p.b, reverse=reverse).received_bytes > 1_000_000
        assert p.a.alive()
        assert p.b.alive()
        assert stop(ours(p)) == 0
        m = re.search(r"(\d+) packets to the TUN in (\d+) writes", ours(p).log_text())
        assert m, ours(p).log_text()[-2000:]
        assert int(m.group(2)) < int(m.group(1))  # TCP segments were coalesced (GRO)
        assert_no_secrets(p)


def test_ours_with_ours() -> None:
    with Pair("ours", "ours", env_a={"WGDROID_WORKERS": "threads:2"},
              env_b={"WGDROID_WORKERS": "processes:2"}) as p:
        assert_ping(p, p.a, p.b.addr4)
        assert_ping(p, p.b, p.a.addr6)
        assert iperf3(p.a, p.b).received_bytes > 1_000_000


def test_forced_rekey_with_the_timer_knob() -> None:
    # Scale 40: REKEY_AFTER_TIME 120 s -> 3 s, REJECT_AFTER_TIME 180 s -> 4.5 s.
    with Pair("ours", "wireguard-go", env_a={"WGDROID_TEST_TIMER_SCALE": "40"}) as p:
        assert_ping(p, p.a, p.b.addr4)
        first = int(peer_line(p.b)[4])
        r = p.ping(p.a, p.b.addr4, count=30, interval=0.2)
        later = int(peer_line(p.b)[4])
        assert later > first, p.a.log_text()[-2000:]  # wireguard-go saw a new handshake
        received = int(r.stdout.split(" received")[0].rsplit(" ", 1)[-1])
        assert received >= 27, r.stdout  # the rekey does not interrupt traffic
        assert "tests only" in p.a.log_text()  # the knob announces itself


@BOTH_WAYS
def test_roaming_endpoint_change(impl_a: Impl, impl_b: Impl) -> None:
    with Pair(impl_a, impl_b) as p:
        assert_ping(p, p.a, p.b.addr4)
        assert peer_line(p.b)[2] == f"{p.a.underlay4}:{p.a.port}"
        p.a.wg("set", p.a.iface, "listen-port", "40001")
        assert_ping(p, p.a, p.b.addr4)
        assert peer_line(p.b)[2] == f"{p.a.underlay4}:40001"
        # And back over IPv6: A now talks to B's IPv6 underlay address.
        p.a.wg("set", p.a.iface, "peer", encode(p.b.public), "endpoint",
               f"[{p.b.underlay6}]:{p.b.port}")
        assert_ping(p, p.a, p.b.addr6)
        assert peer_line(p.b)[2] == f"[{p.a.underlay6}]:40001"
        assert_ping(p, p.b, p.a.addr4)  # B answers at the roamed endpoint


def _mac1_initiation(responder_public: bytes, sender: int) -> bytes:
    msg = bytearray(os.urandom(148))
    msg[0:4] = b"\x01\x00\x00\x00"
    msg[4:8] = sender.to_bytes(4, "little")
    mac1_key = hashlib.blake2s(b"mac1----" + responder_public).digest()
    msg[116:132] = hashlib.blake2s(bytes(msg[:116]), key=mac1_key, digest_size=16).digest()
    msg[132:148] = bytes(16)
    return bytes(msg)


FLOOD = r"""
import socket, sys, time
msgs = [bytes.fromhex(l) for l in sys.stdin.read().split()]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
host, port = sys.argv[1], int(sys.argv[2])
replies = []
end = time.monotonic() + float(sys.argv[3])
i = 0
while time.monotonic() < end:
    try:
        s.sendto(msgs[i % len(msgs)], (host, port))
    except BlockingIOError:
        pass
    i += 1
    try:
        while True:
            replies.append(s.recv(2048).hex())
    except BlockingIOError:
        pass
s.settimeout(0.5)  # the late replies: until none came for 0.5 s
try:
    while True:
        replies.append(s.recv(2048).hex())
except TimeoutError:
    pass
print(i)
print("\n".join(replies))
"""


def test_cookie_replies_under_a_flood_of_initiations() -> None:
    with Pair("wireguard-go", "ours") as p:
        assert_ping(p, p.a, p.b.addr4)
        senders = list(range(1000, 1200))
        msgs = "\n".join(_mac1_initiation(p.b.public, i).hex() for i in senders)
        r = subprocess.run(p.a.ns_cmd(sys.executable, "-c", FLOOD, p.b.underlay4, str(p.b.port),
                                      "2.0"),
                           input=msgs, capture_output=True, text=True, timeout=30)
        lines = r.stdout.split()
        sent, replies = int(lines[0]), [bytes.fromhex(x) for x in lines[1:]]
        cookies = [m for m in replies if m[:4] == b"\x03\x00\x00\x00"]
        assert sent > 1000
        assert cookies, f"no cookie reply among {len(replies)} replies to {sent} initiations"
        assert all(len(c) == 64 for c in cookies)
        assert {int.from_bytes(c[4:8], "little") for c in cookies} <= set(senders)
        assert p.b.alive()
        # "under load" is sticky for 1 s after the flood: until then a new handshake
        # may get a cookie reply; wait for one ping to get through, then ping as usual.
        wait_until(lambda: p.ping(p.a, p.b.addr4, count=1, wait=1),
                   check=lambda r: "1 received" in r.stdout, timeout=10, interval=0.05,
                   what="a ping through once the flood is over")
        assert_ping(p, p.a, p.b.addr4)


def test_ours_retries_with_the_cookie_of_a_loaded_wireguard_go() -> None:
    """wireguard-go under load answers our initiation with a cookie reply; our retry
    (REKEY_TIMEOUT, shortened by the timer knob) carries mac2 and is accepted."""
    with Pair("ours", "wireguard-go", env_a={"WGDROID_TEST_TIMER_SCALE": "10"}) as p:
        msgs = "\n".join(_mac1_initiation(p.b.public, i).hex() for i in range(100))
        flood = subprocess.Popen(
            p.a.ns_cmd(sys.executable, "-c", FLOOD, p.b.underlay4, str(p.b.port), "8.0"),
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        try:
            assert flood.stdin is not None
            flood.stdin.write(msgs)
            flood.stdin.close()
            wait_until(p.b.log_text, check=lambda log: "Sending cookie response" in log,
                       timeout=5, interval=0.05, what="wireguard-go under load")
            # A full handshake queue may drop some initiations: ping until one gets through.
            r = p.a.run("ping", "-c", "1", "-i", "0.5", "-w", "7", p.b.addr4, check=False)
        finally:
            flood.kill()
            flood.wait(5)
        got = re.search(r"(\d+) received", r.stdout)
        assert got, r.stdout
        assert int(got.group(1)) >= 1, r.stdout + p.b.log_text()[-3000:]
        log = p.b.log_text()
        ours_ep = f"{p.a.underlay4}:{p.a.port}"
        denied = log.find(f"Sending cookie response for denied handshake message for {ours_ep}")
        assert denied >= 0, "our first initiation was not refused with a cookie"
        assert "Received handshake initiation" in log[denied:]


def test_show_and_showconf_match_wireguard_go() -> None:
    with Pair("ours", "wireguard-go") as p:
        keys = [os.urandom(32) for _ in range(3)]
        conf = "\n".join([
            "[Interface]", f"PrivateKey = {encode(p.a.private)}", "ListenPort = 51999",
            "FwMark = 0x1234",
            "[Peer]", f"PublicKey = {encode(p.b.public)}", f"PresharedKey = {encode(keys[0])}",
            "AllowedIPs = 10.1.0.0/16, 10.2.3.4/32, fd11::/48", "Endpoint = 10.99.0.77:1234",
            "[Peer]", f"PublicKey = {encode(keys[1])}", "AllowedIPs = 10.1.2.0/24, ::/0",
            "PersistentKeepalive = 25",
            "[Peer]", f"PublicKey = {encode(keys[2])}", "Endpoint = [fd99::77]:5555",
            "AllowedIPs = 0.0.0.0/0",
        ]) + "\n"
        path = p.tmp / "same.conf"
        path.write_text(conf)
        os.chmod(path, 0o600)
        for s in (p.a, p.b):
            s.run("ip", "link", "set", s.iface, "down")
            s.wg("setconf", s.iface, str(path))

        def norm_conf(text: str) -> list[list[str]]:
            blocks = [b.strip().splitlines() for b in text.split("\n\n") if b.strip()]
            out = []
            for b in blocks:
                lines = []
                for line in b:
                    if line.startswith("AllowedIPs"):
                        k, v = line.split(" = ")
                        line = k + " = " + ",".join(sorted(v.split(", ")))
                    lines.append(line)
                out.append(sorted(lines))
            return [out[0], *sorted(out[1:])]

        def norm_dump(side: Side) -> list[list[str]]:
            lines = dump(side)
            peers = []
            for f in lines[1:]:
                f[3] = ",".join(sorted(f[3].split(",")))
                # Handshake time and transfer depend on stray packets, not on config.
                assert all(x.isdigit() for x in f[4:7])
                peers.append(f[:4] + f[7:])
            return [lines[0], *sorted(peers)]

        ours_conf = p.a.wg("showconf", p.a.iface)
        assert norm_conf(ours_conf) == norm_conf(p.b.wg("showconf", p.b.iface))
        assert norm_dump(p.a) == norm_dump(p.b)
        assert "fwmark: 0x1234" in p.a.wg("show", p.a.iface)
        # Removing one prefix and one peer, then comparing again.
        for s in (p.a, p.b):
            s.wg("set", s.iface, "peer", encode(keys[2]), "remove",
                 "peer", encode(keys[1]), "allowed-ips", "10.1.2.0/24")
        assert norm_dump(p.a) == norm_dump(p.b)


def _userspace_impl(tmp: Path) -> str:
    script = Path(sys.executable).parent / "wgdroid-userspace"
    if script.exists():
        return str(script)
    wrapper = tmp / "wgdroid-userspace"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} -m wgdroid.userspace "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def _procs_with(word: str) -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if word.encode() in (d / "cmdline").read_bytes():
                    pids.append(int(d.name))
            except OSError:
                pass
    return pids


def test_wg_quick_up_and_down_with_ours() -> None:
    with Pair("ours", "wireguard-go") as p:
        assert stop(p.a) == 0  # SIGTERM: clean exit
        assert not os.path.exists(p.a.sock)
        conf = p.tmp / f"{p.a.iface}.conf"
        conf.write_text("\n".join([
            "[Interface]", f"PrivateKey = {encode(p.a.private)}", f"ListenPort = {p.a.port}",
            f"Address = {p.a.addr4}/24, {p.a.addr6}/64", "MTU = 1400",
            "[Peer]", f"PublicKey = {encode(p.b.public)}",
            f"AllowedIPs = {p.b.addr4}/32, {p.b.addr6}/128",
            f"Endpoint = {p.b.underlay4}:{p.b.port}",
        ]) + "\n")
        os.chmod(conf, 0o600)
        env = {"WG_QUICK_USERSPACE_IMPLEMENTATION": _userspace_impl(p.tmp),
               "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        try:
            up = p.a.run("wg-quick", "up", str(conf), env=env, check=False)
            assert up.returncode == 0, up.stderr
            assert "Falling back to slow userspace implementation" in up.stderr
            assert os.path.exists(p.a.sock)
            assert_ping(p, p.a, p.b.addr4)
            assert_ping(p, p.b, p.a.addr6)
            assert p.a.run("cat", f"/sys/class/net/{p.a.iface}/mtu").stdout.strip() == "1400"
        finally:
            down = p.a.run("wg-quick", "down", str(conf), env=env, check=False)
            with contextlib.suppress(AssertionError):  # leftovers are killed, then asserted
                wait_until(lambda: _procs_with(p.a.iface), check=lambda pids: not pids,
                           timeout=5, what="the daemon to exit after wg-quick down")
            leftovers = _procs_with(p.a.iface)
            for pid in leftovers:  # the daemon wg-quick started for this test, by pid
                os.kill(pid, signal.SIGKILL)
        assert down.returncode == 0, down.stderr
        assert leftovers == []
        assert not os.path.exists(p.a.sock)


def test_exit_when_the_socket_file_is_deleted() -> None:
    with Pair("ours", "wireguard-go") as p:
        os.unlink(p.a.sock)
        assert p.a.proc is not None
        assert p.a.proc.wait(10) == 0
        r = p.a.run("ip", "link", "show", p.a.iface, check=False)
        assert r.returncode != 0  # the TUN went away with the process


def test_padding_follows_mtu_changes() -> None:
    """Padding is min(MTU, align16(len)): a 1400-byte packet under MTU 1401 pads to 1401.

    wireguard-go counts received datagram bytes, so one ping shows our padding.
    """
    with Pair("ours", "wireguard-go") as p:
        assert_ping(p, p.a, p.b.addr4, count=1)

        def datagram_size_of_one_ping() -> int:
            before = int(peer_line(p.b)[5])
            r = p.a.run("ping", "-c", "1", "-W", "2", "-s", "1372", "-M", "do", p.b.addr4,
                        check=False)
            assert "1 received" in r.stdout, r.stdout + r.stderr
            return int(peer_line(p.b)[5]) - before

        def set_mtu(mtu: int) -> None:
            """The daemon learns it from rtnetlink, and logs it."""
            line = f"MTU is now {mtu}"
            before = p.a.log_text().count(line)
            p.a.run("ip", "link", "set", p.a.iface, "mtu", str(mtu))
            wait_until(p.a.log_text, check=lambda log: log.count(line) > before, timeout=10,
                       interval=0.05, what=f"the daemon to log {line!r}")

        set_mtu(1401)
        assert datagram_size_of_one_ping() == 32 + 1401
        set_mtu(1420)
        assert datagram_size_of_one_ping() == 32 + 1408
        assert "MTU is now 1401" in p.a.log_text()


def test_sigint_exits_cleanly_and_removes_the_socket() -> None:
    with Pair("ours", "wireguard-go") as p:
        assert p.a.proc is not None
        os.killpg(p.a.proc.pid, signal.SIGINT)
        assert p.a.proc.wait(10) == 0
        assert not os.path.exists(p.a.sock)
        assert "Traceback" not in p.a.log_text()


def _uapi_junk(path: str, rnd: random.Random) -> None:
    valid = [b"get=1\n\n", b"set=1\nlisten_port=51822\n\n", b"set=1\nprivate_key=zz\n\n",
             b"set=1\npublic_key=" + b"11" * 32 + b"\nallowed_ip=300.1.1.1/99\n\n",
             b"set=1\npublic_key=" + b"22" * 32 + b"\nendpoint=[::1:1\n\n"]
    for _ in range(60):
        blob = bytearray(rnd.choice(valid))
        for _ in range(rnd.randrange(4)):
            blob[rnd.randrange(len(blob))] = rnd.randrange(256)
        if rnd.random() < 0.3:
            blob = bytearray(rnd.randbytes(rnd.randrange(1, 500)))
        with socket.socket(socket.AF_UNIX) as c:
            c.settimeout(2)
            c.connect(path)
            try:
                c.sendall(bytes(blob))
                c.shutdown(socket.SHUT_WR)
                while c.recv(4096):
                    pass
            except OSError:
                pass


def test_junk_on_uapi_and_udp_never_crashes() -> None:
    with Pair("wireguard-go", "ours") as p:
        assert_ping(p, p.a, p.b.addr4)
        rnd = random.Random(7)
        _uapi_junk(p.b.sock, rnd)
        # Random and mutated datagrams of every type at our UDP port, from ns A.
        blobs = []
        for _ in range(3000):
            kind = rnd.randrange(6)
            sizes = {1: 148, 2: 92, 3: 64, 4: rnd.randrange(32, 200)}
            size = sizes.get(kind, rnd.randrange(0, 300))
            b = bytearray(rnd.randbytes(size))
            if kind in (1, 2, 3, 4) and size >= 4:
                b[0:4] = bytes([kind, 0, 0, 0])
            if kind == 5 and size >= 4:
                b[0:4] = bytes([4, 0, 0, 0])  # transport with a short/odd length
            blobs.append(bytes(b).hex())
        script = ("import socket,sys\n"
                  "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                  "for l in sys.stdin.read().split():\n"
                  "    s.sendto(bytes.fromhex(l),(sys.argv[1],int(sys.argv[2])))\n"
                  "s.sendto(b'',(sys.argv[1],int(sys.argv[2])))\n")
        subprocess.run(p.a.ns_cmd(sys.executable, "-c", script, p.b.underlay4, str(p.b.port)),
                       input="\n".join(blobs), text=True, timeout=30, check=True)
        wait_until(lambda: p.b.run("ss", "-Hunl", f"sport = :{p.b.port}").stdout,
                   check=lambda ss: ss and all(ln.split()[1] == "0" for ln in ss.splitlines()),
                   timeout=10, interval=0.05,
                   what="our daemon to read every junk datagram (Recv-Q 0)")
        assert p.b.alive(), p.b.log_text()[-3000:]
        assert_ping(p, p.a, p.b.addr4)
        assert "Traceback" not in p.b.log_text()
        # Set is line by line (like wireguard-go): junk may add peers, never lose A.
        assert encode(p.a.public) in [f[0] for f in dump(p.b)[1:]]


def test_daemonises_and_returns_once_the_socket_exists() -> None:
    with Pair("wireguard-go", "wireguard-go") as p:
        iface = p.a.iface[:14] + "x"
        # Android has no /var/run: the socket directory comes from the environment.
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
               "WGDROID_UAPI_DIR": str(p.tmp / "run")}
        r = subprocess.run(p.a.ns_cmd(sys.executable, "-m", "wgdroid.userspace", iface),
                           capture_output=True, text=True, timeout=30, env=env)
        sock = str(p.tmp / "run" / f"{iface}.sock")
        try:
            assert r.returncode == 0, r.stderr
            with socket.socket(socket.AF_UNIX) as c:  # usable at once, no waiting
                c.connect(sock)
                c.sendall(b"get=1\n\n")
                assert c.recv(4096).endswith(b"errno=0\n\n")
            assert _procs_with(iface)
        finally:
            p.a.run("ip", "link", "del", iface, check=False)
            with contextlib.suppress(AssertionError):  # leftovers are killed, then asserted
                wait_until(lambda: (os.path.exists(sock), _procs_with(iface)),
                           check=lambda left: left == (False, []), timeout=5,
                           what="the daemon and its socket to go with the link")
            leftovers = _procs_with(iface)
            for pid in leftovers:  # the daemon this test started, by pid
                os.kill(pid, signal.SIGKILL)
        assert leftovers == []
        assert not os.path.exists(sock)
        bad = subprocess.run([sys.executable, "-m", "wgdroid.userspace", "bad/name"],
                             capture_output=True, text=True, timeout=30, env=env)
        assert bad.returncode == 2
        assert "invalid interface name" in bad.stderr
        assert "Traceback" not in bad.stderr


def test_idle_uapi_connections_never_block_wg() -> None:
    """Issue 13: 40 clients connect to the UAPI socket and say nothing (the cap is
    32). The real `wg` is still answered, and `wg set` still applies."""
    with Pair("ours", "wireguard-go") as p:
        idle = []
        try:
            for _ in range(40):
                s = socket.socket(socket.AF_UNIX)
                s.connect(p.a.sock)
                idle.append(s)
            r = p.a.run("wg", "show", p.a.iface, "listen-port", check=False, timeout=20)
            assert (r.returncode, r.stdout.strip()) == (0, str(p.a.port)), r.stderr
            p.a.wg("set", p.a.iface, "listen-port", "40002")
            assert p.a.wg("show", p.a.iface, "listen-port").strip() == "40002"
            assert_ping(p, p.a, p.b.addr4)
        finally:
            for s in idle:
                s.close()


TCP_SINK = r"""
import hashlib, socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
h, n = hashlib.sha256(), 0
while b := c.recv(1 << 20):
    h.update(b)
    n += len(b)
print(n, h.hexdigest(), flush=True)
"""

TCP_SOURCE = r"""
import hashlib, random, socket, sys
data = random.Random(int(sys.argv[3])).randbytes(int(sys.argv[4]))
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60) as s:
    s.sendall(data)
print(len(data), hashlib.sha256(data).hexdigest(), flush=True)
"""


def _nstat(side: Side, *names: str) -> dict[str, int]:
    out = side.run("nstat", "-az", *names).stdout
    return {f[0]: int(f[1]) for f in (line.split() for line in out.splitlines()[1:]) if f}


def _send_tcp(p: Pair, src: Side, dst: Side, addr: str, size: int) -> None:
    """`size` random bytes over one TCP connection src -> dst: the sink's count and
    SHA-256 must equal the source's."""
    sink = subprocess.Popen(dst.ns_cmd(sys.executable, "-c", TCP_SINK, addr, "5301"),
                            stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout is not None
        assert sink.stdout.readline().strip() == "ready"
        sent = src.run(sys.executable, "-c", TCP_SOURCE, addr, "5301", "7", str(size),
                       timeout=120).stdout.split()
        got = sink.communicate(timeout=60)[0].split()
    finally:
        sink.kill()
        sink.wait(5)
    assert got == sent, (got, sent)


@pytest.mark.parametrize("kernels", ["compiled", "python"])
@pytest.mark.parametrize("impl_b", ["ours", "wireguard-go"])
def test_tcp_with_tso_on_delivers_byte_exact_data(impl_b: Impl, kernels: str) -> None:
    """Issue 15: ours takes TSO super-packets from its TUN, segments them and fills in
    the checksums. Debian's wireguard-go writes what it decrypts to its TUN without
    a virtio header, so B's kernel verifies every TCP checksum we computed. With the
    compiled kernels (when built) and with the pure-Python ones a phone runs."""
    if kernels == "compiled" and load_accel() is None:
        # scripts/setup builds them; in CI a failed build must show, not hide.
        assert os.environ.get("CI") != "true", "the compiled kernels are not built"
        pytest.skip("the compiled kernels are not built (python -m wgdroid.userspace.accel build)")
    # Pure Python does not take offloads by default (auto): ask, to test its segmenter.
    env = {"WGDROID_ACCEL": "0", "WGDROID_TUN_OFFLOAD": "1"} if kernels == "python" else {}
    with Pair("ours", impl_b, env_a=env, env_b=env) as p:
        assert_ping(p, p.a, p.b.addr4)
        before = _nstat(p.b, "TcpInCsumErrors", "TcpExtTCPRcvCoalesce")
        _send_tcp(p, p.a, p.b, p.b.addr4, 20_000_000)
        _send_tcp(p, p.a, p.b, p.b.addr6, 5_000_000)
        _send_tcp(p, p.b, p.a, p.a.addr4, 5_000_000)  # and back: ours receives, coalesces
        after = _nstat(p.b, "TcpInCsumErrors")
        assert after["TcpInCsumErrors"] == before["TcpInCsumErrors"]
        assert stop(p.a) == 0
        log = p.a.log_text()
        assert "TUN offload 0x" in log and "TUN offload 0x0," not in log, log[-2000:]
        assert f"kernels: {kernels}" in log
        m = re.search(r"super_packets=(\d+)", log)
        assert m and int(m.group(1)) > 0, log[-2000:]  # TSO was really used


UDP_GSO_SINK = r"""
import hashlib, socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(10)
print("ready", flush=True)
want, good, bad = int(sys.argv[3]), 0, 0
try:
    while good + bad < want:
        d = s.recv(65535)
        ok = hashlib.sha256(d[32:]).digest() == d[:32]
        good, bad = good + ok, bad + (not ok)
except TimeoutError:
    pass
print(good, bad, flush=True)
"""

UDP_GSO_SOURCE = r"""
import hashlib, os, socket, sys, time
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET, socket.SOCK_DGRAM)
seg = 1200
s.setsockopt(17, 103, seg)  # UDP_SEGMENT: the kernel hands the TUN one USO packet per send
for i in range(int(sys.argv[3])):
    body = b"".join(
        hashlib.sha256(p).digest() + p for p in (os.urandom(seg - 32) for _ in range(40)))
    s.sendto(body, (sys.argv[1], int(sys.argv[2])))
    time.sleep(0.005)  # pacing: Debian's wireguard-go reads one datagram per syscall
"""


def test_udp_gso_through_uso_arrives_intact() -> None:
    """USO: each 48 000-byte UDP_SEGMENT send reaches our TUN as one packet; we cut
    it into 40 datagrams with UDP checksums that B's kernel (behind wireguard-go,
    no virtio header) verifies; each datagram carries its own hash. Every datagram is
    accounted for: arrived intact, or dropped by a full receive buffer in B."""
    with Pair("ours", "wireguard-go") as p:
        assert_ping(p, p.a, p.b.addr4)
        before = _nstat(p.b, "UdpInCsumErrors", "UdpRcvbufErrors")
        sends = 50
        sink = subprocess.Popen(p.b.ns_cmd(sys.executable, "-c", UDP_GSO_SINK, p.b.addr4,
                                           "5302", str(40 * sends)),
                                stdout=subprocess.PIPE, text=True)
        try:
            assert sink.stdout is not None
            assert sink.stdout.readline().strip() == "ready"
            p.a.run(sys.executable, "-c", UDP_GSO_SOURCE, p.b.addr4, "5302", str(sends),
                    timeout=60)
            good, bad = map(int, sink.communicate(timeout=60)[0].split())
        finally:
            sink.kill()
            sink.wait(5)
        after = _nstat(p.b, "UdpInCsumErrors", "UdpRcvbufErrors")
        assert bad == 0
        assert after["UdpInCsumErrors"] == before["UdpInCsumErrors"]
        assert good + after["UdpRcvbufErrors"] - before["UdpRcvbufErrors"] == 40 * sends
        assert good > 0
        assert stop(p.a) == 0
        offload = re.search(r"TUN offload (0x[0-9a-f]+)", p.a.log_text())
        assert offload, p.a.log_text()[-2000:]
        if int(offload.group(1), 16) & 0x20:  # USO4 granted (Linux >= 6.2)
            m = re.search(r"super_packets=(\d+)", p.a.log_text())
            assert m and int(m.group(1)) >= sends // 2, p.a.log_text()[-2000:]
