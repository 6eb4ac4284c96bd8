"""The WireGuard protocol core, without I/O (sans-I/O, like boringtun's `noise/`).

Bytes in, actions out. No sockets, threads, sleeps or global clocks: every
entry point takes `now` (monotonic seconds, from the shell), and the device is
built with an injectable `rng` (n -> bytes) and `wall_clock_ns` (TAI64N and
last-handshake times). The shell (`wgdroid.userspace`, outside `core/`) owns the
TUN, the UDP sockets, the queues, the worker threads/processes and the UAPI
socket, and serialises its calls into the core with one lock; only the two
crypto functions `seal` and `open_` run outside that lock, in any worker.

Pipeline split points (the GSoC 2017 queue design):

TX, per packet read from the TUN::

    peer = device.route_outbound(packet)             # allowed-IPs LPM on destination; None: drop
    actions = peer.prepare_send([packet, ...], now)  # ORDERED: SendJobs (keypair + counters),
                                                     # or stage + a SendDatagram (initiation)
    # push SendJobs.jobs to the peer's ordered queue and to the shared crypto queue
    datagram = seal(job)                             # PURE, any worker: header ‖ ChaCha20-Poly1305
    # ordered consumer sends finished datagrams to peer.endpoint, then:
    actions = peer.on_sent(total_bytes, now, carried_data)  # ORDERED: stats, timers, rekey

A shell that seals itself (e.g. the segments of TUN super-packets, sealed with
`seal_padded_into` into its own buffers) takes a run of counters instead:
`peer.reserve_send(n, now)` -> (cipher, receiver index, first counter), or
None when prepare_send must decide (no key yet, packets staged).

RX, per UDP datagram::

    item = device.classify(datagram, src, now)
    # RecvJob          -> peer queue (item.keypair.peer) + crypto queue
    # HandshakeMessage -> handshake queue; device.handle_handshake(item, now, under_load)
    # None             -> drop
    n = open_into(job, buf, off)                  # PURE, any worker; None = bad tag
    spans, actions = peer.on_received([job, ...], buf, [off, ...], [n or -1, ...], now)
    # ORDERED: replay, roaming, timers, checks; write buf[o:o + m] for (o, m) in spans

or per UDP GRO read (datagrams of one source every `step` bytes of a buffer)::

    items = device.classify_run(buf, start, end, step, src, now)
    # RecvRun (one keypair: counters, offsets) | HandshakeMessage, in arrival order
    # open each message of a run into `out` at its offset, then:
    spans, actions = run.keypair.peer.receive(run, out, lens, now)

Side effects have one channel: the `Action`s each entry point returns
(`prepare_send`, `on_sent`, `on_received`, `set_persistent_keepalive`,
`Device.handle_handshake`, `Device.tick`, `Device.up`):
`SendDatagram(endpoint, data, peer)` (a handshake message or cookie reply: send
as is) and `SendJobs(peer, jobs)` (seal, then send in order through the peer's
queue). Call `device.tick(now)` at `device.next_deadline()` (or every 100 ms or so).

UAPI maps onto `Device.set_private_key`, `listen_port`, `fwmark`,
`add_or_update_peer`, `remove_peer`, `replace_peers`, `add_allowed_ip`,
`remove_allowed_ip`, `clear_allowed_ips`, `Peer.set_preshared_key`,
`Peer.endpoint`, `Peer.set_persistent_keepalive`, and `Device.snapshot()`.

Modules: constants (spec vs limits), primitives (HASH/MAC/HMAC/KDF/AEAD/X25519/
XChaCha20), tai64n, messages (wire formats), noise (IKpsk2 handshake), cookie
(mac1/mac2, cookie replies), ratelimiter, replay (RFC 6479 window), keypair,
indextable (receiver indices), allowedips (LPM table), timers, peer, device,
transport (jobs, seal, open_), actions, snapshot.
"""

from wgdroid.userspace.core.actions import Action, Bytes, Endpoint, SendDatagram, SendJobs
from wgdroid.userspace.core.device import Device, HandshakeMessage
from wgdroid.userspace.core.peer import Peer
from wgdroid.userspace.core.snapshot import DeviceSnapshot, PeerSnapshot
from wgdroid.userspace.core.transport import (
    Cipher,
    Opener,
    RecvJob,
    RecvRun,
    Sealer,
    SendJob,
    open_,
    open_into,
    open_payload_into,
    open_raw,
    opener,
    padded_length,
    seal,
    seal_into,
    seal_padded_into,
    seal_raw,
    sealer,
)

__all__ = [
    "Action",
    "Bytes",
    "Cipher",
    "Device",
    "DeviceSnapshot",
    "Endpoint",
    "HandshakeMessage",
    "Opener",
    "Peer",
    "PeerSnapshot",
    "RecvJob",
    "RecvRun",
    "Sealer",
    "SendDatagram",
    "SendJob",
    "SendJobs",
    "open_",
    "open_into",
    "open_payload_into",
    "open_raw",
    "opener",
    "padded_length",
    "seal",
    "seal_into",
    "seal_padded_into",
    "seal_raw",
    "sealer",
]
