"""Per-peer timers as pure deadlines (timers.c), driven by `Device.tick(now)`.

Each timer is a deadline in monotonic seconds or None (not armed). The event
hooks below are the kernel's `wg_timers_*` functions; the expiry handlers live
in `Peer._expire_*` because they send things.
"""

from __future__ import annotations

from wgdroid.userspace.core.constants import (
    KEEPALIVE_TIMEOUT,
    REKEY_TIMEOUT,
    ZERO_KEY_MATERIAL_AFTER,
)


class PeerTimers:
    __slots__ = (
        "handshake_attempts",
        "need_another_keepalive",
        "new_handshake",
        "persistent_keepalive",
        "retransmit_handshake",
        "send_keepalive",
        "sent_lastminute_handshake",
        "zero_key_material",
    )

    def __init__(self) -> None:
        self.retransmit_handshake: float | None = None
        self.send_keepalive: float | None = None
        self.new_handshake: float | None = None
        self.zero_key_material: float | None = None
        self.persistent_keepalive: float | None = None
        self.handshake_attempts = 0
        self.need_another_keepalive = False
        self.sent_lastminute_handshake = False

    def stop_all(self) -> None:
        self.retransmit_handshake = self.send_keepalive = self.new_handshake = None
        self.zero_key_material = self.persistent_keepalive = None
        self.need_another_keepalive = False

    def next_deadline(self) -> float | None:
        best: float | None = None
        for t in (
            self.retransmit_handshake,
            self.send_keepalive,
            self.new_handshake,
            self.zero_key_material,
            self.persistent_keepalive,
        ):
            if t is not None and (best is None or t < best):
                best = t
        return best

    # --- event hooks (names follow the kernel's wg_timers_*) ---

    def data_sent(self, now: float, jitter: float) -> None:
        """After sending data: expect an answer within 15 s, else rehandshake."""
        if self.new_handshake is None:
            self.new_handshake = now + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter

    def data_received(self, now: float) -> None:
        """After receiving data: answer with a keepalive if we send nothing in 10 s."""
        if self.send_keepalive is None:
            self.send_keepalive = now + KEEPALIVE_TIMEOUT
        else:
            self.need_another_keepalive = True

    def any_authenticated_packet_sent(self) -> None:
        self.send_keepalive = None

    def any_authenticated_packet_received(self) -> None:
        self.new_handshake = None

    def handshake_initiated(self, now: float, jitter: float) -> None:
        self.retransmit_handshake = now + REKEY_TIMEOUT + jitter

    def handshake_complete(self) -> None:
        self.retransmit_handshake = None
        self.handshake_attempts = 0
        self.sent_lastminute_handshake = False

    def session_derived(self, now: float) -> None:
        self.zero_key_material = now + ZERO_KEY_MATERIAL_AFTER

    def any_authenticated_packet_traversal(self, now: float, interval: int) -> None:
        if interval:
            self.persistent_keepalive = now + interval
