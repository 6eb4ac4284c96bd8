"""The running data plane: TUN + UDP + UAPI + link events around one core Device.

Everything that touches the core runs on the event-loop thread (the core is not
thread-safe); crypto workers only run `seal`/`open_` on batches.
"""

from __future__ import annotations

import functools
import logging
import socket
import time
from collections import deque
from dataclasses import dataclass
from typing import Literal

from wgdroid.userspace.core import (
    Action,
    Device,
    HandshakeMessage,
    Peer,
    RecvJob,
    SendDatagram,
    SendJobs,
)
from wgdroid.userspace.loop import Loop
from wgdroid.userspace.netlink import LinkMonitor
from wgdroid.userspace.pipeline import Batch, BatchCodec, Pipeline, RxBatch, crypt
from wgdroid.userspace.tun import Tun
from wgdroid.userspace.uapi_config import UapiConfig, format_endpoint
from wgdroid.userspace.uapi_server import UapiServer
from wgdroid.userspace.udp import UdpBind
from wgdroid.userspace.workers import InlinePool, ProcessPool, ThreadPool, WorkerPool

log = logging.getLogger("wgdroid.userspace")

PoolKind = Literal["inline", "threads", "processes"]

READ_BURST = 64  # packets/datagrams per wake-up: one batch per peer
MAX_QUEUED_HANDSHAKES = 1024  # as wireguard-go
UNDER_LOAD = MAX_QUEUED_HANDSHAKES // 8
HANDSHAKES_PER_ROUND = 16  # so data keeps flowing during an initiation flood
KEEPALIVE_LEN = 32
_MSG_NAMES = {1: "initiation", 2: "response", 3: "cookie reply"}


@dataclass
class DaemonStats:
    handshakes_dropped: int = 0
    udp_send_failed: int = 0
    no_route: int = 0


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
        self.pipeline = Pipeline(self._on_tx_done, self._on_rx_done, self._make_pool(pool, workers))
        self.uapi = UapiServer(
            uapi_path, UapiConfig(self.device, self), self.loop,
            log=log.error, sock=uapi_sock,
        )
        self.links = LinkMonitor()
        self._buf = bytearray(65536)
        self._view = memoryview(self._buf)
        self.bind(0)
        self.loop.add_reader(tun.fd, self._on_tun)
        self.loop.add_reader(self.links.fileno(), self._on_link)
        if self.pipeline.pool.wake_fd is not None:
            self.loop.add_reader(self.pipeline.pool.wake_fd, self.pipeline.process_completions)
        self.loop.housekeeping = self._housekeeping
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

    # --- TX ---
    def _on_tun(self) -> None:
        groups: dict[Peer, list[bytes]] = {}
        for _ in range(READ_BURST):
            try:
                n = self.tun.read_into(self._view)
            except BlockingIOError:
                break
            except OSError:
                # EBADFD once `ip link delete` detached the TUN; anything else is a
                # transient read error and the packets read so far still go out.
                if not self.tun.attached():
                    self.loop.stop("interface removed")
                    return
                break
            pkt = bytes(self._view[self.tun.offset : n])
            peer = self.device.route_outbound(pkt)
            if peer is None:
                self.stats.no_route += 1
                continue
            g = groups.get(peer)
            if g is None:
                groups[peer] = [pkt]
            else:
                g.append(pkt)
        now = self.now()
        for peer, pkts in groups.items():
            self.dispatch(peer.prepare_send(pkts, now))
        self.pipeline.process_completions()

    def _on_tx_done(self, peer: Peer, datagrams: list[bytes]) -> None:
        ep = peer.endpoint
        if ep is None:
            self.pipeline.stats.tx_no_endpoint += len(datagrams)
            return
        total, failed = self.udp.send_batch(datagrams, ep)
        self.stats.udp_send_failed += failed
        data = any(len(d) > KEEPALIVE_LEN for d in datagrams)
        self.dispatch(peer.on_sent(total, self.now(), data))

    # --- RX ---
    def _on_udp(self, sock: socket.socket) -> None:
        groups: dict[Peer, list[RecvJob]] = {}
        now = self.now()
        dev = self.device
        for _ in range(READ_BURST):
            try:
                n, addr = sock.recvfrom_into(self._buf)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break  # ICMP errors surface here (ECONNREFUSED); nothing to do
            item = dev.classify(bytes(self._view[:n]), (addr[0], addr[1]), now)
            if item is None:
                continue
            if isinstance(item, HandshakeMessage):
                if len(self._hsq) >= MAX_QUEUED_HANDSHAKES:
                    self.stats.handshakes_dropped += 1
                else:
                    self._hsq.append(item)
                continue
            peer = item.keypair.peer
            g = groups.get(peer)
            if g is None:
                groups[peer] = [item]
            else:
                g.append(item)
        for peer, jobs in groups.items():
            self.pipeline.submit_rx(peer, jobs)
        self.pipeline.process_completions()

    def _on_rx_done(self, batch: RxBatch) -> None:
        packets, actions = batch.peer.on_received(batch.jobs, batch.out, self.now())
        if packets:
            self.tun.write_many(packets)
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
        for a in actions:
            if isinstance(a, SendDatagram):
                if self._verbose:
                    log.debug("sending handshake %s to %s", _MSG_NAMES.get(a.data[0]),
                              format_endpoint(a.endpoint))
                if not self.udp.send(a.data, a.endpoint):
                    self.stats.udp_send_failed += 1
            elif isinstance(a, SendJobs):
                self.pipeline.submit_tx(a.peer, a.jobs)

    def _housekeeping(self) -> float | None:
        if self._hsq:
            self._handshakes()
        now = self.now()
        deadline = self.device.next_deadline()
        if deadline is not None and deadline <= now:
            self.dispatch(self.device.tick(now))
            deadline = self.device.next_deadline()
        self.pipeline.process_completions()
        if self._hsq:
            return 0.0
        if deadline is None:
            return 1.0
        return min(1.0, max(0.0005, (deadline - self.now()) / self.scale))

    def _on_link(self) -> None:
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

    def _make_pool(self, kind: PoolKind, workers: int) -> WorkerPool[Batch]:
        if kind == "threads":
            return ThreadPool(crypt, workers=workers)
        if kind == "processes":
            return ProcessPool(BatchCodec(), workers=workers)
        return InlinePool(crypt)

    # --- lifetime ---
    def run(self) -> str:
        reason = self.loop.run()
        log.debug("shutting down: %s; %d packets to the TUN in %d writes; pipeline %s; %s",
                  reason, self.tun.packets_written, self.tun.writes, self.pipeline.stats,
                  self.stats)
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

