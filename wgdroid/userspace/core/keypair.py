"""A session's transport keys and counters (noise.h struct noise_keypair)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wgdroid.userspace.core.constants import REJECT_AFTER_MESSAGES, REJECT_AFTER_TIME
from wgdroid.userspace.core.transport import Cipher

if TYPE_CHECKING:
    from wgdroid.userspace.core.peer import Peer
    from wgdroid.userspace.core.replay import ReplayWindow


class Keypair:
    """Send/receive ciphers, the next sending counter, the replay window, and indices."""

    __slots__ = (
        "birth",
        "initiator",
        "local_index",
        "peer",
        "recv",
        "remote_index",
        "replay",
        "send",
        "send_valid",
        "sending_counter",
        "valid",
    )

    def __init__(
        self,
        peer: Peer,
        send_key: bytes,
        recv_key: bytes,
        initiator: bool,
        local_index: int,
        remote_index: int,
        birth: float,
        replay: ReplayWindow,
    ) -> None:
        self.peer = peer
        self.send = Cipher(send_key)
        self.recv = Cipher(recv_key)
        self.initiator = initiator
        self.local_index = local_index
        self.remote_index = remote_index
        self.birth = birth
        self.replay = replay
        self.sending_counter = 0
        self.valid = True  # False once dropped from the peer's slots
        self.send_valid = True  # False once expired for sending (key change, counter end)

    def usable_for_send(self, now: float) -> bool:
        return (
            self.send_valid
            and self.valid
            and now - self.birth < REJECT_AFTER_TIME
            and self.sending_counter < REJECT_AFTER_MESSAGES
        )

    def usable_for_receive(self, now: float) -> bool:
        return self.valid and now - self.birth < REJECT_AFTER_TIME

    def __repr__(self) -> str:
        return (
            f"Keypair(local={self.local_index:#x}, remote={self.remote_index:#x}, "
            f"initiator={self.initiator}, sent={self.sending_counter})"
        )
