"""Transport-level conformance of the simulated adbd, seen from a hand-written
host on a raw socket (the real adb server hides these details): maxdata
chunking, one un-acked WRTE per stream, refusals, unknown ids, v2 framing
across WRTE boundaries, bad headers."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from wgdroid.sim.adb import packets, shellproto
from wgdroid.sim.adb.hostruntime import HostRuntime
from wgdroid.sim.adb.packets import Packet
from wgdroid.sim.adb.server import serve_device

HOST_BANNER = b"host::features=shell_v2,cmd,stat_v2,ls_v2,fixed_push_mkdir\0"


class Host:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def send(self, packet: Packet) -> None:
        self.writer.write(packets.pack(packet, with_checksum=True))
        await self.writer.drain()

    async def recv(self, within: float = 10) -> Packet:
        async with asyncio.timeout(within):
            header = packets.parse_header(
                await self.reader.readexactly(packets.HEADER_SIZE), packets.MAX_PAYLOAD
            )
            data = await self.reader.readexactly(header.data_length)
        return Packet(header.command, header.arg0, header.arg1, data)

    async def silent(self, seconds: float) -> bool:
        """True if nothing arrives for `seconds`."""
        try:
            await self.recv(within=seconds)
        except TimeoutError:
            return True
        return False


@asynccontextmanager
async def device_and_host(maxdata: int = 4096) -> AsyncIterator[tuple[Host, Packet]]:
    runtime = HostRuntime()
    server = await serve_device(runtime, "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    host = Host(reader, writer)
    try:
        await host.send(Packet(packets.A_CNXN, packets.A_VERSION, maxdata, HOST_BANNER))
        yield host, await host.recv()
    finally:
        writer.close()
        await server.close()
        await runtime.aclose()


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 60))


def test_cnxn_reply() -> None:
    async def body() -> None:
        async with device_and_host() as (_, cnxn):
            assert cnxn.command == packets.A_CNXN
            assert (cnxn.arg0, cnxn.arg1) == (0x01000001, 1024 * 1024)
            assert cnxn.data.startswith(b"device::ro.product.name=wgsim;")
            assert b"features=shell_v2,cmd,stat_v2,ls_v2," in cnxn.data

    run(body)


async def _open(host: Host, local_id: int, service: bytes) -> int:
    await host.send(Packet(packets.A_OPEN, local_id, 0, service + b"\0"))
    okay = await host.recv()
    assert (okay.command, okay.arg1) == (packets.A_OKAY, local_id)
    assert okay.arg0 != 0
    return okay.arg0


def test_wrtes_fit_the_host_maxdata_and_wait_for_okay() -> None:
    async def body() -> None:
        async with device_and_host(maxdata=4096) as (host, _):
            dev = await _open(host, 1, b"exec:head -c 20000 /dev/zero")
            got = 0
            while True:
                pkt = await host.recv()
                if pkt.command == packets.A_CLSE:
                    assert (pkt.arg0, pkt.arg1) == (dev, 1)
                    break
                assert (pkt.command, pkt.arg0, pkt.arg1) == (packets.A_WRTE, dev, 1)
                assert 0 < len(pkt.data) <= 4096
                got += len(pkt.data)
                # Classic flow control: nothing more on this stream until we ack.
                assert await host.silent(0.05)
                await host.send(Packet(packets.A_OKAY, 1, dev))
            assert got == 20000

    run(body)


def test_unknown_service_and_unknown_ids() -> None:
    async def body() -> None:
        async with device_and_host() as (host, _):
            await host.send(Packet(packets.A_OPEN, 5, 0, b"bogus:thing\0"))
            assert await host.recv() == Packet(packets.A_CLSE, 0, 5)
            await host.send(Packet(packets.A_WRTE, 9, 12345, b"stray"))
            await host.send(Packet(packets.A_OKAY, 9, 777))
            await host.send(Packet(packets.A_CLSE, 9, 4242))
            assert await host.silent(0.2)
            dev = await _open(host, 6, b"shell:echo alive")
            pkt = await host.recv()
            assert (pkt.command, pkt.arg0, pkt.data) == (packets.A_WRTE, dev, b"alive\n")

    run(body)


def test_v2_framing_across_wrtes_and_exit_before_close() -> None:
    async def body() -> None:
        async with device_and_host() as (host, _):
            dev = await _open(host, 1, b"shell,v2,raw:cat; echo done >&2; exit 9")
            stream = shellproto.pack(shellproto.ID_STDIN, b"foo\n") + shellproto.pack(
                shellproto.ID_CLOSE_STDIN
            )
            for piece in (stream[:3], stream[3:]):  # a header split, then the rest
                await host.send(Packet(packets.A_WRTE, 1, dev, piece))
                assert await host.recv() == Packet(packets.A_OKAY, dev, 1)
            parser = shellproto.ShellParser(max_packet=1 << 20)
            seen: list[tuple[int, bytes]] = []
            while True:
                pkt = await host.recv()
                if pkt.command == packets.A_CLSE:
                    break
                assert pkt.command == packets.A_WRTE
                seen += parser.feed(pkt.data)
                await host.send(Packet(packets.A_OKAY, 1, dev))
            by_id: dict[int, bytes] = {}
            for pid, payload in seen:
                by_id[pid] = by_id.get(pid, b"") + payload
            assert by_id[shellproto.ID_STDOUT] == b"foo\n"
            assert by_id[shellproto.ID_STDERR] == b"done\n"
            assert seen[-1] == (shellproto.ID_EXIT, b"\x09")  # the exit is last, then CLSE

    run(body)


def test_host_close_is_echoed() -> None:
    async def body() -> None:
        async with device_and_host() as (host, _):
            dev = await _open(host, 3, b"shell,v2,raw:sleep 30")
            await host.send(Packet(packets.A_CLSE, 3, dev))
            assert await host.recv() == Packet(packets.A_CLSE, dev, 3)

    run(body)


@pytest.mark.parametrize(
    "raw",
    [
        struct.pack("<6I", packets.A_OPEN, 1, 0, 4, 0, 0) + b"abc\0",  # bad magic
        struct.pack("<6I", packets.A_WRTE, 1, 1, 2 << 20, 0, packets.A_WRTE ^ 0xFFFFFFFF),
    ],
)
def test_bad_header_drops_the_transport(raw: bytes) -> None:
    async def body() -> None:
        async with device_and_host() as (host, _):
            host.writer.write(raw)
            await host.writer.drain()
            async with asyncio.timeout(10):
                assert await host.reader.read() == b""

    run(body)


def test_a_second_cnxn_starts_over() -> None:
    async def body() -> None:
        async with device_and_host() as (host, _):
            dev = await _open(host, 1, b"exec:echo started; sleep 30")
            assert (await host.recv()).data == b"started\n"
            await host.send(Packet(packets.A_OKAY, 1, dev))
            await host.send(Packet(packets.A_CNXN, packets.A_VERSION, 4096, HOST_BANNER))
            again = await host.recv()
            assert again.command == packets.A_CNXN  # no CLSE for the old stream first
            await host.send(Packet(packets.A_OKAY, 1, dev))  # stale id: ignored
            assert await host.silent(0.2)
            dev2 = await _open(host, 2, b"shell:echo new")
            assert (await host.recv()).data == b"new\n"
            assert dev2 != dev

    run(body)


def test_input_backpressure_is_bounded() -> None:
    """A process that never reads stdin: the device stops acknowledging after
    a bounded amount (pipe + a small queue), instead of buffering forever."""

    async def body() -> None:
        async with device_and_host(maxdata=1 << 20) as (host, _):
            dev = await _open(host, 1, b"exec:sleep 30")
            chunk = b"x" * (1 << 20)
            acked = 0
            for _ in range(16):
                await host.send(Packet(packets.A_WRTE, 1, dev, chunk))
                try:
                    reply = await host.recv(within=0.5)
                except TimeoutError:
                    break
                assert reply == Packet(packets.A_OKAY, dev, 1)
                acked += 1
            assert 1 <= acked <= 4, acked  # 1 MiB pipe + the queue, then it waits
            await host.send(Packet(packets.A_CLSE, 1, dev))
            assert await host.recv() == Packet(packets.A_CLSE, dev, 1)

    run(body)
