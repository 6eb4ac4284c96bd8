"""Transport data messages: the pure crypto step of the pipeline.

`Peer.prepare_send` (ordered, under the caller's lock) turns plaintext packets
into `SendJob`s carrying everything needed to encrypt: the key, the counter
(nonce), the receiver index and the padded length. `seal` is a pure function of
a job, safe in any thread. On receive,
`Device.classify` makes a `RecvJob`; `open_` decrypts it (pure, any order), and
`Peer.on_received` finishes it in order (replay check, timers, routing).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from wgdroid.userspace.core.constants import (
    MSG_TRANSPORT,
    PADDING_MULTIPLE,
    TAG_LEN,
    TRANSPORT_HEADER_LEN,
)

if TYPE_CHECKING:
    from wgdroid.userspace.core.actions import Bytes, Endpoint
    from wgdroid.userspace.core.keypair import Keypair

_HEADER = struct.Struct("<IIQ")  # type (u8 + 3 zero bytes), receiver index, counter
_NONCE = struct.Struct("<IQ")  # 4 zero bytes, then the little-endian 64-bit counter
_ZEROS = bytes(PADDING_MULTIPLE)
_PAD_SPAN = _HEADER.size + TAG_LEN  # datagram bytes besides the padded plaintext


class Cipher:
    """One direction's transport key with its ChaCha20-Poly1305 context built once.

    Pickles as the key bytes only (so a job can cross to a worker process); its
    repr never shows the key.
    """

    __slots__ = ("aead", "key")

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.aead = ChaCha20Poly1305(key)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Cipher, (self.key,))

    def __repr__(self) -> str:
        return "Cipher(<key>)"


def padded_length(n: int, mtu: int) -> int:
    """Plaintext length after zero padding (send.c calculate_skb_padding).

    Pad to a multiple of 16 but never past the MTU; a packet larger than the MTU
    (GSO-sized) is padded as its last MTU-sized unit would be. mtu <= 0: no MTU.
    """
    if mtu <= 0:
        return (n + PADDING_MULTIPLE - 1) & ~(PADDING_MULTIPLE - 1)
    last_unit = n % mtu if n > mtu else n
    padded = min(mtu, (last_unit + PADDING_MULTIPLE - 1) & ~(PADDING_MULTIPLE - 1))
    return n + padded - last_unit


class SendJob:
    """One outgoing transport message before encryption.

    `packet` is the inner IP packet (b"" for a keepalive), `padded_len` the
    plaintext length after padding, `counter` the nonce already reserved on the
    keypair, `receiver_index` the peer's index for that keypair. `nbytes` is the
    datagram size `seal` will produce (for byte-bounded queues).
    """

    __slots__ = ("cipher", "counter", "packet", "padded_len", "receiver_index")

    def __init__(
        self, cipher: Cipher, receiver_index: int, counter: int, packet: bytes, padded_len: int
    ) -> None:
        self.cipher = cipher
        self.receiver_index = receiver_index
        self.counter = counter
        self.packet = packet
        self.padded_len = padded_len

    @property
    def nbytes(self) -> int:
        return self.padded_len + _PAD_SPAN

    @property
    def is_keepalive(self) -> bool:
        return not self.packet

    def __repr__(self) -> str:
        return (
            f"SendJob(idx={self.receiver_index:#x}, counter={self.counter}, len={len(self.packet)})"
        )


class RecvJob:
    """One received transport datagram, matched to its keypair, before decryption.

    `data` is the whole datagram (header + ciphertext), `src` where it came from.
    """

    __slots__ = ("cipher", "counter", "data", "keypair", "src")

    def __init__(
        self, keypair: Keypair, cipher: Cipher, counter: int, data: Bytes, src: Endpoint
    ) -> None:
        self.keypair = keypair
        self.cipher = cipher
        self.counter = counter
        self.data = data
        self.src = src

    @property
    def nbytes(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return f"RecvJob(counter={self.counter}, len={len(self.data)}, src={self.src!r})"


class RecvRun:
    """Consecutive transport messages under one keypair from one source, as a UDP
    GRO read brings them: message i is buf[offs[i]:offs[i] + lens[i]] of the
    shell's buffer, with counter counters[i]. The per-batch form of RecvJob."""

    __slots__ = ("counters", "keypair", "lens", "offs", "src")

    def __init__(self, keypair: Keypair, src: Endpoint) -> None:
        self.keypair = keypair
        self.src = src
        self.counters: list[int] = []
        self.offs: list[int] = []
        self.lens: list[int] = []

    @property
    def cipher(self) -> Cipher:
        return self.keypair.recv

    def __len__(self) -> int:
        return len(self.counters)

    def __repr__(self) -> str:
        return f"RecvRun(n={len(self.counters)}, src={self.src!r})"


