"""The express path: lone packets of established sessions crossed in C (accel/express.c).

A ping or a keystroke arriving after an idle gap meets cold caches; the
Python path spends most of a round trip's time there (docs/dataplane.md,
"The express path"). So while the event loop would only wait, the daemon
hands the wait to `wg_express_run` with a copy of the session state a
transport packet needs, and gets back what the packets changed:

- `run` writes the state of every peer (sending key, counter and endpoint;
  the current and previous receiving keys with their replay windows; the
  timer deadlines the packet path moves) and the allowed-IPs table, waits in
  C, then copies back whatever the C side touched: counters, replay windows,
  byte counts, timer deadlines. Nothing else runs in between, so the core's
  objects stay the one truth.
- The C side only does what `Peer.prepare_send`/`on_sent` and
  `receive`/`_authenticated` would do for that packet with nothing special
  about it. Whatever would make them do more (a key near its rekey age or
  count, staged packets, the responder's unconfirmed key, a new source
  address, a handshake, a TSO read, a GRO batch) ends the run with the packet
  handed back to the ordinary path ("punted"), as does a burst.

Used only with the compiled library, for up to MAX_PEERS peers and
MAX_ROUTES allowed IPs (a phone's tunnel has a handful); `WGDROID_EXPRESS=0`
turns it off.
"""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wgdroid.userspace.core.constants import (
    KEEPALIVE_TIMEOUT,
    LAST_MINUTE_REKEY_AGE,
    REJECT_AFTER_MESSAGES,
    REJECT_AFTER_TIME,
    REKEY_AFTER_MESSAGES,
    REKEY_AFTER_TIME,
    REKEY_TIMEOUT,
)
from wgdroid.userspace.core.device import JITTER_STEPS
from wgdroid.userspace.udp import endpoint_sockaddr

if TYPE_CHECKING:
    from wgdroid.userspace.accel import Library
    from wgdroid.userspace.core import Device, Peer
    from wgdroid.userspace.core.keypair import Keypair

MAX_PEERS = 16
MAX_ROUTES = 256
MAX_OTHER = 64  # the loop's other descriptors (UAPI clients, netlink, wake pipe...)
BUF_SIZE = 65536 + 16  # one read with its virtio header
OUT_SIZE = 65536 + 64  # one datagram sealed or opened
WORDS = 128  # replay.py's window

# wg_express_run's results
TIMEOUT, OTHER, PUNT_TUN, PUNT_UDP, BUSY = range(5)
_ENDED = ("timeout", "other descriptor", "TUN read handed back", "UDP read handed back", "burst")

u8, u32, i32, u64, f64 = ctypes.c_uint8, ctypes.c_uint32, ctypes.c_int32, ctypes.c_uint64, \
    ctypes.c_double


class _Rx(ctypes.Structure):
    _fields_ = [("key", u8 * 32), ("until", f64), ("counter", u64), ("backtrack", u64 * WORDS),
                ("index", u32), ("live", u32)]


class _Peer(ctypes.Structure):
    _fields_ = [("send_key", u8 * 32), ("ep", u8 * 28), ("ep_len", u32), ("remote_index", u32),
                ("send_counter", u64), ("send_limit", u64), ("send_until", f64),
                ("new_handshake", f64), ("send_keepalive", f64), ("persistent_keepalive", f64),
                ("keepalive_interval", u32), ("need_another_keepalive", u32),
                ("can_send", u32), ("touched", u32), ("tx_bytes", u64), ("rx_bytes", u64),
                ("rx_dropped", u64), ("send_failed", u64), ("rx", _Rx * 2)]


class _Route(ctypes.Structure):
    _fields_ = [("addr", u8 * 16), ("plen", u32), ("v6", u32), ("peer", i32), ("pad", u32)]


class _PollFd(ctypes.Structure):
    _fields_ = [("fd", ctypes.c_int), ("events", ctypes.c_short), ("revents", ctypes.c_short)]


