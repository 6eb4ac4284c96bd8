"""One host connection: handshake (CNXN, optional AUTH), the stream table and
packet dispatch. Services run as tasks; a host CLSE cancels the task, whose
clean-up kills the process behind the stream."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from wgdroid.sim.adb import auth, packets
from wgdroid.sim.adb.streams import Stream, StreamClosed

if TYPE_CHECKING:
    from wgdroid.sim.adb.server import AdbDeviceServer

log = logging.getLogger(__name__)

Handler = Callable[[Stream], Awaitable[None]]

# How many streams one host may hold open at once (each may own a process).
MAX_STREAMS = 256


class DeviceConnection:
    def __init__(
        self,
        server: AdbDeviceServer,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.server = server
        self._reader = reader
        self._writer = writer
        self.online = False
        self.maxdata = packets.MAX_PAYLOAD_V1
        self._token: bytes | None = None
        self.pending_key: bytes | None = None  # RSAPUBLICKEY awaiting "Allow"
        self._streams: dict[int, Stream] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._next_id = 1
        self._closing = False
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)

    # -- packet I/O --------------------------------------------------------------

    async def send(self, packet: packets.Packet) -> None:
        if self._closing:
            raise StreamClosed("transport closed")
        # One write() per packet, so packets from concurrent streams never interleave.
        self._writer.write(packets.pack(packet))
        try:
            await self._writer.drain()
        except ConnectionError as exc:
            raise StreamClosed("transport closed") from exc

    async def _read_packet(self) -> packets.Packet:
        raw = await self._reader.readexactly(packets.HEADER_SIZE)
        header = packets.parse_header(raw, self.server.max_payload)
        data = await self._reader.readexactly(header.data_length) if header.data_length else b""
        return packets.Packet(header.command, header.arg0, header.arg1, data)

    # -- life cycle --------------------------------------------------------------

    async def run(self) -> None:
        try:
            while True:
                packet = await self._read_packet()
                await self._dispatch(packet)
        except (asyncio.IncompleteReadError, ConnectionError, StreamClosed):
            pass
        except packets.PacketError as exc:
            log.warning("dropping %s: %s", self.peer, exc)
        except Exception:
            log.exception("dropping %s after an internal error", self.peer)
        finally:
            await self.close()

    async def close(self) -> None:
        """Drop the transport: every stream's process is killed."""
        if self._closing:
            return
        self._closing = True
        self.online = False
        await self._close_streams()
        self._writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self._writer.wait_closed()

    async def _close_streams(self) -> None:
        streams = list(self._streams.values())
        tasks = list(self._tasks.values())
        self._streams.clear()  # so no CLSE goes out for them
        for stream in streams:
            stream.on_close()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    # -- handshake ---------------------------------------------------------------

    async def go_online(self) -> None:
        if self.online or self._closing:
            return
        await self.server.wait_ready()  # a rebooting phone answers once it is up
        if self.online or self._closing:
            return  # "Allow" and the host's own retry may race here
        banner = self.server.banner()
        self.online = True
        self.pending_key = None
        self.server.handshakes += 1
        await self.send(
            packets.Packet(packets.A_CNXN, packets.A_VERSION, self.server.max_payload, banner)
        )

    async def _send_token(self) -> None:
        self._token = auth.new_token()
        await self.send(packets.Packet(packets.A_AUTH, packets.AUTH_TOKEN, 0, self._token))

    async def _on_cnxn(self, packet: packets.Packet) -> None:
        if self.online:
            # A second CNXN means the host started over (adbd's handle_offline):
            # the old streams and their processes go.
            await self._close_streams()
        # The host's maxdata caps our WRTEs; ours caps the host's.
        self.maxdata = min(packet.arg1 or packets.MAX_PAYLOAD_V1, self.server.max_payload)
        self.online = False
        policy = self.server.auth
        if policy is None or not policy.required:
            await self.go_online()
        else:
            await self._send_token()

    async def _on_auth(self, packet: packets.Packet) -> None:
        policy = self.server.auth
        if self.online or policy is None:
            return
        if packet.arg0 == packets.AUTH_SIGNATURE:
            if self._token is not None and policy.accepts(self._token, packet.data):
                await self.go_online()
            else:
                await self._send_token()  # the host tries its next key
        elif packet.arg0 == packets.AUTH_RSAPUBLICKEY:
            try:
                blob = auth.key_blob(packet.data)
                auth.decode_android_pubkey(blob)
            except auth.KeyFormatError as exc:
                log.warning("%s sent an unusable public key: %s", self.peer, exc)
                return
            if policy.is_allowed(blob):
                await self.go_online()
            else:
                # Now the phone would show "Allow USB debugging?".
                self.pending_key = blob
                self.server.key_pending(self)

    # -- streams -----------------------------------------------------------------

    async def _dispatch(self, packet: packets.Packet) -> None:
        command = packet.command
        if command == packets.A_CNXN:
            await self._on_cnxn(packet)
        elif command == packets.A_AUTH:
            await self._on_auth(packet)
        elif not self.online:
            return  # adbd ignores stream traffic before the handshake
        elif command == packets.A_OPEN:
            await self._on_open(packet)
        elif command == packets.A_WRTE:
            stream = self._find(packet)
            if stream is not None:
                try:
                    await stream.on_write(packet.data)
                except StreamClosed:
                    await self._host_closed(stream, echo=True)
        elif command == packets.A_OKAY:
            stream = self._find(packet)
            if stream is not None:
                stream.on_okay()
        elif command == packets.A_CLSE:
            stream = self._streams.get(packet.arg1)
            if stream is not None and packet.arg0 in (0, stream.remote_id):
                await self._host_closed(stream, echo=True)
        # Anything else (SYNC, STLS, garbage commands) is ignored, as by adbd 29.

    def _find(self, packet: packets.Packet) -> Stream | None:
        stream = self._streams.get(packet.arg1)
        if stream is None or stream.remote_id != packet.arg0:
            return None  # unknown ids are ignored
        return stream

    async def _on_open(self, packet: packets.Packet) -> None:
        remote_id = packet.arg0
        service = packet.data.rstrip(b"\0").decode("utf-8", "surrogateescape")
        handler = self.server.resolve(service) if remote_id else None
        if handler is None or len(self._streams) >= MAX_STREAMS:
            if remote_id:
                await self.send(packets.Packet(packets.A_CLSE, 0, remote_id))
            return
        local_id = self._next_id
        self._next_id = self._next_id + 1 if self._next_id < 0xFFFFFFFF else 1
        stream = Stream(self.send, local_id, remote_id, service, self.maxdata)
        self._streams[local_id] = stream
        await self.send(packets.Packet(packets.A_OKAY, local_id, remote_id))
        task = asyncio.create_task(self._serve(stream, handler), name=repr(stream))
        self._tasks[local_id] = task

    async def _serve(self, stream: Stream, handler: Handler) -> None:
        try:
            await handler(stream)
        except StreamClosed:
            pass
        except Exception:
            log.exception("service %r failed", stream.service.split(":", 1)[0])
        finally:
            self._tasks.pop(stream.local_id, None)
            if self._streams.pop(stream.local_id, None) is not None and not stream.closed:
                stream.on_close()
                with contextlib.suppress(StreamClosed):
                    await self.send(
                        packets.Packet(packets.A_CLSE, stream.local_id, stream.remote_id)
                    )
            if stream.after_close is not None:
                # Outside this connection's tasks: it may drop this very connection.
                self.server.spawn_background(stream.after_close())

    async def _host_closed(self, stream: Stream, *, echo: bool) -> None:
        if self._streams.pop(stream.local_id, None) is None:
            return
        stream.on_close()
        task = self._tasks.pop(stream.local_id, None)
        if task is not None:
            task.cancel()  # the service's clean-up kills its process
        if echo:
            await self.send(packets.Packet(packets.A_CLSE, stream.local_id, stream.remote_id))