Sealer = Callable[[int, int, "Bytes | bytearray", memoryview, int], int]
Opener = Callable[[int, "Bytes", memoryview, int], "int | None"]


def sealer(aead: ChaCha20Poly1305) -> Sealer:
    """The one sealing primitive, bound to a key: seal(receiver_index, counter,
    padded, out, offset) writes header ‖ AEAD(key, counter, padded plaintext) to
    out[offset:] and returns its length. Resolved once per key, as the shell's
    pure-Python kernels call it per segment."""
    pack_header = _HEADER.pack_into
    nonce = _NONCE.pack
    into = getattr(aead, "encrypt_into", None)  # cryptography >= 44
    encrypt = aead.encrypt

    def seal(receiver_index: int, counter: int, padded: Bytes | bytearray, out: memoryview,
             offset: int) -> int:
        n = len(padded) + _PAD_SPAN
        pack_header(out, offset, MSG_TRANSPORT, receiver_index, counter)
        if into is not None:
            into(nonce(0, counter), padded, None, out[offset + 16 : offset + n])
        else:
            out[offset + 16 : offset + n] = encrypt(nonce(0, counter), bytes(padded), None)
        return n

    return seal


def opener(aead: ChaCha20Poly1305) -> Opener:
    """The one opening primitive, bound to a key: open(counter, datagram, out,
    offset) decrypts the payload into out[offset:]; the padded plaintext length,
    or None if authentication fails."""
    nonce = _NONCE.pack
    into = getattr(aead, "decrypt_into", None)  # cryptography >= 44
    decrypt = aead.decrypt

    def open_(counter: int, datagram: Bytes, out: memoryview, offset: int) -> int | None:
        n = len(datagram) - _PAD_SPAN
        if n < 0:
            return None
        data = memoryview(datagram)[TRANSPORT_HEADER_LEN:]
        try:
            if into is not None:
                into(nonce(0, counter), data, None, out[offset : offset + n])
            else:
                out[offset : offset + n] = decrypt(nonce(0, counter), bytes(data), None)
        except InvalidTag:
            return None
        return n

    return open_


def seal_padded_into(aead: ChaCha20Poly1305, receiver_index: int, counter: int,
                     padded: Bytes | bytearray, out: memoryview | bytearray, offset: int) -> int:
    """One datagram with `sealer` (for one-off callers)."""
    return sealer(aead)(receiver_index, counter, padded, memoryview(out), offset)


def open_payload_into(aead: ChaCha20Poly1305, counter: int, datagram: Bytes,
                      out: memoryview | bytearray, offset: int = 0) -> int | None:
    """One datagram with `opener` (for one-off callers)."""
    return opener(aead)(counter, datagram, memoryview(out), offset)


def _pad(packet: Bytes, padded_len: int) -> bytes:
    packet = bytes(packet)
    pad = padded_len - len(packet)
    if pad:
        packet += _ZEROS[:pad] if pad <= PADDING_MULTIPLE else bytes(pad)
    return packet


def seal_raw(cipher: Cipher, receiver_index: int, counter: int, packet: Bytes,
             padded_len: int) -> bytes:
    """Build one transport datagram: header ‖ AEAD(key, counter, padded packet)."""
    out = bytearray(padded_len + _PAD_SPAN)
    seal_padded_into(cipher.aead, receiver_index, counter, _pad(packet, padded_len), out, 0)
    return bytes(out)


def seal(job: SendJob) -> bytes:
    """Encrypt a SendJob into its datagram. Pure: no shared state is read or written."""
    return seal_raw(job.cipher, job.receiver_index, job.counter, job.packet, job.padded_len)


def seal_into(job: SendJob, out: memoryview | bytearray, offset: int = 0) -> int:
    """Like `seal`, but write the datagram into `out[offset:]`; returns its length
    (`job.nbytes`)."""
    return seal_padded_into(job.cipher.aead, job.receiver_index, job.counter,
                            _pad(job.packet, job.padded_len), out, offset)


def open_raw(cipher: Cipher, counter: int, data: Bytes) -> bytes | None:
    """Decrypt a transport datagram's payload; None if authentication fails."""
    out = bytearray(max(0, len(data) - _PAD_SPAN))
    n = open_payload_into(cipher.aead, counter, data, out)
    return None if n is None else bytes(out)


def open_into(job: RecvJob, out: memoryview | bytearray, offset: int = 0) -> int | None:
    """Like `open_`, but decrypt into `out[offset:]`; returns the padded plaintext
    length, or None if authentication fails."""
    return open_payload_into(job.cipher.aead, job.counter, job.data, out, offset)


def open_(job: RecvJob) -> bytes | None:
    """Decrypt a RecvJob: the padded inner packet, or None (drop). Pure, any order."""
    return open_raw(job.cipher, job.counter, job.data)
