"""One ADB stream (a host OPEN we accepted), with classic flow control.

Inbound: every host WRTE is queued and acknowledged with OKAY while the queue
has room; when it is full the OKAY waits until the service reads, which stops
the host (it never has more than one un-acked WRTE per stream).
Outbound: data is cut to the negotiated maxdata and each WRTE waits for the
host's OKAY before the next one goes out.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from wgdroid.sim.adb import packets

# WRTEs a stream may hold before it stops acknowledging (each <= maxdata).
INBOUND_QUEUE_LIMIT = 2

SendFn = Callable[[packets.Packet], Awaitable[None]]


class StreamClosed(Exception):
    """The host closed the stream (or the transport went away)."""


class Stream:
    def __init__(
        self, send: SendFn, local_id: int, remote_id: int, service: str, maxdata: int
    ) -> None:
        self._send = send
        self.local_id = local_id
        self.remote_id = remote_id
        self.service = service
        self.maxdata = maxdata
        self._inbound: deque[bytes] = deque()
        self._readable = asyncio.Event()
        self._ack_owed = False
        self._ack_waiter: asyncio.Future[None] | None = None
        self._write_lock = asyncio.Lock()
        self.closed = False
        # Run once the device has closed the stream (adbd restarting, reboot).
        self.after_close: Callable[[], Coroutine[Any, Any, None]] | None = None

    def __repr__(self) -> str:
        return f"Stream({self.local_id}<->{self.remote_id} {self.service.split(':', 1)[0]})"

    # -- called by the transport -------------------------------------------------

    async def on_write(self, data: bytes) -> None:
        """A host WRTE for this stream."""
        if self.closed:
            return
        if len(self._inbound) >= INBOUND_QUEUE_LIMIT:
            # The host ignored flow control; a bounded queue must not grow.
            raise StreamClosed("host sent WRTEs without waiting for OKAY")
        self._inbound.append(data)
        self._readable.set()
        if len(self._inbound) < INBOUND_QUEUE_LIMIT:
            await self._okay()
        else:
            self._ack_owed = True

    def on_okay(self) -> None:
        waiter = self._ack_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def on_close(self) -> None:
        """The host closed the stream or the transport dropped."""
        self.closed = True
        self._readable.set()
        waiter = self._ack_waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(StreamClosed())
            waiter.exception()  # mark retrieved: nobody may be waiting any more

    # -- called by services ------------------------------------------------------

    async def read(self) -> bytes:
        """The next host WRTE payload, or b"" once the stream is closed."""
        while not self._inbound:
            if self.closed:
                return b""
            self._readable.clear()
            await self._readable.wait()
        data = self._inbound.popleft()
        if self._ack_owed and not self.closed and len(self._inbound) < INBOUND_QUEUE_LIMIT:
            self._ack_owed = False
            await self._okay()
        return data

    async def write(self, data: bytes) -> None:
        """Send data as WRTEs of at most maxdata, each acknowledged before the
        next. Raises StreamClosed if the host closes the stream meanwhile."""
        view = memoryview(data)
        async with self._write_lock:
            while view:
                if self.closed:
                    raise StreamClosed()
                chunk = bytes(view[: self.maxdata])
                view = view[self.maxdata :]
                waiter = asyncio.get_running_loop().create_future()
                self._ack_waiter = waiter
                await self._send(
                    packets.Packet(packets.A_WRTE, self.local_id, self.remote_id, chunk)
                )
                try:
                    await waiter
                finally:
                    self._ack_waiter = None

    async def _okay(self) -> None:
        await self._send(packets.Packet(packets.A_OKAY, self.local_id, self.remote_id))
