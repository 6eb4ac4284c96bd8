"""Pure pieces of the express path: the C/ctypes layout, sockaddrs, the route table copy."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys

import pytest

from wgdroid.userspace.accel import load as load_accel
from wgdroid.userspace.core.allowedips import AllowedIPs
from wgdroid.userspace.express import layout, matches
from wgdroid.userspace.udp import endpoint_sockaddr, sockaddr_endpoint


@pytest.mark.skipif(load_accel() is None, reason="needs the compiled library")
def test_ctypes_structures_match_the_c_layout() -> None:
    lib = load_accel()
    assert lib is not None
    assert matches(lib), layout()


@pytest.mark.parametrize("ep", [("10.99.0.2", 51822), ("fd99::2", 1), ("fe80::1%lo", 65535),
                                ("::ffff:1.2.3.4", 443)])
def test_endpoint_sockaddr_is_the_inverse_of_sockaddr_endpoint(ep: tuple[str, int]) -> None:
    raw = endpoint_sockaddr(ep)
    assert raw is not None and len(raw) == (28 if ":" in ep[0] else 16)
    assert sockaddr_endpoint(raw) == ep


@pytest.mark.parametrize("host", ["example.org", "1.2.3", "fe80::1%nosuchif0", "::g"])
def test_a_host_that_is_no_address_has_no_sockaddr(host: str) -> None:
    assert endpoint_sockaddr((host, 1)) is None


def test_entries_list_the_longest_prefix_first_and_version_tracks_changes() -> None:
    t: AllowedIPs[str] = AllowedIPs()
    v0 = t.version
    for net, owner in (("0.0.0.0/0", "a"), ("10.0.0.0/8", "b"), ("10.1.2.3/32", "c"),
                       ("::/0", "a"), ("fd00::/64", "b")):
        t.insert(ipaddress.ip_network(net), owner)
    assert t.version > v0
    got = [(v, str(ipaddress.ip_address(a) if v == 4 else ipaddress.IPv6Address(a)), p, o)
           for v, a, p, o in t.entries()]
    assert got == [(4, "10.1.2.3", 32, "c"), (4, "10.0.0.0", 8, "b"), (4, "0.0.0.0", 0, "a"),
                   (6, "fd00::", 64, "b"), (6, "::", 0, "a")]
    v1 = t.version
    t.insert(ipaddress.ip_network("10.0.0.0/8"), "c")  # same prefix, new owner
    assert t.version != v1
    v2 = t.version
    assert not t.remove(ipaddress.ip_network("192.168.0.0/16"))
    assert t.version == v2  # nothing removed: the copy is still right
    assert t.remove(ipaddress.ip_network("10.0.0.0/8"))
    assert t.version != v2


def test_the_pure_python_daemon_does_not_need_ctypes() -> None:
    # A phone's python3 may lack _ctypes: only the compiled library's users import it.
    code = ("import sys; import wgdroid.userspace.daemon, wgdroid.userspace.__main__; "
            "print('ctypes' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, "WGDROID_ACCEL": "0"}, timeout=60, check=True)
    assert r.stdout.strip() == "False"
