"""The device: our static key, the peers, and the entry points of the core.

Entry points (all pure, all take `now` = monotonic seconds from the shell):

- configuration (UAPI set): `set_private_key`, `listen_port`/`fwmark`,
  `add_or_update_peer`, `remove_peer`, `replace_peers`, `add_allowed_ip`,
  `remove_allowed_ip`, `clear_allowed_ips`; `snapshot()` for `get=1`;
- TX: `route_outbound(packet) -> Peer | None`, then `Peer.prepare_send`;
- RX: `classify(datagram, src, now)` (or `classify_run` for a UDP GRO read:
  RecvRun) -> `RecvJob` (transport: decrypt with
  `transport.open_`, finish with `job.keypair.peer.on_received`) |
  `HandshakeMessage` (give to `handle_handshake`) | None (drop);
- timers: `tick(now)`, `next_deadline()`;
- side effects: every entry point that can cause one returns its `Action`s
  (`SendDatagram`/`SendJobs`); there is no other channel.

Not thread-safe: the shell serialises calls (one lock per device is enough).
"""

from __future__ import annotations

import functools
import os
import struct
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network
from types import MappingProxyType

from wgdroid.userspace.core import noise
from wgdroid.userspace.core.actions import Action, Bytes, Endpoint, SendDatagram
from wgdroid.userspace.core.allowedips import AllowedIPs
from wgdroid.userspace.core.constants import (
    DEFAULT_MTU,
    INITIATION_MIN_INTERVAL,
    KEY_LEN,
    MAX_PEERS,
    MSG_COOKIE_REPLY,
    MSG_INITIATION,
    MSG_TRANSPORT,
    REJECT_AFTER_MESSAGES,
    REJECT_AFTER_TIME,
    REKEY_TIMEOUT_JITTER_MAX,
    TRANSPORT_MIN_LEN,
    UNDER_LOAD_STICKY,
)
from wgdroid.userspace.core.cookie import CookieChecker
from wgdroid.userspace.core.errors import CoreLimitError, CoreValueError
from wgdroid.userspace.core.indextable import IndexTable
from wgdroid.userspace.core.keypair import Keypair
from wgdroid.userspace.core.messages import (
    EXPECTED_LEN,
    unpack_cookie_reply,
    unpack_initiation,
    unpack_response,
)
from wgdroid.userspace.core.peer import Peer
from wgdroid.userspace.core.primitives import StaticKey
from wgdroid.userspace.core.ratelimiter import RateLimiter
from wgdroid.userspace.core.snapshot import DeviceSnapshot, PeerSnapshot
from wgdroid.userspace.core.transport import RecvJob, RecvRun

IPNetwork = IPv4Network | IPv6Network
Rng = Callable[[int], bytes]
"""n -> n random bytes (os.urandom in production, seeded in tests)."""
WallClockNs = Callable[[], int]
"""Unix time in ns (time.time_ns); only for TAI64N and last-handshake times."""

_TRANSPORT_HDR = struct.Struct("<IIQ")


@functools.lru_cache(maxsize=8)
def _run_header(step: int) -> struct.Struct:
    """A transport header followed by the rest of a `step`-byte datagram."""
    return struct.Struct(f"<IIQ{step - 16}x")
_ZERO_KEY = bytes(KEY_LEN)
JITTER_STEPS = int(REKEY_TIMEOUT_JITTER_MAX * 1_000_000)  # microsecond resolution


@dataclass(frozen=True, slots=True)
class HandshakeMessage:
    """A datagram of type 1, 2 or 3 with the right size, for the handshake queue."""

    msg_type: int
    data: bytes
    src: Endpoint