class _State(ctypes.Structure):
    _fields_ = [("tun_fd", i32), ("udp4_fd", i32), ("udp6_fd", i32), ("vnet", i32),
                ("mtu", i32), ("npeers", i32), ("nroutes", i32), ("nother", i32),
                ("scale", f64), ("data_sent_delay", f64), ("keepalive_timeout", f64),
                ("reject_after_messages", u64), ("rng", u64), ("jitter_steps", u32),
                ("pad0", u32), ("peers", ctypes.c_void_p),
                ("routes", ctypes.c_void_p), ("other", ctypes.c_void_p),
                ("buf", ctypes.c_void_p), ("out", ctypes.c_void_p), ("buf_cap", u64),
                ("out_cap", u64), ("punt_len", u32), ("punt_seg", u32), ("punt_fd", i32),
                ("punt_src_len", u32), ("punt_src", u8 * 28), ("pad", u32), ("sent", u64),
                ("received", u64), ("punted", u64), ("no_route", u64), ("malformed", u64)]


def layout() -> list[int]:
    """What wg_express_layout reports for these Structures, when they match the C side."""
    return [ctypes.sizeof(_Rx), ctypes.sizeof(_Peer), ctypes.sizeof(_Route),
            ctypes.sizeof(_State), _Rx.index.offset, _Peer.rx.offset, _Peer.tx_bytes.offset,
            _State.peers.offset, _State.punt_src.offset, _State.sent.offset]


def matches(lib: Library) -> bool:
    """Whether the library was built from the express.c these Structures describe
    (a stale build must not be handed memory laid out differently)."""
    want = layout()
    got = (ctypes.c_uint32 * len(want))()
    n = lib.express_layout(ctypes.addressof(got), len(want))
    return n == len(want) and list(got) == want


def _deadline(t: float | None) -> float:
    return -1.0 if t is None else t


def _timer(t: float) -> float | None:
    return None if t < 0 else t


@dataclass
class Punted:
    """A packet the C side read and handed back: `data` is valid until the next run."""

    data: memoryview
    fd: int = -1  # the UDP socket it came from (UDP only)
    seg: int = 0  # its GRO segment size (UDP only)
    src: bytes = b""  # its struct sockaddr (UDP only)
    bulk: bool = False  # a TSO/USO super-packet or a UDP GRO batch: traffic in bulk


@dataclass
class Wait:
    """How one wait in C ended (see `Express.run`)."""

    failed: int  # sends that failed
    no_route: int  # TUN reads with no peer for their destination (dropped)
    malformed: int  # TUN reads the sealer refused (dropped)
    punted: Punted | None  # the packet handed back, if any
    burst: bool  # packets came close together: the batched path should take over
    sent: int  # messages sealed and sent in C
    received: int  # authentic messages opened in C
    ended: str  # why it ended (for the log)

    @property
    def quiet(self) -> bool:
        """Ended by its deadline with nothing done: nothing worth a log line."""
        return self.ended == _ENDED[TIMEOUT] and not (self.sent or self.received)


@dataclass
class ExpressStats:
    sent: int = 0  # transport messages sealed and sent in C
    received: int = 0  # authentic messages opened in C
    punted: int = 0  # packets handed back
    runs: int = 0

    def __str__(self) -> str:
        return (f"express: {self.sent} sent, {self.received} received, {self.punted} handed "
                f"back, in {self.runs} waits")


