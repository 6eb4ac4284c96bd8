"""A peer: its configuration, session state (handshake, keypairs), timers and stats.

Methods are called by the I/O shell with the device lock held (the core is not
thread-safe; only `transport.seal`/`open_` run outside the lock). Side effects
other than the direct return value go to the device outbox.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wgdroid.userspace.core.actions import Endpoint
    from wgdroid.userspace.core.device import Device
    from wgdroid.userspace.core.transport import RecvJob, SendJob


class Peer:
    """One configured peer (created by `Device.add_or_update_peer`)."""

    public_key: bytes
    endpoint: Endpoint | None
    persistent_keepalive: int  # seconds, 0 = off
    rx_bytes: int  # whole datagrams, handshakes and keepalives included (as UAPI counts)
    tx_bytes: int
    last_handshake_ns: int  # wall clock of the last completed handshake, 0 = never

    def __init__(self, device: Device, public_key: bytes) -> None:
        raise NotImplementedError

    # --- configuration (UAPI set) ---
    @property
    def preshared_key(self) -> bytes:
        """32 bytes; all zero = no PSK. Never in a repr."""
        raise NotImplementedError

    def set_preshared_key(self, psk: bytes | None) -> None:
        raise NotImplementedError

    def set_persistent_keepalive(self, interval: int, now: float) -> None:
        """0 disables; enabling on an up device sends one keepalive at once (outbox)."""
        raise NotImplementedError

    # --- TX (ordered step) ---
    def prepare_send(self, packets: list[bytes], now: float) -> list[SendJob]:
        """Assign the current keypair and consecutive counters to `packets`, in order.

        Packets staged earlier (waiting for a key) go first. With no usable key
        the packets are staged (at most MAX_STAGED_PACKETS, oldest dropped) and an
        initiation is queued in the outbox (rate-limited to one per REKEY_TIMEOUT);
        the result is then []. Also queues a rekey initiation when the key is due
        (REKEY_AFTER_MESSAGES, or REKEY_AFTER_TIME as initiator).
        """
        raise NotImplementedError

    def on_sent(self, n_bytes: int, now: float, carried_data: bool) -> None:
        """Ordered completion after a batch of this peer's transport datagrams went out.

        `n_bytes` = total datagram bytes sent; `carried_data` = any non-keepalive.
        Updates tx_bytes and the data-sent / keepalive / persistent-keepalive timers.
        """
        raise NotImplementedError

    # --- RX (ordered step) ---
    def on_received(self, job: RecvJob, plaintext: bytes | None, now: float) -> bytes | None:
        """Finish a decrypted transport message in arrival order.

        `plaintext` is `open_(job)` (None = authentication failed: dropped).
        Does the replay check, keypair confirmation (responder promotes `next`
        and flushes staged packets), endpoint roaming to `job.src`, timers, the
        inner length trim and the inner-source allowed-IPs check. Returns the IP
        packet to write to the TUN, or None (dropped, or a keepalive).
        """
        raise NotImplementedError

    # --- handshake ---
    def create_initiation(self, now: float) -> bytes | None:
        """A new 148-byte initiation (fresh ephemeral, sender index, mac1/mac2), or
        None without a private key. Normally driven by timers and prepare_send."""
        raise NotImplementedError

    def expire_keys(self) -> None:
        """Forget every keypair and handshake (key change, device down, zeroing)."""
        raise NotImplementedError