class Device:
    """See the module docstring. `is_up` starts True (a userspace daemon's TUN is
    up when it is configured); `down()`/`up()` follow link state if wanted."""

    def __init__(
        self,
        private_key: bytes | None = None,
        *,
        rng: Rng = os.urandom,
        wall_clock_ns: WallClockNs = time.time_ns,
        mtu: int = DEFAULT_MTU,
    ) -> None:
        self.rng = rng
        self._jitter_pool: list[int] = []  # 32-bit draws not used yet (jitter)
        self.wall_clock_ns = wall_clock_ns
        self.mtu = mtu  # of the TUN; the shell updates it (padding depends on it)
        self.listen_port = 0  # the shell binds it; kept for snapshot()
        self.fwmark = 0
        self.is_up = True
        self.static_identity: StaticKey | None = None
        self.indices: IndexTable[Peer | Keypair] = IndexTable(rng)
        self.allowed_ips: AllowedIPs[Peer] = AllowedIPs()
        self.cookie_checker = CookieChecker(rng)
        self.ratelimiter = RateLimiter()
        self._peers: dict[bytes, Peer] = {}
        self._last_under_load: float | None = None
        self.handshakes_dropped = 0
        if private_key is not None:
            self.set_private_key(private_key, 0.0)

    def __repr__(self) -> str:
        pub = self.public_key
        return f"Device(public={pub.hex()[:8] if pub else None}…, peers={len(self._peers)})"

    # --- configuration ---

    @property
    def public_key(self) -> bytes | None:
        return None if self.static_identity is None else self.static_identity.public

    @property
    def private_key(self) -> bytes | None:
        return None if self.static_identity is None else self.static_identity.private

    def set_private_key(self, private_key: bytes | None, now: float) -> None:
        """Set (or with None / all zeros, clear) our static key.

        Recomputes per-peer precomputations, drops a peer whose public key is our
        own new one, and expires all sessions (handshakes must be redone).
        """
        if private_key is not None and len(private_key) != KEY_LEN:
            raise CoreValueError("a private key must be 32 bytes")
        if private_key == _ZERO_KEY:
            private_key = None
        if private_key == self.private_key:
            return
        static = None if private_key is None else StaticKey(private_key)
        self.static_identity = static
        if static is not None and static.public in self._peers:
            self.remove_peer(static.public)
        for peer in self._peers.values():
            peer.handshake.precompute(static)
            peer.expire_keys()
        self.cookie_checker.set_public_key(None if static is None else static.public)

    @property
    def peers(self) -> Mapping[bytes, Peer]:
        return MappingProxyType(self._peers)

    def add_or_update_peer(self, public_key: bytes) -> Peer | None:
        """The peer with this public key, created if new; None if it is our own key
        (UAPI ignores that silently). Raises CoreLimitError beyond MAX_PEERS."""
        if len(public_key) != KEY_LEN:
            raise CoreValueError("a public key must be 32 bytes")
        if public_key == self.public_key:
            return None
        peer = self._peers.get(public_key)
        if peer is None:
            if len(self._peers) >= MAX_PEERS:
                raise CoreLimitError(f"too many peers (limit {MAX_PEERS})")
            peer = self._peers[public_key] = Peer(self, public_key)
        return peer

    def remove_peer(self, public_key: bytes) -> bool:
        peer = self._peers.pop(public_key, None)
        if peer is None:
            return False
        peer.removed = True
        peer.stop()
        self.allowed_ips.remove_value(peer)
        return True

    def replace_peers(self) -> None:
        """Remove every peer (UAPI replace_peers=true)."""
        for key in list(self._peers):
            self.remove_peer(key)

    def add_allowed_ip(self, peer: Peer, network: IPNetwork) -> None:
        """Route `network` (host bits are ignored) to `peer`, taking it from any other."""
        self.allowed_ips.insert(network, peer)

    def remove_allowed_ip(self, peer: Peer, network: IPNetwork) -> None:
        """Remove `network` if `peer` owns it (UAPI `allowed_ip=-prefix`)."""
        self.allowed_ips.remove(network, peer)

    def clear_allowed_ips(self, peer: Peer) -> None:
        """UAPI replace_allowed_ips=true."""
        self.allowed_ips.remove_value(peer)

    def allowed_ips_of(self, peer: Peer) -> list[IPNetwork]:
        return self.allowed_ips.networks_of(peer)

    def snapshot(self) -> DeviceSnapshot:
        peers = []
        for p in self._peers.values():
            sec, nsec = divmod(p.last_handshake_ns, 1_000_000_000)
            peers.append(
                PeerSnapshot(
                    public_key=p.public_key,
                    preshared_key=p.preshared_key,
                    endpoint=p.endpoint,
                    last_handshake_sec=sec,
                    last_handshake_nsec=nsec,
                    rx_bytes=p.rx_bytes,
                    tx_bytes=p.tx_bytes,
                    persistent_keepalive=p.persistent_keepalive,
                    allowed_ips=tuple(self.allowed_ips_of(p)),
                )
            )
        return DeviceSnapshot(
            private_key=self.private_key,
            public_key=self.public_key,
            listen_port=self.listen_port,
            fwmark=self.fwmark,
            peers=tuple(peers),
        )

    def up(self, now: float) -> list[Action]:
        """Device came up: flush staged packets, start persistent keepalives."""
        if self.is_up:
            return []
        self.is_up = True
        actions: list[Action] = []
        for peer in self._peers.values():
            actions += peer.send_staged(now)
            if peer.persistent_keepalive:
                actions += peer.send_keepalive(now)
        return actions

    def down(self) -> None:
        """Device went down: purge staged packets, stop timers, forget sessions."""
        self.is_up = False
        for peer in self._peers.values():
            peer.stop()

    # --- data path ---

    def route_outbound(self, packet: Bytes) -> Peer | None:
        """Longest-prefix match of the IPv4/IPv6 destination; None = drop."""
        return self.allowed_ips.lookup_dst(packet)

    def classify(
        self, datagram: Bytes, src: Endpoint, now: float
    ) -> RecvJob | HandshakeMessage | None:
        """Sort a received UDP payload: transport with a known, live keypair ->
        RecvJob (its peer is `job.keypair.peer`); well-sized handshake types ->
        HandshakeMessage; anything else None. Never raises on malformed input."""
        n = len(datagram)
        if n < 4:
            return None
        msg_type = int.from_bytes(datagram[:4], "little")  # reserved bytes must be zero
        if msg_type == MSG_TRANSPORT:
            if n < TRANSPORT_MIN_LEN:
                return None
            _t, index, counter = _TRANSPORT_HDR.unpack_from(datagram)
            kp = self.indices.get(index)
            if (
                type(kp) is not Keypair
                or not kp.valid
                or now - kp.birth >= REJECT_AFTER_TIME
                or counter >= REJECT_AFTER_MESSAGES
            ):
                return None
            return RecvJob(kp, kp.recv, counter, datagram, src)
        if EXPECTED_LEN.get(msg_type) == n:
            return HandshakeMessage(msg_type, bytes(datagram), src)
        return None

    def classify_run(
        self, buf: Bytes | bytearray, start: int, end: int, step: int, src: Endpoint,
        now: float
    ) -> list[RecvRun | HandshakeMessage]:
        """`classify` for the datagrams of one source laid out every `step` bytes of
        buf[start:end] (a UDP GRO read; the last may be shorter), in arrival order:
        consecutive transport messages under one keypair become one RecvRun (whose
        offsets point into buf), handshake messages come as themselves, anything
        else is dropped. Messages under the keypair of the one before reuse its
        lookup and checks (they hold for the whole read)."""
        out: list[RecvRun | HandshakeMessage] = []
        view = memoryview(buf)
        # The common case first: one keypair's messages, all of them full-size but
        # the last. One struct pass reads every header (counters in C).
        whole = (end - start) // step
        if whole >= 2 and step >= TRANSPORT_MIN_LEN:
            first = self.classify(view[start : start + step], src, now)
            if isinstance(first, RecvJob):
                want = (MSG_TRANSPORT, first.keypair.local_index)
                stop = start + whole * step
                counters = [c for t, i, c in _run_header(step).iter_unpack(view[start:stop])
                            if (t, i) == want]
                tail = end - stop
                lens = [step] * whole
                if tail >= TRANSPORT_MIN_LEN:
                    t, i, c = _TRANSPORT_HDR.unpack_from(view, stop)
                    if (t, i) == want:
                        counters.append(c)
                        lens.append(tail)
                if (len(counters) == len(lens) == -(-(end - start) // step)
                        and max(counters) < REJECT_AFTER_MESSAGES):
                    quick = RecvRun(first.keypair, src)
                    quick.counters = counters
                    quick.offs = list(range(start, end, step))
                    quick.lens = lens
                    return [quick]
        unpack = _TRANSPORT_HDR.unpack_from
        run: RecvRun | None = None
        counters = []
        offs: list[int] = []
        index = -1
        off = start
        while off < end:
            n = step if off + step <= end else end - off
            if run is not None and n >= TRANSPORT_MIN_LEN:
                mtype, idx, counter = unpack(view, off)
                if mtype == MSG_TRANSPORT and idx == index:
                    if counter < REJECT_AFTER_MESSAGES:
                        counters.append(counter)
                        offs.append(off)
                    off += step
                    continue
            item = self.classify(view[off : off + n], src, now)
            if isinstance(item, RecvJob):
                run = RecvRun(item.keypair, src)
                counters, offs = run.counters, run.offs
                counters.append(item.counter)
                offs.append(off)
                index = item.keypair.local_index
                out.append(run)
            elif item is not None:
                run = None
                out.append(item)
            off += step
        for r in out:
            if isinstance(r, RecvRun):  # every datagram is `step` long but the read's last
                r.lens = [step] * len(r.offs)
                if r.offs[-1] + step > end:
                    r.lens[-1] = end - r.offs[-1]
        return out

    def extend_run(self, run: RecvRun, buf: Bytes | bytearray, off: int, n: int,
                   src: Endpoint) -> bool:
        """Append the datagram buf[off:off + n] to `run` if it is the next transport
        message of the same keypair from the same source (a peer that sends without
        GSO: one datagram per read); False means classify it. The keypair's checks
        were made for the run's first message, at the same `now`."""
        if n < TRANSPORT_MIN_LEN or src != run.src:
            return False
        mtype, index, counter = _TRANSPORT_HDR.unpack_from(buf, off)
        if (mtype != MSG_TRANSPORT or index != run.keypair.local_index
                or counter >= REJECT_AFTER_MESSAGES):
            return False
        run.counters.append(counter)
        run.offs.append(off)
        run.lens.append(n)
        return True

    def handle_handshake(self, msg: HandshakeMessage, now: float, under_load: bool) -> list[Action]:
        """Process one handshake-queue message; returns what to send in answer.

        `under_load` is the shell's view (handshake queue >= 1/8 full); the core
        keeps it sticky for 1 s. Under load, a valid mac1 without a valid mac2 gets
        a cookie reply; a valid mac2 passes the per-source-IP rate limiter.
        Invalid messages are dropped silently; never raises on malformed input.
        """
        if under_load:
            self._last_under_load = now
        elif self._last_under_load is not None:
            under_load = now - self._last_under_load < UNDER_LOAD_STICKY
        if not self.is_up or EXPECTED_LEN.get(msg.msg_type) != len(msg.data):
            self.handshakes_dropped += 1
            return []
        if msg.msg_type == MSG_COOKIE_REPLY:
            self._consume_cookie_reply(msg.data, now)
            return []
        ok, actions = self._process_macs(msg, now, under_load)
        if ok:
            if msg.msg_type == MSG_INITIATION:
                answer = self._consume_initiation(msg, now)
            else:
                answer = self._consume_response(msg, now)
            if answer is None:
                self.handshakes_dropped += 1
            else:
                actions = answer
        return actions

    def _process_macs(
        self, msg: HandshakeMessage, now: float, under_load: bool
    ) -> tuple[bool, list[Action]]:
        """(may the message be processed, a cookie reply to send instead)."""
        checker = self.cookie_checker
        data = msg.data
        if not checker.check_mac1(data, msg.msg_type):
            self.handshakes_dropped += 1
            return False, []
        if not under_load:
            return True, []
        try:
            mac2_ok = checker.check_mac2(data, msg.msg_type, msg.src, now)
        except (ValueError, OverflowError):
            self.handshakes_dropped += 1
            return False, []
        if not mac2_ok:
            sender_index = int.from_bytes(data[4:8], "little")
            reply = checker.create_reply(data, msg.msg_type, sender_index, msg.src, now)
            return False, [] if reply is None else [SendDatagram(msg.src, reply, None)]
        if not self.ratelimiter.allow(msg.src[0], now):
            self.handshakes_dropped += 1
            return False, []
        return True, []

    def _consume_initiation(self, msg: HandshakeMessage, now: float) -> list[Action] | None:
        """The response to send (possibly none), or None if the initiation is refused."""
        static = self.static_identity
        if static is None:
            return None
        init = unpack_initiation(msg.data)
        part = noise.open_initiation_static(init, static)
        if part is None:
            return None
        peer = self._peers.get(part.remote_static)
        if peer is None:
            return None
        if not noise.consume_initiation(peer.handshake, part, init, now, INITIATION_MIN_INTERVAL):
            return None
        peer.endpoint = msg.src
        actions = peer.send_response(now)
        peer.on_handshake_received(len(msg.data), now)
        return actions

    def _consume_response(self, msg: HandshakeMessage, now: float) -> list[Action] | None:
        """The keepalive/staged packets confirming the session, or None if refused."""
        static = self.static_identity
        if static is None:
            return None
        resp = unpack_response(msg.data)
        peer = self.indices.get(resp.receiver_index)
        if (
            not isinstance(peer, Peer)
            or peer.handshake.local_index != resp.receiver_index
            or not noise.consume_response(peer.handshake, static, resp)
        ):
            return None
        peer.endpoint = msg.src
        actions = peer.on_response_consumed(now)
        peer.on_handshake_received(len(msg.data), now)
        return actions

    def _consume_cookie_reply(self, data: bytes, now: float) -> None:
        reply = unpack_cookie_reply(data)
        entry = self.indices.get(reply.receiver_index)
        if entry is None:
            self.handshakes_dropped += 1
            return
        peer = entry if isinstance(entry, Peer) else entry.peer
        if not peer.cookie.consume_reply(reply, now):
            self.handshakes_dropped += 1

    # --- timers ---

    def jitter(self) -> float:
        """Uniform in [0, 1/3 s) from the injected RNG (REKEY_TIMEOUT jitter)."""
        pool = self._jitter_pool
        if not pool:  # one draw of the rng per 256 jitters: data_sent asks for one per packet
            pool.extend(memoryview(self.rng(1024)).cast("I"))
        return (pool.pop() % JITTER_STEPS) / 1_000_000

    def tick(self, now: float) -> list[Action]:
        """Fire every due timer (retransmit, keepalives, new handshake, zeroing) and
        rate-limiter upkeep; returns what the timers send."""
        actions: list[Action] = []
        if self.is_up:
            for peer in list(self._peers.values()):
                actions += peer.tick(now)
        self.ratelimiter.maybe_gc(now)
        return actions

    def next_deadline(self) -> float | None:
        """Earliest `now` at which `tick` has peer timers to run (None = none armed).
        Rate-limiter upkeep is lazy and needs no deadline."""
        best: float | None = None
        for peer in self._peers.values():
            d = peer.timers.next_deadline()
            if d is not None and (best is None or d < best):
                best = d
        return best
