"""Per-peer timers as pure deadlines (the kernel's timers.c), driven by `Device.tick(now)`.

Each timer is a deadline in monotonic seconds or None (not armed). Every change
to a timer goes through one of the hooks below, named after the kernel's
`wg_timers_*` event functions, so the rules live in one place; `Peer` calls the
hooks where the kernel calls them (send.c, receive.c). `fire(which, now)`
disarms a timer that is due; `Peer.tick` then runs the matching `wg_expired_*`
handler (they send things, so they live in the peer).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

from wgdroid.userspace.core.constants import (
    KEEPALIVE_TIMEOUT,
    REKEY_TIMEOUT,
    ZERO_KEY_MATERIAL_AFTER,
)


class Expired(Enum):
    """A timer, by the name of its deadline field."""

    RETRANSMIT_HANDSHAKE = "retransmit_handshake"
    SEND_KEEPALIVE = "send_keepalive"
    NEW_HANDSHAKE = "new_handshake"
    ZERO_KEY_MATERIAL = "zero_key_material"
    PERSISTENT_KEEPALIVE = "persistent_keepalive"



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
        """wg_timers_stop: the device went down or the peer was removed."""
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

    def fire(self, which: Expired, now: float) -> bool:
        """True (and the timer disarmed) if `which` is due at `now`. Checked one at a
        time, so a handler that disarms a later timer (as sending does) stops it."""
        deadline: float | None = getattr(self, which.value)
        if deadline is None or now < deadline:
            return False
        setattr(self, which.value, None)
        return True

    # --- event hooks (the kernel's wg_timers_*) ---

    def data_sent(self, now: float, jitter: Callable[[], float]) -> None:
        """After sending data: expect an answer within 15 s, else rehandshake.
        `jitter` is drawn only when the timer is armed (as the kernel does)."""
        if self.new_handshake is None:
            self.new_handshake = now + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter()

    def data_received(self, now: float) -> None:
        """After receiving data: answer with a keepalive if we send nothing in 10 s."""
        if self.send_keepalive is None:
            self.send_keepalive = now + KEEPALIVE_TIMEOUT
        else:
            self.need_another_keepalive = True

    def any_authenticated_packet_sent(self) -> None:
        """Whatever we sent carries our liveness: no passive keepalive is due."""
        self.send_keepalive = None

    def any_authenticated_packet_received(self) -> None:
        """The peer answered: no new handshake is needed for lack of replies."""
        self.new_handshake = None

    def any_authenticated_packet_traversal(self, now: float, interval: int) -> None:
        """Any authenticated packet in either direction re-arms the persistent keepalive."""
        if interval:
            self.persistent_keepalive = now + interval

    def handshake_initiated(self, now: float, jitter: float) -> None:
        self.retransmit_handshake = now + REKEY_TIMEOUT + jitter

    def handshake_complete(self) -> None:
        self.retransmit_handshake = None
        self.handshake_attempts = 0
        self.sent_lastminute_handshake = False

    def session_derived(self, now: float) -> None:
        self.zero_key_material = now + ZERO_KEY_MATERIAL_AFTER

    # --- state the expiry handlers and the initiation path share ---

    def new_handshake_attempt(self) -> None:
        """A fresh (not retried) initiation starts the attempt count over."""
        self.handshake_attempts = 0

    def handshake_retried(self) -> None:
        self.handshake_attempts += 1

    def handshake_gave_up(self, now: float) -> None:
        """After REKEY_ATTEMPT_TIME of retries: no keepalive, and forget the keys
        ZERO_KEY_MATERIAL_AFTER from now unless that is already scheduled."""
        self.send_keepalive = None
        if self.zero_key_material is None:
            self.zero_key_material = now + ZERO_KEY_MATERIAL_AFTER

    def keepalive_sent_on_timer(self, now: float) -> None:
        """Data arrived again while the keepalive timer ran: keep answering."""
        if self.need_another_keepalive:
            self.need_another_keepalive = False
            self.send_keepalive = now + KEEPALIVE_TIMEOUT

    def lastminute_handshake_sent(self) -> None:
        """receive.c keep_key_fresh: rekey once when the received key grows old;
        handshake_complete allows it again."""
        self.sent_lastminute_handshake = True

    def persistent_keepalive_off(self) -> None:
        self.persistent_keepalive = None
