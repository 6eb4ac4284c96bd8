"""The running data plane: TUN + UDP + UAPI + link events around one core Device.

Everything that touches the core runs on the event-loop thread (the core is not
thread-safe); crypto workers only run the kernels on units of packets.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wgdroid.userspace.core import (
    Action,
    Device,
    HandshakeMessage,
    Peer,
    RecvRun,
    SendDatagram,
    SendJobs,
)
from wgdroid.userspace.core.constants import REJECT_AFTER_MESSAGES
from wgdroid.userspace.kernels import (
    VNET,
    CKernels,
    Item,
    KernelError,
    segment_count,
    segments,
)
from wgdroid.userspace.loop import Loop
from wgdroid.userspace.netlink import LinkMonitor
from wgdroid.userspace.pipeline import READ_NEED, Pipeline, PoolKind, RxUnit, TxUnit
from wgdroid.userspace.tun import Tun
from wgdroid.userspace.uapi_config import UapiConfig, format_endpoint
from wgdroid.userspace.uapi_server import UapiServer
from wgdroid.userspace.udp import (
    BatchReceiver,
    Endpoint,
    UdpBind,
    recv_batch,
    sockaddr_endpoint,
)

if TYPE_CHECKING:
    from wgdroid.userspace.express import Express, Punted

log = logging.getLogger("wgdroid.userspace")

TUN_BURST = 64  # TUN reads per wake-up (each a packet or a super-packet)
UDP_BURST = 64  # UDP receives per wake-up (each a datagram or a GRO batch)
MAX_QUEUED_HANDSHAKES = 1024  # as wireguard-go
UNDER_LOAD = MAX_QUEUED_HANDSHAKES // 8
HANDSHAKES_PER_ROUND = 16  # so data keeps flowing during an initiation flood
EXPRESS_GAP = 0.002  # a wait this long after a burst: packets come one by one again
MIN_TIMER_DELAY = 1.0  # core seconds: no timer is ever armed nearer than this (timers.py)
_MSG_NAMES = {1: "initiation", 2: "response", 3: "cookie reply"}


@dataclass
class DaemonStats:
    handshakes_dropped: int = 0
    udp_send_failed: int = 0
    no_route: int = 0
    malformed: int = 0  # TUN reads the segmenter refused
    handed_back_lost: int = 0  # packets the express path handed back with no buffer free
    super_packets: int = 0  # TSO/USO reads (segmented here)
    udp_reads: int = 0  # UDP receives (each a datagram or a GRO batch)
    udp_datagrams: int = 0


class Daemon:
    def __init__(
        self,
        tun: Tun,
        uapi_path: str,
        uapi_sock: socket.socket | None = None,
        *,
        timer_scale: float = 1.0,
        pool: PoolKind = "inline",
        workers: int = 2,
    ) -> None:
        self.tun = tun
        self.scale = timer_scale
        self.loop = Loop()
        self.device = Device(mtu=tun.mtu())
        self.udp = UdpBind()
        self.stats = DaemonStats()
        self._hsq: deque[HandshakeMessage] = deque()
        self._verbose = log.isEnabledFor(logging.DEBUG)
        self._up = False
        self._recheck = 0.0  # core time before which the timers need no look (_housekeeping)
        self.pipeline = Pipeline(self._on_tx_done, self._on_rx_done, pool, workers)
        kernels = self.pipeline.kernels
        # The compiled library also writes to the TUN (coalescing in C) when in use.
        self._lib = kernels.lib if isinstance(kernels, CKernels) else None
        # ... and reads UDP many datagrams per call.
        self._rx_batch = BatchReceiver(self._lib, UDP_BURST) if self._lib is not None else None
        self.uapi = UapiServer(
            uapi_path, UapiConfig(self.device, self), self.loop,
            log=log.error, sock=uapi_sock,
        )
        self.links = LinkMonitor()
        self.bind(0)
        self.loop.add_reader(tun.fd, self._on_tun)
        self.loop.add_reader(self.links.fileno(), self._on_link)
        if self.pipeline.pool.wake_fd is not None:
            self.loop.add_reader(self.pipeline.pool.wake_fd, self.pipeline.process_completions)
        self.loop.housekeeping = self._housekeeping
        # Lone packets of established sessions cross in C while the loop would wait.
        self.express: Express | None = None
        if self._lib is not None and os.environ.get("WGDROID_EXPRESS") != "0":
            from wgdroid.userspace.express import Express, matches  # ctypes: not on every phone

            if matches(self._lib):
                self.express = Express(self._lib, self.device, tun.fd, tun.vnet_hdr, timer_scale)
        if self.express is not None:
            self.loop.idle = self._express_wait
            # After a burst, the loop waits itself until a wait shows a gap in the
            # traffic: handing over and back between close packets costs the bulk
            # path more than the C hops save.
            self.loop.idle_gap = EXPRESS_GAP
        self.loop.call_later(1.0, self._watch_socket)
        self._set_up(_is_up(tun.name))

    # --- ShellHooks (UAPI set) ---
    def now(self) -> float:
        return time.monotonic() * self.scale

    def bind(self, port: int) -> int:
        for s in self.udp.sockets():
            self.loop.remove_reader(s.fileno())
        try:
            actual = self.udp.open(port)
        finally:
            for s in self.udp.sockets():
                self.loop.add_reader(s.fileno(), functools.partial(self._on_udp, s))
        self.device.listen_port = actual
        log.debug("UDP bound to port %d", actual)
        return actual

    def set_fwmark(self, mark: int) -> None:
        self.udp.set_fwmark(mark)

    def forget_peer(self, peer: Peer) -> None:
        self.pipeline.forget(peer)

    # --- the express path ---
    def _express_wait(self, timeout: float) -> bool:
        """The loop's idle wait, in C when nothing of ours is in flight (express.py)."""
        ex = self.express
        if ex is None or self._hsq or not self._up or self.pipeline.held()[0]:
            return False
        udp = self.udp
        fds = {self.tun.fd, *(s.fileno() for s in udp.sockets())}
        w = ex.run(timeout, udp.v4.fileno() if udp.v4 is not None else -1,
                   udp.v6.fileno() if udp.v6 is not None else -1, self.device.mtu,
                   self.loop.watched(fds))
        if w is None:
            return False
        if w.burst:
            self.loop.blocked = 0.0  # bulk traffic: the batched path, until a gap
        st = self.stats
        st.udp_send_failed += w.failed
        st.no_route += w.no_route
        self.pipeline.stats.tx_dropped_crypto += w.malformed  # as seal_now counts a refusal
        if self._verbose and not w.quiet:
            log.debug("express wait ended by %s: %d sent, %d received", w.ended, w.sent,
                      w.received)
        punted = w.punted
        if punted is not None:
            if punted.fd < 0:
                self._on_tun(punted)
            else:
                for sock in udp.sockets():
                    if sock.fileno() == punted.fd:
                        self._on_udp(sock, punted)
        return True

    # --- TX ---
    def _on_tun(self, punted: Punted | None = None) -> None:
        """Read the waiting packets (after `punted`, one the express path read)."""
        pipe = self.pipeline
        arena = pipe.tx_arena
        mem = pipe.memory
        hdr = self.tun.offset  # the virtio_net_hdr in front of each packet, if any
        groups: dict[Peer, list[Item]] = {}
        counts: dict[Peer, int] = {}
        for reads in range(TUN_BURST):
            where = arena.space() if pipe.can_send(reads) else None
            if where is None:
                if punted is not None:
                    self.stats.handed_back_lost += 1
                break  # all buffers in flight: the TUN queue holds (and drops) the rest
            buf, pos = where
            view = mem.view(buf)
            try:
                if punted is not None:
                    n = len(punted.data)
                    view[pos : pos + n] = punted.data
                    punted = None
                else:
                    n = self.tun.read_into(view[pos : pos + READ_NEED])
            except BlockingIOError:
                break
            except OSError:
                # EBADFD once `ip link delete` detached the TUN; anything else is a
                # transient read error and the packets read so far still go out.
                if not self.tun.attached():
                    self.loop.stop("interface removed")
                    return
                break
            if hdr:
                flags, gso_type, _hl, gso_size, cstart, coff = VNET.unpack_from(view, pos)
            else:
                flags = gso_type = gso_size = cstart = coff = 0
            pkt = view[pos + hdr : pos + n]
            peer = self.device.route_outbound(pkt)
            if peer is None:
                self.stats.no_route += 1
                continue  # nothing committed: the next read reuses the space
            if not gso_type:
                nseg = 1
            else:
                try:
                    nseg = segment_count(pkt, gso_type, gso_size, cstart)
                except KernelError:
                    self.stats.malformed += 1
                    continue
            arena.commit(n)  # referenced until submitted below
            if nseg > 1:
                self.stats.super_packets += 1
            item = Item(buf, pos + hdr, n - hdr, flags, gso_type, gso_size, cstart, coff, 0,
                        nseg)
            g = groups.get(peer)
            if g is None:
                groups[peer] = [item]
                counts[peer] = nseg
            else:
                g.append(item)
                counts[peer] += nseg
        now = self.now()
        mtu = self.device.mtu
        for peer, items in groups.items():
            reserved = peer.reserve_send(counts[peer], now)
            if reserved is None:
                # No key yet (or packets already staged): the core decides, on
                # plain packets it may keep.
                packets: list[bytes] = []
                for it in items:
                    p = mem.view(it.buf)[it.off : it.off + it.length]
                    try:
                        packets += segments(p, it.flags, it.gso_type, it.gso_size,
                                            it.csum_start, it.csum_offset)
                    except KernelError:
                        self.stats.malformed += 1
                self.dispatch(peer.prepare_send(packets, now))
            else:
                cipher, receiver, first = reserved
                it = items[0]
                if len(items) == 1 and not it.gso_type and pipe.runs_now(peer, True):
                    self._send_now(peer, cipher.key, receiver, first, mtu, it, now)
                else:
                    pipe.submit_tx(peer, cipher.key, receiver, first, mtu, items)
            for it in items:
                arena.unref(it.buf)
        pipe.process_completions()

    def _send_now(self, peer: Peer, key: bytes, receiver: int, counter: int, mtu: int,
                  item: Item, now: float) -> None:
        """A lone packet (a ping, an ACK) sealed and sent at once, with nothing
        ahead of it: what _on_tx_done does for a unit, without building one."""
        dgram = self.pipeline.seal_now(key, receiver, counter, mtu, item)
        ep = peer.endpoint
        if dgram is None or ep is None:  # reserve_send saw an endpoint; kept for mypy
            return
        sent = len(dgram) if self.udp.send(dgram, ep) else 0
        if not sent:
            self.stats.udp_send_failed += 1
        self.dispatch(peer.on_sent(sent, now, item.length > 0))

    def _on_tx_done(self, unit: TxUnit, out: memoryview) -> None:
        peer = unit.peer
        ep = peer.endpoint
        if ep is None:
            self.pipeline.stats.tx_no_endpoint += len(unit.work.sizes)
            return
        total, failed = self.udp.send_run(out, unit.work.sizes, ep)
        self.stats.udp_send_failed += failed
        self.dispatch(peer.on_sent(total, self.now(), unit.data))

    # --- RX ---
    def _on_udp(self, sock: socket.socket, first: Punted | None = None) -> None:
        """Receive what waits (after `first`, a read the express path handed back)."""
        pipe = self.pipeline
        arena = pipe.rx_arena
        now = self.now()
        # A peer's run continues its previous one (same keypair, source and buffer)
        # across reads: one unit; anything else starts the next unit, in order.
        units: list[tuple[RecvRun, int]] = []
        last: dict[Peer, tuple[RecvRun, int]] = {}
        held: list[int] = []  # references on the buffers read into, until submitted
        if first is not None:
            self._take_punted(first, now, units, last, held)
        if self._rx_batch is not None:
            self._read_batched(sock, now, units, last, held)
        else:
            self._read_each(sock, now, units, last, held)
        for run, buf in units:
            if len(run) <= 2 and pipe.runs_now(run.keypair.peer, False):
                # A ping or an ACK: opened and delivered at once, no unit built.
                done = pipe.open_now(run, buf)
                if done is not None:
                    self._deliver(run, done[0], done[1])
            else:
                pipe.submit_rx(run, buf)
        for buf in held:
            arena.unref(buf)
        pipe.process_completions()

    def _take_punted(self, first: Punted, now: float, units: list[tuple[RecvRun, int]],
                     last: dict[Peer, tuple[RecvRun, int]], held: list[int]) -> None:
        """The read the express path handed back, as if _read_each had made it."""
        n = len(first.data)
        if not n or first.seg <= 0:
            return  # express.c keeps empty reads; kept out here all the same
        arena = self.pipeline.rx_arena
        where = arena.space()
        if where is None:
            self.stats.handed_back_lost += 1
            return
        buf, pos = where
        view = self.pipeline.memory.view(buf)
        view[pos : pos + n] = first.data
        held.append(arena.commit(n))
        self.stats.udp_reads += 1
        self.stats.udp_datagrams += -(-n // first.seg)
        self._take(view, buf, pos, n, first.seg, sockaddr_endpoint(first.src), now, units, last,
                   None)

    def _read_each(self, sock: socket.socket, now: float, units: list[tuple[RecvRun, int]],
                   last: dict[Peer, tuple[RecvRun, int]], held: list[int]) -> None:
        """One recvmsg per datagram or GRO batch (no compiled library)."""
        arena = self.pipeline.rx_arena
        mem = self.pipeline.memory
        stats = self.stats
        tail: tuple[RecvRun, int] | None = None  # the run the last message joined
        for _ in range(UDP_BURST):
            where = arena.space()
            if where is None:
                break  # all buffers in flight: the socket buffer holds (and drops)
            buf, pos = where
            view = mem.view(buf)
            try:
                n, seg, src = recv_batch(sock, view[pos : pos + READ_NEED])
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break  # ICMP errors surface here (ECONNREFUSED); nothing to do
            if not n:
                continue
            held.append(arena.commit(n))
            stats.udp_reads += 1
            stats.udp_datagrams += -(-n // seg)
            tail = self._take(view, buf, pos, n, seg, src, now, units, last, tail)

    def _read_batched(self, sock: socket.socket, now: float,
                      units: list[tuple[RecvRun, int]], last: dict[Peer, tuple[RecvRun, int]],
                      held: list[int]) -> None:
        """Many reads per C call (BatchReceiver); a run of lone datagrams that the
        library says continue one another (same source and receiver index: a peer
        without GSO) joins the run of the first without a look at each."""
        rb = self._rx_batch
        assert rb is not None
        arena = self.pipeline.rx_arena
        mem = self.pipeline.memory
        stats = self.stats
        tail: tuple[RecvRun, int] | None = None
        reads = 0
        while reads < UDP_BURST:
            where = arena.space()
            if where is None:
                break
            buf, pos = where
            size = mem.size(buf)
            k, end, err = rb.recv(sock, mem.address(buf), pos, size, READ_NEED,
                                  UDP_BURST - reads)
            if k:
                held.append(arena.commit_to(end))
                reads += k
                view = mem.view(buf)
                offs, lens, segs, joins, ctrs = rb.offs, rb.lens, rb.segs, rb.joins, rb.ctrs
                stats.udp_reads += k
                i = 0
                while i < k:
                    j = i + 1
                    while j < k and joins[j]:
                        j += 1
                    n, seg = lens[i], segs[i]
                    stats.udp_datagrams += -(-n // seg)
                    tail = self._take(view, buf, offs[i], n, seg, rb.source(i), now, units, last,
                                      tail)
                    if j > i + 1:
                        stats.udp_datagrams += j - i - 1
                        run = tail[0] if tail is not None and tail[1] == buf else None
                        if (run is not None and run.offs and run.offs[-1] == offs[i]
                                and max(ctrs[i + 1 : j]) < REJECT_AFTER_MESSAGES):
                            run.counters += ctrs[i + 1 : j]
                            run.offs += offs[i + 1 : j]
                            run.lens += lens[i + 1 : j]
                        else:  # read i did not start or join a run: each on its own
                            for m in range(i + 1, j):
                                tail = self._take(view, buf, offs[m], lens[m], segs[m],
                                                  rb.source(m), now, units, last, tail)
                    i = j
            if err or size - end >= READ_NEED:
                break  # nothing more waits (or an error such as an ICMP one): done
            # else the buffer is full: the next round takes a fresh one

    def _take(self, view: memoryview, buf: int, pos: int, n: int, seg: int, src: Endpoint,
              now: float, units: list[tuple[RecvRun, int]],
              last: dict[Peer, tuple[RecvRun, int]],
              tail: tuple[RecvRun, int] | None) -> tuple[RecvRun, int] | None:
        """Sort one read (a datagram or a GRO batch at view[pos:pos + n]) into this
        round's runs and the handshake queue; returns the run it joined last."""
        dev = self.device
        if (n == seg and tail is not None and tail[1] == buf
                and dev.extend_run(tail[0], view, pos, n, src)):
            return tail  # one datagram more of the same flow (a sender without GSO)
        for item in dev.classify_run(view, pos, pos + n, seg, src, now):
            if isinstance(item, HandshakeMessage):
                if len(self._hsq) >= MAX_QUEUED_HANDSHAKES:
                    self.stats.handshakes_dropped += 1
                else:
                    self._hsq.append(item)
                continue
            peer = item.keypair.peer
            prev = last.get(peer)
            if (prev is not None and prev[1] == buf and prev[0].keypair is item.keypair
                    and prev[0].src == src):
                run = prev[0]
                run.counters += item.counters
                run.offs += item.offs
                run.lens += item.lens
                tail = prev
            else:
                tail = last[peer] = (item, buf)
                units.append(tail)
        return tail

    def _on_rx_done(self, unit: RxUnit, out: memoryview) -> None:
        run = unit.run
        assert run is not None  # released only after this callback
        self._deliver(run, unit.work.out, unit.work.results)

    def _deliver(self, run: RecvRun, out_idx: int, results: list[int]) -> None:
        """The core finishes an opened run (plaintexts in rx_out buffer `out_idx`);
        what it accepts goes to the TUN."""
        mem = self.pipeline.memory
        out = mem.view(out_idx)
        spans, actions = run.keypair.peer.receive(run, out, results, self.now())
        if spans:
            lib = self._lib
            self.tun.write_spans(out, spans, lib, mem.address(out_idx) if lib is not None
                                 else 0)
        self.dispatch(actions)

    def _handshakes(self) -> None:
        q = self._hsq
        for _ in range(min(len(q), HANDSHAKES_PER_ROUND)):
            under_load = len(q) >= UNDER_LOAD
            msg = q.popleft()
            if self._verbose:
                log.debug("received handshake %s from %s%s", _MSG_NAMES.get(msg.msg_type),
                          format_endpoint(msg.src), " (under load)" if under_load else "")
            self.dispatch(self.device.handle_handshake(msg, self.now(), under_load))

    # --- actions, timers, housekeeping ---
    def dispatch(self, actions: list[Action]) -> None:
        """Carry out the core's actions: handshake messages go out at once, transport
        jobs through the pipeline (whose completions may return more actions)."""
        if not actions:
            return
        self._recheck = 0.0  # something happened: look at the timers again
        for a in actions:
            if isinstance(a, SendDatagram):
                if self._verbose:
                    log.debug("sending handshake %s to %s", _MSG_NAMES.get(a.data[0]),
                              format_endpoint(a.endpoint))
                if not self.udp.send(a.data, a.endpoint):
                    self.stats.udp_send_failed += 1
            elif isinstance(a, SendJobs):
                self.pipeline.submit_jobs(a.peer, a.jobs, self.device.mtu)

    def _housekeeping(self) -> float | None:
        """After every loop round: handshakes, due timers; the longest sleep allowed.

        The timers' next deadline is looked up again only when the last lookup
        said so (`_recheck`, in core time): the core never arms a timer less than
        MIN_TIMER_DELAY after the event that arms it (timers.py: 1 s persistent
        keepalive at the least, 5 s retransmit, 10 s keepalive), and the lookup is
        good for at most that long, so a packet in between cannot need an earlier
        wake-up. Anything that dispatches actions, and link changes, look again."""
        now = self.now()
        if not self._hsq and now < self._recheck:
            return (self._recheck - now) / self.scale
        if self._hsq:
            self._handshakes()
        deadline = self.device.next_deadline()
        if deadline is not None and deadline <= now:
            self.dispatch(self.device.tick(now))
            deadline = self.device.next_deadline()
        self.pipeline.process_completions()
        if self._hsq:
            self._recheck = 0.0
            return 0.0
        latest = now + min(MIN_TIMER_DELAY, self.scale)  # and 1 s of real time at most
        self._recheck = latest if deadline is None or deadline > latest else deadline
        wait = (self._recheck - now) / self.scale
        return 0.0005 if wait < 0.0005 else wait

    def _on_link(self) -> None:
        self._recheck = 0.0
        for ev in self.links.read():
            if ev.ifindex != self.tun.ifindex:
                continue
            if ev.removed:
                if not self.tun.attached():
                    self.loop.stop("interface removed")
                    return
                continue
            if ev.mtu is not None and ev.mtu != self.device.mtu:
                log.debug("MTU is now %d", ev.mtu)
                self.device.mtu = ev.mtu
            self._set_up(ev.up)

    def _set_up(self, up: bool) -> None:
        if up == self._up:
            return
        self._up = up
        if up:
            log.debug("interface up")
            self.dispatch(self.device.up(self.now()))
        else:
            log.debug("interface down")
            self.device.down()
            self.pipeline.forget_all()
        self.pipeline.process_completions()

    def _watch_socket(self) -> None:
        # wireguard-go uses inotify; a 1 s stat is enough to honour "delete the socket to stop".
        self.loop.call_later(1.0, self._watch_socket)  # first, so an error can't end the watch
        if self.uapi.socket_gone():
            self.loop.stop("UAPI socket removed")
            return
        if not self.tun.attached():
            self.loop.stop("interface removed")
            return
        self.pipeline.pool.health_check()
        self.pipeline.process_completions()

    # --- lifetime ---
    def run(self) -> str:
        reason = self.loop.run()
        peers = self.device.peers.values()
        log.debug("shutting down: %s; %d packets to the TUN in %d writes; pipeline %s; %s; "
                  "%s; peers dropped %d received, %d waiting for a key", reason,
                  self.tun.packets_written, self.tun.writes, self.pipeline.stats, self.stats,
                  self.express.stats if self.express is not None else "express: off",
                  sum(p.rx_dropped for p in peers), sum(p.staged_dropped for p in peers))
        return reason

    def close(self) -> None:
        self.uapi.close()
        self.pipeline.close()
        self.udp.close()
        self.links.close()
        self.tun.close()
        self.loop.close()


def _is_up(name: str) -> bool:
    try:
        with open(f"/sys/class/net/{name}/flags") as f:
            return bool(int(f.read().strip(), 16) & 1)
    except (OSError, ValueError):
        return False

