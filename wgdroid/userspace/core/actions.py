"""What the core asks its I/O shell to do: small, immutable action records.

The core never touches a socket; every entry point that wants something sent
returns a list of these. Transport packets travel as jobs (`transport.SendJob`,
inside `SendJobs`) so they can go through the crypto queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wgdroid.userspace.core.peer import Peer
    from wgdroid.userspace.core.transport import SendJob

Endpoint = tuple[str, int]
"""A UDP address as (ip text, port); IPv6 without brackets, no scope/flow info."""

Bytes = bytes | memoryview
"""Packet bytes: the shell may pass views into its preallocated buffers; the core
reads them during the call and keeps only copies (staged packets are bytes)."""


@dataclass(frozen=True, slots=True)
class SendDatagram:
    """Send `data` (a finished handshake initiation/response or cookie reply) to `endpoint`.

    `peer` is None for cookie replies to an unauthenticated source. Handshake
    messages may be sent with DSCP AF41 (0x88) as the kernel does. The core has
    already counted the bytes in the peer's tx_bytes.
    """

    endpoint: Endpoint
    data: bytes
    peer: Peer | None


@dataclass(frozen=True, slots=True)
class SendJobs:
    """Encrypt these transport jobs (any worker, `transport.seal`), then send them to
    `peer.endpoint` in list order through the peer's ordered queue and call
    `peer.on_sent`. Produced by `prepare_send` for data, for staged packets flushed
    after a handshake and for keepalives; counters are already assigned.
    """

    peer: Peer
    jobs: list[SendJob]


Action = SendDatagram | SendJobs
