"""The listening side: accepts adb server connections on 127.0.0.1:PORT and
owns the state shared by them (runtime, auth policy, reboot gate)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Coroutine, Sequence
from typing import Any

from wgdroid.sim.adb import auth, packets, services
from wgdroid.sim.adb.streams import StreamClosed
from wgdroid.sim.adb.sync import DEFAULT_SYNCD_ARGV
from wgdroid.sim.adb.transport import DeviceConnection, Handler
from wgdroid.sim.runtime_api import PhoneRuntime

log = logging.getLogger(__name__)

# The adb server probes odd loopback ports in this range as emulators.
EMULATOR_PORTS = range(5554, 5586)
MAX_CONNECTIONS = 16  # adb servers (and stray probes) at once
MAX_BACKGROUND = 64


class AdbDeviceServer:
    """See `wgdroid.sim.adb` for the public API."""

    def __init__(
        self,
        runtime: PhoneRuntime,
        *,
        auth_policy: auth.AuthPolicy | None = None,
        syncd_argv: Sequence[str] = DEFAULT_SYNCD_ARGV,
        max_payload: int = packets.MAX_PAYLOAD,
    ) -> None:
        if not packets.MAX_PAYLOAD_V1 <= max_payload <= packets.MAX_PAYLOAD:
            raise ValueError(f"max_payload must be 4096..{packets.MAX_PAYLOAD}")
        self.runtime = runtime
        self.auth = auth_policy
        self.syncd_argv = tuple(syncd_argv)
        self.max_payload = max_payload
        self._server: asyncio.Server | None = None
        self._connections: set[DeviceConnection] = set()
        self._conn_tasks: set[asyncio.Task[None]] = set()
        self._background: set[asyncio.Task[None]] = set()
        self._ready = asyncio.Event()
        self._ready.set()
        self._key_waiters = asyncio.Condition()
        self.port = 0
        self.handshakes = 0  # CNXNs sent: a reconnection after root/reboot shows here

    # -- life cycle --------------------------------------------------------------

    async def start(self, host: str, port: int) -> None:
        if port in EMULATOR_PORTS:
            raise ValueError(f"port {port} is probed by the adb server as an emulator; use 15555+")
        self._server = await asyncio.start_server(
            self._accept, host, port, reuse_address=True, limit=packets.MAX_PAYLOAD
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        await self.drop_connections()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self._connections) >= MAX_CONNECTIONS:
            writer.close()
            return
        conn = DeviceConnection(self, reader, writer)
        self._connections.add(conn)
        task = asyncio.current_task()
        if task is not None:
            self._conn_tasks.add(task)
        try:
            await conn.run()
        finally:
            self._connections.discard(conn)
            if task is not None:
                self._conn_tasks.discard(task)

    async def drop_connections(self) -> None:
        """Close every transport (their processes are killed); the host's adb
        server sees the device go away and reconnects on its own."""
        conns = list(self._connections)
        await asyncio.gather(*(conn.close() for conn in conns), return_exceptions=True)

    async def reboot(self) -> None:
        """Drop the transports, reboot the phone, then answer handshakes again.
        Connections made meanwhile wait (the phone is still booting)."""
        self._ready.clear()
        try:
            await self.drop_connections()
            await self.runtime.reboot()
        finally:
            self._ready.set()

    async def wait_ready(self) -> None:
        await self._ready.wait()

    def spawn_background(self, coro: Coroutine[Any, Any, None]) -> None:
        if len(self._background) >= MAX_BACKGROUND:
            coro.close()
            log.warning("too many background tasks; dropping one")
            return
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- what connections ask of the server -------------------------------------

    def resolve(self, service: str) -> Handler | None:
        return services.resolve(self, service)

    def banner(self) -> bytes:
        ident = self.runtime.identity
        return packets.device_banner(
            ident.product_name, ident.model, ident.device, packets.DEVICE_FEATURES
        )

    def key_pending(self, conn: DeviceConnection) -> None:
        self.spawn_background(self._notify_key())

    async def _notify_key(self) -> None:
        async with self._key_waiters:
            self._key_waiters.notify_all()

    # -- "Allow USB debugging?" --------------------------------------------------

    def pending_keys(self) -> list[str]:
        """Base64 public keys of hosts waiting for the user to allow them."""
        blobs = {c.pending_key for c in self._connections if c.pending_key and not c.online}
        return sorted(base64.b64encode(b).decode() for b in blobs if b is not None)

    async def wait_for_pending_key(self) -> list[str]:
        """Wait until some host shows the "Allow USB debugging?" prompt (wrap
        it in `asyncio.timeout`)."""
        async with self._key_waiters:
            await self._key_waiters.wait_for(self.pending_keys)
        return self.pending_keys()

    async def allow_key(self, key: str | bytes) -> None:
        """Trust a host key (an adbkey.pub line or its base64) and bring any
        connection waiting with that key online."""
        if self.auth is None:
            self.auth = auth.AuthPolicy()
        blob = self.auth.allow(key)
        for conn in list(self._connections):
            if conn.pending_key == blob:
                with contextlib.suppress(StreamClosed):  # that host just went away
                    await conn.go_online()

    async def allow_pending(self) -> int:
        """Tap "Allow" on every pending prompt; returns how many keys were allowed."""
        keys = self.pending_keys()
        for key in keys:
            await self.allow_key(key)
        return len(keys)


async def serve_device(
    runtime: PhoneRuntime,
    host: str,
    port: int,
    *,
    auth: auth.AuthPolicy | None = None,
    syncd_argv: Sequence[str] = DEFAULT_SYNCD_ARGV,
    max_payload: int = packets.MAX_PAYLOAD,
) -> AdbDeviceServer:
    server = AdbDeviceServer(
        runtime, auth_policy=auth, syncd_argv=syncd_argv, max_payload=max_payload
    )
    await server.start(host, port)
    return server
