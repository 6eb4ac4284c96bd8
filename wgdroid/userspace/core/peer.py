"""A peer: its configuration, session state (handshake, keypairs), timers and stats.

Methods are called by the I/O shell with the device lock held (the core is not
thread-safe; only `transport.seal`/`open_` run outside the lock). Every side
effect comes back as the `Action`s a method returns (its one channel to the
shell); timer changes go through the `PeerTimers` hooks. Function order and
names follow the kernel's send.c / receive.c / timers.c.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING

from wgdroid.userspace.core import noise
from wgdroid.userspace.core.actions import Action, Bytes, Endpoint, SendDatagram, SendJobs
from wgdroid.userspace.core.constants import (
    KEY_LEN,
    LAST_MINUTE_REKEY_AGE,
    MAX_STAGED_PACKETS,
    MAX_TIMER_HANDSHAKES,
    MSG_INITIATION,
    MSG_RESPONSE,
    PERSISTENT_KEEPALIVE_MAX,
    REJECT_AFTER_MESSAGES,
    REJECT_AFTER_TIME,
    REKEY_AFTER_MESSAGES,
    REKEY_AFTER_TIME,
    REKEY_TIMEOUT,
    TRANSPORT_MIN_LEN,
)
from wgdroid.userspace.core.cookie import CookieGenerator
from wgdroid.userspace.core.errors import CoreValueError
from wgdroid.userspace.core.keypair import Keypair
from wgdroid.userspace.core.messages import pack_initiation, pack_response
from wgdroid.userspace.core.replay import ReplayWindow
from wgdroid.userspace.core.tai64n import tai64n
from wgdroid.userspace.core.timers import Expired, PeerTimers
from wgdroid.userspace.core.transport import Cipher, RecvJob, RecvRun, SendJob, padded_length

if TYPE_CHECKING:
    from wgdroid.userspace.core.device import Device

_ZERO_KEY = bytes(KEY_LEN)
_IP4 = struct.Struct("!BxH8xI")  # version/IHL, total length, source address
_IP6 = struct.Struct("!4xH2xQQ")  # payload length, source address (two halves)


class Peer:
    """One configured peer (created by `Device.add_or_update_peer`).

    Public state: `public_key`, `endpoint` (settable; roaming updates it),
    `persistent_keepalive`, `rx_bytes`/`tx_bytes` (whole datagrams, handshakes and
    keepalives included, as UAPI counts), `last_handshake_ns` (wall clock, 0 =
    never), `staged_dropped`/`rx_dropped` counters. Keypair slots `previous`,
    `current`, `next` (noise.h) are read-only for the shell.
    """

    def __init__(self, device: Device, public_key: bytes) -> None:
        if len(public_key) != KEY_LEN:
            raise CoreValueError("a public key must be 32 bytes")
        self.device = device
        self.public_key = public_key
        self.handshake = noise.Handshake(public_key)
        self.handshake.precompute(device.static_identity)
        self.cookie = CookieGenerator(public_key)
        self.endpoint: Endpoint | None = None
        self.persistent_keepalive = 0
        self.rx_bytes = 0
        self.tx_bytes = 0
        self.last_handshake_ns = 0
        self.staged_dropped = 0
        self.rx_dropped = 0
        self.timers = PeerTimers()
        self.staged: deque[bytes] = deque()
        self.previous: Keypair | None = None
        self.current: Keypair | None = None
        self.next: Keypair | None = None
        self.last_sent_handshake: float | None = None
        self.removed = False

    def __repr__(self) -> str:
        return f"Peer({self.public_key.hex()[:8]}…, endpoint={self.endpoint!r})"

    # --- configuration (UAPI set) ---

    @property
    def preshared_key(self) -> bytes:
        """32 bytes; all zero = no PSK. Never in a repr."""
        return self.handshake.preshared_key

    def set_preshared_key(self, psk: bytes | None) -> None:
        if psk is None:
            psk = _ZERO_KEY
        if len(psk) != KEY_LEN:
            raise CoreValueError("a preshared key must be 32 bytes")
        self.handshake.preshared_key = psk

    def set_persistent_keepalive(self, interval: int, now: float) -> list[Action]:
        """0 disables; enabling on an up device sends one keepalive at once."""
        if not 0 <= interval <= PERSISTENT_KEEPALIVE_MAX:
            raise CoreValueError(f"persistent keepalive must be 0..{PERSISTENT_KEEPALIVE_MAX}")
        send_now = not self.persistent_keepalive and interval > 0 and self.device.is_up
        self.persistent_keepalive = interval
        if not interval:
            self.timers.persistent_keepalive_off()
        return self.send_keepalive(now) if send_now else []

    # --- TX ---

    def prepare_send(self, packets: list[bytes], now: float) -> list[Action]:
        """Assign the current keypair and consecutive counters to `packets`, in order:
        one `SendJobs` for the shell to seal and send.

        Packets staged earlier (waiting for a key) go first. With no usable key
        the packets are staged (at most MAX_STAGED_PACKETS, oldest dropped) and an
        initiation is returned instead (at most one per REKEY_TIMEOUT). Without an
        endpoint the packets are dropped (the kernel's -EDESTADDRREQ).
        """
        if self.endpoint is None or self.removed:
            self.staged_dropped += len(packets)
            return []
        if self.staged:
            self._stage(packets)
            packets = list(self.staged)
            self.staged.clear()
        if not packets:
            return []
        kp = self._sending_keypair(len(packets), now)
        if kp is None:
            return self._wait_for_key(packets, now)
        first = kp.sending_counter
        kp.sending_counter = first + len(packets)
        cipher = kp.send
        remote = kp.remote_index
        mtu = self.device.mtu
        jobs = [
            SendJob(cipher, remote, first + i, p, padded_length(len(p), mtu))
            for i, p in enumerate(packets)
        ]
        return [SendJobs(self, jobs)]

    def reserve_send(self, n: int, now: float) -> tuple[Cipher, int, int] | None:
        """The fast path of prepare_send for `n` messages the shell seals itself
        (e.g. the segments of TUN super-packets): (send cipher, receiver index,
        first counter), with the counters taken. None when prepare_send must decide
        instead (no usable key, staged packets waiting, no endpoint): the shell then
        hands it the packets as bytes."""
        if self.endpoint is None or self.removed or self.staged:
            return None
        kp = self._sending_keypair(n, now)
        if kp is None:
            return None
        first = kp.sending_counter
        kp.sending_counter = first + n
        return kp.send, kp.remote_index, first

    def _sending_keypair(self, n: int, now: float) -> Keypair | None:
        """The current keypair if it may send `n` more messages now; an expired one
        is marked so (send.c wg_packet_send_staged_packets' checks)."""
        kp = self.current
        if kp is None or not kp.send_valid or not kp.valid:
            return None
        if now - kp.birth >= REJECT_AFTER_TIME:
            kp.send_valid = False
            return None
        if kp.sending_counter + n > REJECT_AFTER_MESSAGES:
            kp.send_valid = False
            kp.sending_counter = REJECT_AFTER_MESSAGES
            return None
        return kp

    def _stage(self, packets: list[bytes]) -> None:
        staged = self.staged
        staged.extend(packets)
        excess = len(staged) - MAX_STAGED_PACKETS
        if excess > 0:
            self.staged_dropped += excess
            for _ in range(excess):
                staged.popleft()

    def _wait_for_key(self, packets: list[bytes], now: float) -> list[Action]:
        self._stage(packets)
        return self.send_queued_initiation(now, is_retry=False)

    def send_staged(self, now: float) -> list[Action]:
        """Flush staged packets through prepare_send (send.c
        wg_packet_send_staged_packets)."""
        if not self.staged:
            return []
        return self.prepare_send([], now)

    def send_keepalive(self, now: float) -> list[Action]:
        """An empty transport message unless staged packets already go out."""
        if not self.staged:
            self.staged.append(b"")
        return self.send_staged(now)

    def on_sent(self, n_bytes: int, now: float, carried_data: bool) -> list[Action]:
        """Ordered completion after a batch of this peer's transport datagrams went out.

        `n_bytes` = total datagram bytes sent; `carried_data` = any non-keepalive.
        Updates tx_bytes and the timers, and rekeys when the key is due (send.c
        keep_key_fresh): the initiation is the only possible action.
        """
        self.tx_bytes += n_bytes
        t = self.timers
        t.any_authenticated_packet_traversal(now, self.persistent_keepalive)
        t.any_authenticated_packet_sent()
        if carried_data:
            t.data_sent(now, self.device.jitter)
        kp = self.current
        if (
            kp is not None
            and kp.send_valid
            and (
                kp.sending_counter > REKEY_AFTER_MESSAGES
                or (kp.initiator and now - kp.birth >= REKEY_AFTER_TIME)
            )
        ):
            return self.send_queued_initiation(now, is_retry=False)
        return []

    # --- RX ---

    def on_received(
        self, jobs: Sequence[RecvJob], buf: Bytes | bytearray, offs: Sequence[int],
        lens: Sequence[int], now: float
    ) -> tuple[list[tuple[int, int]], list[Action]]:
        """`receive` for messages given one by one: the padded plaintext of
        `jobs[i]` is `buf[offs[i]:offs[i] + lens[i]]` (`lens[i] < 0`: authentication
        failed). Consecutive jobs of one keypair and source are finished as a run."""
        spans: list[tuple[int, int]] = []
        actions: list[Action] = []
        i, n = 0, len(jobs)
        while i < n:
            first = jobs[i]
            run = RecvRun(first.keypair, first.src)
            while i < n and jobs[i].keypair is first.keypair and jobs[i].src == first.src:
                run.counters.append(jobs[i].counter)
                run.offs.append(offs[i])
                i += 1
            got, acts = self.receive(run, buf, lens[i - len(run) : i], now)
            spans += got
            actions += acts
        return spans, actions

    def receive(
        self, run: RecvRun, buf: Bytes | bytearray, lens: Sequence[int], now: float
    ) -> tuple[list[tuple[int, int]], list[Action]]:
        """Finish a decrypted run of this peer's transport messages, in arrival order.

        The padded plaintext of message i is `buf[run.offs[i]:run.offs[i] +
        lens[i]]` (`lens[i] < 0`: authentication failed, dropped). Per message: the
        replay check and the inner length trim and inner-source allowed-IPs check;
        once for the run (one keypair, one source): keypair confirmation (the
        responder promotes `next` and flushes staged packets), endpoint roaming to
        the source, the last-minute rekey and the timers (as wireguard-go does per
        vector). Returns the IP packets to write to the TUN as (offset, length)
        spans of `buf`, and the actions (staged packets flushed, an initiation).
        """
        packets: list[tuple[int, int]] = []
        kp = run.keypair
        if not kp.valid:  # replaced since it was classified (a handshake in between)
            self.rx_dropped += len(run)
            return packets, []
        allowed = self.device.allowed_ips
        rx = dropped = authentic = data = 0
        last_src: tuple[int, int] | None = None  # (version, address): one lookup per source
        src_ok = False
        counters = run.counters
        if min(lens, default=0) >= 0:  # all authentic: one pass over the window
            fresh = kp.replay.validate_run(counters)
        else:  # only authentic counters may move the window
            validate = kp.replay.validate
            fresh = [n >= 0 and validate(c) for c, n in zip(counters, lens, strict=True)]
        v4, v6 = _IP4.unpack_from, _IP6.unpack_from
        for ok, off, n in zip(fresh, run.offs, lens, strict=True):
            if not ok:
                dropped += 1
                continue
            authentic += 1
            if not n:
                rx += TRANSPORT_MIN_LEN  # a keepalive
                continue
            data += 1
            version = buf[off] >> 4
            if version == 4 and n >= 20:
                _vihl, length, addr = v4(buf, off)
                if length < 20 or length > n:
                    dropped += 1
                    continue
            elif version == 6 and n >= 40:
                payload, hi, lo = v6(buf, off)
                length = payload + 40
                if length > n:
                    dropped += 1
                    continue
                addr = hi << 64 | lo
            else:
                dropped += 1
                continue
            src = (version, addr)
            if src != last_src:
                last_src = src
                owner = allowed.lookup_v4(addr) if version == 4 else allowed.lookup_v6(addr)
                src_ok = owner is self
            if not src_ok:
                dropped += 1
                continue
            rx += n + TRANSPORT_MIN_LEN
            packets.append((off, length))
        self.rx_bytes += rx
        self.rx_dropped += dropped
        if not authentic:
            return packets, []
        return packets, self._authenticated(kp, run.src, bool(data), now)

    def _authenticated(self, kp: Keypair, src: Endpoint, data: bool, now: float) -> list[Action]:
        """receive.c wg_packet_consume_data_done, once per run that authenticated."""
        actions: list[Action] = []
        t = self.timers
        if self.endpoint != src:
            self.endpoint = src
        if kp is self.next:
            self._promote_next(kp)
            self._handshake_complete()
            actions += self.send_staged(now)
        cur = self.current
        if (
            cur is not None
            and cur.initiator
            and cur.send_valid
            and not t.sent_lastminute_handshake
            and now - cur.birth >= LAST_MINUTE_REKEY_AGE
        ):
            t.lastminute_handshake_sent()
            actions += self.send_queued_initiation(now, is_retry=False)
        t.any_authenticated_packet_received()
        t.any_authenticated_packet_traversal(now, self.persistent_keepalive)
        if data:
            t.data_received(now)
        return actions

    # --- handshake ---

    def create_initiation(self, now: float) -> bytes | None:
        """A new 148-byte initiation (fresh ephemeral, sender index, mac1/mac2), or
        None without a private key or with an unusable peer key. Normally driven
        by timers and prepare_send (see send_queued_initiation)."""
        dev = self.device
        static = dev.static_identity
        if static is None or self.handshake.precomputed_ss is None:
            return None
        ephemeral = dev.rng(KEY_LEN)
        index = self._new_handshake_index()
        init = noise.create_initiation(
            self.handshake, static, ephemeral, tai64n(dev.wall_clock_ns()), index
        )
        if init is None:
            dev.indices.remove(index, self)
            return None
        msg = pack_initiation(init)
        self.cookie.add_macs(msg, MSG_INITIATION, now)
        return bytes(msg)

    def send_queued_initiation(self, now: float, is_retry: bool) -> list[Action]:
        """An initiation to send, unless one went out less than REKEY_TIMEOUT ago
        (send.c wg_packet_send_handshake_initiation)."""
        t = self.timers
        if not is_retry:
            t.new_handshake_attempt()
        last = self.last_sent_handshake
        if (last is not None and now - last < REKEY_TIMEOUT) or self.removed:
            return []
        if not self.device.is_up:
            return []
        self.last_sent_handshake = now
        msg = self.create_initiation(now)
        if msg is None:
            return []
        t.any_authenticated_packet_traversal(now, self.persistent_keepalive)
        t.any_authenticated_packet_sent()
        actions = self._send_datagram(msg)
        t.handshake_initiated(now, self.device.jitter())
        return actions

    def send_response(self, now: float) -> list[Action]:
        """Answer a consumed initiation and start the (responder) session."""
        dev = self.device
        self.last_sent_handshake = now
        ephemeral = dev.rng(KEY_LEN)
        index = self._new_handshake_index()
        resp = noise.create_response(self.handshake, ephemeral, index)
        if resp is None:
            dev.indices.remove(index, self)
            return []
        msg = pack_response(resp)
        self.cookie.add_macs(msg, MSG_RESPONSE, now)
        if not self.begin_session(now):
            return []
        t = self.timers
        t.session_derived(now)
        t.any_authenticated_packet_traversal(now, self.persistent_keepalive)
        t.any_authenticated_packet_sent()
        return self._send_datagram(bytes(msg))

    def on_response_consumed(self, now: float) -> list[Action]:
        """Initiator: the response checked out; start the session, confirm it with a
        keepalive (or the staged packets)."""
        if not self.begin_session(now):
            return []
        self.timers.session_derived(now)
        self._handshake_complete()
        return self.send_keepalive(now)

    def on_handshake_received(self, n_bytes: int, now: float) -> None:
        """An initiation or response from this peer checked out (receive.c
        wg_receive_handshake_packet): count it and note the authenticated packet."""
        self.rx_bytes += n_bytes
        t = self.timers
        t.any_authenticated_packet_received()
        t.any_authenticated_packet_traversal(now, self.persistent_keepalive)

    def begin_session(self, now: float) -> bool:
        """Derive the keypair from a finished exchange and slot it (noise.c
        add_new_keypair): the initiator uses it at once, the responder keeps it in
        `next` until the first transport message under it arrives."""
        hs = self.handshake
        index = hs.local_index
        remote = hs.remote_index
        derived = noise.derive_transport_keys(hs)
        if derived is None or index is None:
            return False
        hs.local_index = None
        send_key, recv_key, initiator = derived
        kp = Keypair(self, send_key, recv_key, initiator, index, remote, now, ReplayWindow())
        self.device.indices.replace(index, kp)
        old_prev, old_cur, old_next = self.previous, self.current, self.next
        if initiator:
            if old_next is not None:
                self.previous = old_next
                self._drop_keypair(old_cur)
            else:
                self.previous = old_cur
            self._drop_keypair(old_prev)
            self.current = kp
            self.next = None
        else:
            self.next = kp
            self._drop_keypair(old_next)
            self.previous = None
            self._drop_keypair(old_prev)
        return True

    def _promote_next(self, kp: Keypair) -> None:
        old_prev = self.previous
        self.previous = self.current
        self.current = kp
        self.next = None
        self._drop_keypair(old_prev)

    def _handshake_complete(self) -> None:
        self.timers.handshake_complete()
        self.last_handshake_ns = self.device.wall_clock_ns()

    def _drop_keypair(self, kp: Keypair | None) -> None:
        if kp is not None:
            kp.valid = False
            kp.send_valid = False
            self.device.indices.remove(kp.local_index, kp)

    def _new_handshake_index(self) -> int:
        """A fresh index for our side of this handshake, retiring the previous one."""
        table = self.device.indices
        old = self.handshake.local_index
        if old is not None:
            table.remove(old, self)
        index = table.insert(self)
        self.handshake.local_index = index
        return index

    def _send_datagram(self, data: bytes) -> list[Action]:
        if self.endpoint is None:
            return []
        self.tx_bytes += len(data)
        return [SendDatagram(self.endpoint, data, self)]

    # --- timers ---

    def tick(self, now: float) -> list[Action]:
        """Run every expired timer (timers.c wg_expired_*), in the kernel's order."""
        t = self.timers
        actions: list[Action] = []
        if t.fire(Expired.RETRANSMIT_HANDSHAKE, now):
            if t.handshake_attempts > MAX_TIMER_HANDSHAKES:
                # Gave up after REKEY_ATTEMPT_TIME: drop what waited for a key.
                t.handshake_gave_up(now)
                self.staged_dropped += len(self.staged)
                self.staged.clear()
            else:
                t.handshake_retried()
                actions += self.send_queued_initiation(now, is_retry=True)
        if t.fire(Expired.SEND_KEEPALIVE, now):
            actions += self.send_keepalive(now)
            t.keepalive_sent_on_timer(now)
        if t.fire(Expired.NEW_HANDSHAKE, now):
            # Data went out but nothing authenticated came back.
            actions += self.send_queued_initiation(now, is_retry=False)
        if t.fire(Expired.ZERO_KEY_MATERIAL, now):
            self.zero_key_material()
        if t.fire(Expired.PERSISTENT_KEEPALIVE, now) and self.persistent_keepalive:
            actions += self.send_keepalive(now)
        return actions

    # --- teardown ---

    def zero_key_material(self) -> None:
        """Forget every keypair and the in-flight handshake (540 s after the last one)."""
        hs = self.handshake
        if hs.local_index is not None:
            self.device.indices.remove(hs.local_index, self)
            hs.local_index = None
        hs.clear()
        for kp in (self.previous, self.current, self.next):
            self._drop_keypair(kp)
        self.previous = self.current = self.next = None

    def expire_keys(self) -> None:
        """Key change: abandon the handshake and stop sending with the current keys
        (receiving under them still works until they are replaced)."""
        hs = self.handshake
        if hs.local_index is not None:
            self.device.indices.remove(hs.local_index, self)
            hs.local_index = None
        hs.clear()
        for kp in (self.current, self.next):
            if kp is not None:
                kp.send_valid = False

    def stop(self) -> None:
        """Device down or peer removed: purge staged packets, timers and keys."""
        self.staged_dropped += len(self.staged)
        self.staged.clear()
        self.timers.stop_all()
        self.zero_key_material()
        self.last_sent_handshake = None
