"""The device: our static key, the peers, and the entry points of the core.

Entry points (all pure, all take `now` = monotonic seconds from the shell):

- configuration (UAPI set): `set_private_key`, `listen_port`/`fwmark`,
  `add_or_update_peer`, `remove_peer`, `replace_peers`, `add_allowed_ip`,
  `remove_allowed_ip`, `clear_allowed_ips`; `snapshot()` for `get=1`;
- TX: `route_outbound(packet) -> Peer | None`, then `Peer.prepare_send`;
- RX: `classify(datagram, src, now)` -> `RecvJob` (transport: decrypt with
  `transport.open_`, finish with `Peer.on_received`) | `HandshakeMessage` (give
  to `handle_handshake`) | None (drop);
- timers: `tick(now)`, `next_deadline()`;
- side effects: `take_actions()` drains the outbox of `SendDatagram`/`SendJobs`.

Not thread-safe: the shell serialises calls (one lock per device is enough).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network

from wgdroid.userspace.core.actions import Action, Endpoint
from wgdroid.userspace.core.constants import DEFAULT_MTU
from wgdroid.userspace.core.peer import Peer
from wgdroid.userspace.core.snapshot import DeviceSnapshot
from wgdroid.userspace.core.transport import RecvJob

IPNetwork = IPv4Network | IPv6Network
Rng = Callable[[int], bytes]
"""n -> n random bytes (os.urandom in production, seeded in tests)."""
WallClockNs = Callable[[], int]
"""Unix time in ns (time.time_ns); only for TAI64N and last-handshake times."""


@dataclass(frozen=True, slots=True)
class HandshakeMessage:
    """A datagram of type 1, 2 or 3 with the right size, for the handshake queue."""

    msg_type: int
    data: bytes
    src: Endpoint


class Device:
    listen_port: int  # the shell binds it; kept here for snapshot()
    fwmark: int
    mtu: int  # of the TUN; the shell updates it (padding depends on it)

    def __init__(
        self,
        private_key: bytes | None = None,
        *,
        rng: Rng = os.urandom,
        wall_clock_ns: WallClockNs = time.time_ns,
        mtu: int = DEFAULT_MTU,
    ) -> None:
        raise NotImplementedError

    # --- configuration ---
    @property
    def public_key(self) -> bytes | None:
        raise NotImplementedError

    def set_private_key(self, private_key: bytes | None, now: float) -> None:
        """Set (or with None / all zeros, clear) our static key.

        Recomputes per-peer precomputations, drops a peer whose public key is
        our own new one, and expires all sessions (handshakes must be redone).
        """
        raise NotImplementedError

    @property
    def peers(self) -> Mapping[bytes, Peer]:
        raise NotImplementedError

    def add_or_update_peer(self, public_key: bytes) -> Peer | None:
        """The peer with this public key, created if new; None if it is our own key
        (UAPI ignores that silently). Raises CoreLimitError beyond MAX_PEERS."""
        raise NotImplementedError

    def remove_peer(self, public_key: bytes) -> bool:
        raise NotImplementedError

    def replace_peers(self) -> None:
        """Remove every peer (UAPI replace_peers=true)."""
        raise NotImplementedError

    def add_allowed_ip(self, peer: Peer, network: IPNetwork) -> None:
        """Route `network` (host bits are masked off) to `peer`, taking it from any other."""
        raise NotImplementedError

    def remove_allowed_ip(self, peer: Peer, network: IPNetwork) -> None:
        """Remove `network` if `peer` owns it (UAPI `allowed_ip=-prefix`)."""
        raise NotImplementedError

    def clear_allowed_ips(self, peer: Peer) -> None:
        """UAPI replace_allowed_ips=true."""
        raise NotImplementedError

    def allowed_ips_of(self, peer: Peer) -> list[IPNetwork]:
        raise NotImplementedError

    def snapshot(self) -> DeviceSnapshot:
        raise NotImplementedError

    def up(self, now: float) -> None:
        """Device came up: start persistent keepalives (outbox)."""
        raise NotImplementedError

    def down(self) -> None:
        """Device went down: expire all sessions, purge staged packets."""
        raise NotImplementedError

    # --- data path ---
    def route_outbound(self, packet: bytes) -> Peer | None:
        """Longest-prefix match of the IPv4/IPv6 destination; None = drop."""
        raise NotImplementedError

    def classify(
        self, datagram: bytes, src: Endpoint, now: float
    ) -> RecvJob | HandshakeMessage | None:
        """Sort a received UDP payload: transport with a known, live keypair ->
        RecvJob; well-sized handshake types -> HandshakeMessage; anything else None.
        Never raises on malformed input."""
        raise NotImplementedError

    def handle_handshake(self, msg: HandshakeMessage, now: float, under_load: bool) -> list[Action]:
        """Process one handshake-queue message; returns (and clears) the outbox.

        `under_load` is the shell's view (handshake queue >= 1/8 full); the core
        keeps it sticky for 1 s. Under load, a valid mac1 without a valid mac2 gets
        a cookie reply; a valid mac2 passes the per-source-IP rate limiter.
        Invalid messages are dropped silently; never raises on malformed input.
        """
        raise NotImplementedError

    # --- timers and outbox ---
    def tick(self, now: float) -> list[Action]:
        """Fire every due timer (retransmit, keepalives, new handshake, zeroing,
        cookie-secret and rate-limiter upkeep); returns (and clears) the outbox."""
        raise NotImplementedError

    def next_deadline(self) -> float | None:
        """Earliest `now` at which `tick` has something to do (None = nothing armed)."""
        raise NotImplementedError

    @property
    def has_actions(self) -> bool:
        raise NotImplementedError

    def take_actions(self) -> list[Action]:
        """Return and clear the pending actions, oldest first."""
        raise NotImplementedError