class Express:
    """The state the C side works on, and the copies both ways (see the module doc)."""

    def __init__(self, lib: Library, device: Device, tun_fd: int, vnet: bool,
                 scale: float) -> None:
        self._lib = lib
        self._device = device
        self._peers = (_Peer * MAX_PEERS)()
        self._routes = (_Route * MAX_ROUTES)()
        self._other = (_PollFd * MAX_OTHER)()
        self._buf = ctypes.create_string_buffer(BUF_SIZE)
        self._out = ctypes.create_string_buffer(OUT_SIZE)
        st = self._st = _State()
        st.tun_fd = tun_fd
        st.vnet = int(vnet)
        st.scale = scale
        st.data_sent_delay = KEEPALIVE_TIMEOUT + REKEY_TIMEOUT
        st.keepalive_timeout = KEEPALIVE_TIMEOUT
        st.reject_after_messages = REJECT_AFTER_MESSAGES
        st.jitter_steps = JITTER_STEPS
        for name, arr in (("peers", self._peers), ("routes", self._routes),
                          ("other", self._other), ("buf", self._buf), ("out", self._out)):
            setattr(st, name, ctypes.addressof(arr))
        st.buf_cap, st.out_cap = BUF_SIZE, OUT_SIZE
        self._st_ref = ctypes.byref(st)
        # Per slot: (peer, the keypair it sends with or None, current, previous)
        self._slots: list[tuple[Peer, Keypair | None, Keypair | None, Keypair | None]] = []
        self._routes_for: tuple[int, tuple[int, ...]] | None = None
        self._sockaddrs: dict[tuple[str, int], bytes | None] = {}
        self._view = memoryview(self._buf).cast("B")
        self.stats = ExpressStats()

    # --- state to C ---

    def _usable(self) -> bool:
        dev = self._device
        peers = list(dev.peers.values())
        if len(peers) > MAX_PEERS:
            return False
        key = (dev.allowed_ips.version, tuple(id(p) for p in peers))
        if key != self._routes_for:
            if not self._write_routes(peers):
                return False
            self._routes_for = key
        return True

    def _write_routes(self, peers: list[Peer]) -> bool:
        slot = {p: i for i, p in enumerate(peers)}
        entries = self._device.allowed_ips.entries()
        if len(entries) > MAX_ROUTES:
            return False
        n = 0
        for version, addr, plen, owner in entries:
            i = slot.get(owner)
            if i is None:
                continue
            r = self._routes[n]
            r.addr[:] = addr.to_bytes(4 if version == 4 else 16, "big").ljust(16, b"\0")
            r.plen, r.v6, r.peer = plen, version == 6, i
            n += 1
        self._st.nroutes = n
        return True

    def _sockaddr(self, ep: tuple[str, int]) -> bytes | None:
        raw = self._sockaddrs.get(ep, b"")
        if raw == b"":
            if len(self._sockaddrs) >= 64:
                self._sockaddrs.clear()
            raw = self._sockaddrs[ep] = endpoint_sockaddr(ep)
        return raw

    def _write_peers(self, udp4: int, udp6: int) -> None:
        dev = self._device
        slots = self._slots
        slots.clear()
        now_limit = min(REKEY_AFTER_MESSAGES, REJECT_AFTER_MESSAGES)
        for i, p in enumerate(dev.peers.values()):
            s = self._peers[i]
            t = p.timers
            raw = None if p.endpoint is None else self._sockaddr(p.endpoint)
            if raw is None:
                s.ep_len = 0
                s.ep[:2] = b"\0\0"  # no family: never the same source
            else:
                s.ep_len = len(raw)
                ctypes.memmove(s.ep, raw, len(raw))
            kp = p.current
            send = (kp is not None and kp.valid and kp.send_valid and raw is not None
                    and not p.staged and not p.removed
                    and (udp6 if len(raw) > 16 else udp4) >= 0)
            if send:
                assert kp is not None
                ctypes.memmove(s.send_key, kp.send.key, 32)
                s.remote_index = kp.remote_index
                s.send_counter = kp.sending_counter
                s.send_limit = now_limit
                # peer.py on_sent rekeys an initiator's key at REKEY_AFTER_TIME.
                s.send_until = kp.birth + (REKEY_AFTER_TIME if kp.initiator else REJECT_AFTER_TIME)
            s.can_send = send
            prev = p.previous
            # peer.py _authenticated: an initiator's key near its end asks for a
            # handshake on receive, once; Python does that.
            last_minute = math.inf
            if (kp is not None and kp.initiator and kp.send_valid
                    and not t.sent_lastminute_handshake):
                last_minute = kp.birth + LAST_MINUTE_REKEY_AGE
            for j, k in enumerate((kp, prev)):
                r = s.rx[j]
                if k is None or not k.valid:
                    r.live = 0
                    continue
                r.live = 1
                r.index = k.local_index
                ctypes.memmove(r.key, k.recv.key, 32)
                r.until = min(k.birth + REJECT_AFTER_TIME, last_minute)
                r.counter = k.replay.counter
                r.backtrack[:] = k.replay.backtrack
            s.new_handshake = _deadline(t.new_handshake)
            s.send_keepalive = _deadline(t.send_keepalive)
            s.persistent_keepalive = _deadline(t.persistent_keepalive)
            s.need_another_keepalive = t.need_another_keepalive
            s.keepalive_interval = p.persistent_keepalive
            s.touched = 0
            s.tx_bytes = s.rx_bytes = s.rx_dropped = s.send_failed = 0
            slots.append((p, kp if send else None, kp, prev))
        self._st.npeers = len(slots)

    # --- back from C ---

    def _read_back(self) -> int:
        """Copy what the C side changed into the core; returns sends that failed."""
        failed = 0
        for i, (p, sending, cur, prev) in enumerate(self._slots):
            s = self._peers[i]
            if not s.touched:
                continue
            if sending is not None:
                sending.sending_counter = s.send_counter
            p.tx_bytes += s.tx_bytes
            p.rx_bytes += s.rx_bytes
            p.rx_dropped += s.rx_dropped
            failed += s.send_failed
            for j, k in enumerate((cur, prev)):
                r = s.rx[j]
                if k is not None and r.live:
                    k.replay.counter = r.counter
                    k.replay.backtrack[:] = r.backtrack
            t = p.timers
            t.new_handshake = _timer(s.new_handshake)
            t.send_keepalive = _timer(s.send_keepalive)
            t.persistent_keepalive = _timer(s.persistent_keepalive)
            t.need_another_keepalive = bool(s.need_another_keepalive)
        return failed

    # --- the wait ---

    def run(self, timeout: float, udp4: int, udp6: int, mtu: int,
            other: list[tuple[int, int]]) -> Wait | None:
        """Wait up to `timeout` seconds (< 0: no limit) with the packets crossing in C.

        Returns None if the express path cannot serve this device now (too many
        peers, routes or descriptors: wait the ordinary way), else how it ended."""
        if len(other) > MAX_OTHER or not self._usable():
            return None
        st = self._st
        st.udp4_fd, st.udp6_fd, st.mtu = udp4, udp6, mtu
        for i, (fd, events) in enumerate(other):
            o = self._other[i]
            o.fd, o.events, o.revents = fd, events, 0
        st.nother = len(other)
        self._write_peers(udp4, udp6)
        if not st.rng:  # seeded once from the device's RNG; never zero (xorshift's fixed point)
            st.rng = int.from_bytes(self._device.rng(8), "little") | 1
        before = (st.sent, st.received, st.punted, st.no_route, st.malformed)
        ms = -1 if timeout < 0 else math.ceil(timeout * 1000)
        res = self._lib.express_run(self._st_ref, ms)
        failed = self._read_back()
        stats = self.stats
        stats.runs += 1
        sent, received = st.sent - before[0], st.received - before[1]
        stats.sent += sent
        stats.received += received
        stats.punted += st.punted - before[2]
        punted = None
        if res == PUNT_TUN:
            n = st.punt_len
            punted = Punted(self._view[:n], bulk=bool(st.vnet and n > 1 and self._view[1]))
        elif res == PUNT_UDP:
            n = st.punt_len
            punted = Punted(self._view[:n], st.punt_fd, st.punt_seg,
                            bytes(st.punt_src[: st.punt_src_len]), bulk=st.punt_seg < n)
        return Wait(failed, st.no_route - before[3], st.malformed - before[4], punted,
                    res == BUSY or (punted is not None and punted.bulk), sent, received,
                    _ENDED[res] if 0 <= res < len(_ENDED) else str(res))


