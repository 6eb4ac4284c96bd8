"""DNS messages, as much as the simulator needs (RFC 1035): read a query's
question, write an answer with A/AAAA records, or an error rcode.

Used by the simulated internet's DNS server (wgdroid.sim.dnsserver) and by the
phone's dnsproxyd stand-in (wgdroid.sim.phone.dnsproxy), which only needs the
question to log it and the rcode to pass an answer on. Stdlib only: the phone
side runs it with the bare interpreter. A pure unit: bytes in, bytes out.
"""

from __future__ import annotations

import asyncio
import ipaddress
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

TYPE_A = 1
TYPE_AAAA = 28
CLASS_IN = 1
RCODE_NOERROR = 0
RCODE_FORMERR = 1
RCODE_SERVFAIL = 2
RCODE_NXDOMAIN = 3
RCODE_REFUSED = 5
MAX_UDP = 512  # without EDNS (RFC 1035 4.2.1); answers that do not fit are truncated
TTL = 60


class DnsFormatError(ValueError):
    """Not a DNS query we can read."""


@dataclass(frozen=True)
class Question:
    ident: int
    flags: int
    name: str  # lower case, no trailing dot
    qtype: int
    qclass: int
    raw_question: bytes  # the question section as sent (echoed in the answer)


def _read_name(data: bytes, pos: int) -> tuple[str, int]:
    labels: list[str] = []
    jumps = 0
    end = -1
    while True:
        if pos >= len(data):
            raise DnsFormatError("name runs past the message")
        length = data[pos]
        if length & 0xC0 == 0xC0:  # a compression pointer (not expected in questions)
            if pos + 1 >= len(data) or jumps > 16:
                raise DnsFormatError("bad compression pointer")
            if end < 0:
                end = pos + 2
            pos = ((length & 0x3F) << 8) | data[pos + 1]
            jumps += 1
            continue
        if length & 0xC0:
            raise DnsFormatError("bad label length")
        pos += 1
        if length == 0:
            break
        label = data[pos : pos + length]
        if len(label) != length:
            raise DnsFormatError("label runs past the message")
        labels.append(label.decode("ascii", errors="replace").lower())
        pos += length
    name = ".".join(labels)
    if len(name) > 253:
        raise DnsFormatError("name too long")
    return name, (end if end >= 0 else pos)


def parse_query(data: bytes) -> Question:
    """The first question of a query (QDCOUNT must be 1, as every resolver sends)."""
    if len(data) < 12:
        raise DnsFormatError("shorter than a DNS header")
    ident, flags, qdcount = struct.unpack("!HHH", data[:6])
    if flags & 0x8000:
        raise DnsFormatError("not a query")
    if qdcount != 1:
        raise DnsFormatError(f"{qdcount} questions")
    name, pos = _read_name(data, 12)
    if pos + 4 > len(data):
        raise DnsFormatError("question runs past the message")
    qtype, qclass = struct.unpack("!HH", data[pos : pos + 4])
    return Question(ident, flags, name, qtype, qclass, data[12 : pos + 4])


def rcode_of(data: bytes) -> int:
    """The rcode of an answer (SERVFAIL for anything unreadable)."""
    if len(data) < 4:
        return RCODE_SERVFAIL
    return data[3] & 0x0F


def answer_count(data: bytes) -> int:
    return struct.unpack("!H", data[6:8])[0] if len(data) >= 12 else 0


def _header(q: Question, rcode: int, ancount: int, truncated: bool = False) -> bytes:
    # QR, the query's opcode and RD, RA (we recurse for our own zones), TC, rcode.
    flags = 0x8000 | (q.flags & 0x7900) | 0x0080 | rcode
    if truncated:
        flags |= 0x0200
    return struct.pack("!HHHHHH", q.ident, flags, 1, ancount, 0, 0)


def error(q: Question, rcode: int) -> bytes:
    return _header(q, rcode, 0) + q.raw_question


def formerr(data: bytes) -> bytes | None:
    """FORMERR for an unreadable query whose id we can still echo; None if not even that."""
    if len(data) < 2:
        return None
    return struct.pack("!HHHHHH", struct.unpack("!H", data[:2])[0], 0x8081, 0, 0, 0, 0)


def answer(q: Question, addresses: list[str], *, limit: int = MAX_UDP) -> bytes:
    """NOERROR with one record per address of the question's type (none: NODATA)."""
    records = []
    for text in addresses:
        ip = ipaddress.ip_address(text)
        rtype = TYPE_A if ip.version == 4 else TYPE_AAAA
        if rtype != q.qtype:
            continue
        # The owner name as a pointer to the question's name at offset 12.
        records.append(struct.pack("!HHHIH", 0xC00C, rtype, CLASS_IN, TTL, len(ip.packed))
                       + ip.packed)
    body = q.raw_question
    kept: list[bytes] = []
    for rec in records:
        if 12 + len(body) + sum(map(len, kept)) + len(rec) > limit:
            return _header(q, RCODE_NOERROR, len(kept), truncated=True) + body + b"".join(kept)
        kept.append(rec)
    return _header(q, RCODE_NOERROR, len(kept)) + body + b"".join(kept)


def tcp_frame(message: bytes) -> bytes:
    """DNS over TCP: a two-byte length before each message (RFC 1035 4.2.2)."""
    return struct.pack("!H", len(message)) + message


async def serve_tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    answer: Callable[[bytes], Awaitable[bytes | None]], *,
                    close_unanswered: bool) -> None:
    """DNS over one TCP connection (RFC 1035 4.2.2: each message after its
    2-byte length) until the client closes it. A query `answer` leaves
    unanswered (None) closes the connection when `close_unanswered`, else the
    client waits for it in vain (a server that never answers that name)."""
    try:
        while True:
            size = int.from_bytes(await reader.readexactly(2), "big")
            reply = await answer(await reader.readexactly(size))
            if reply is None:
                if close_unanswered:
                    break
                continue
            writer.write(tcp_frame(reply))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()
