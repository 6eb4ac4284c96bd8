"""Pure units of the simulated adbd: packet headers, the banner, shell v2
framing, host-key decoding and signature checks."""

from __future__ import annotations

import base64
import struct

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

from wgdroid.sim.adb import auth, packets, shellproto
from wgdroid.sim.adb.shell import parse_shell_service
from wgdroid.sim.adb.syncd import strtoul


def test_pack_and_parse_round_trip() -> None:
    pkt = packets.Packet(packets.A_WRTE, 3, 7, b"hello")
    raw = packets.pack(pkt)
    assert len(raw) == 24 + 5
    assert raw[:4] == b"WRTE"
    header = packets.parse_header(raw[:24], packets.MAX_PAYLOAD)
    assert (header.command, header.arg0, header.arg1, header.data_length) == (
        packets.A_WRTE,
        3,
        7,
        5,
    )
    assert header.data_check == 0  # SKIP_CHECKSUM: the device sends 0
    magic = struct.unpack_from("<I", raw, 20)[0]
    assert magic == packets.A_WRTE ^ 0xFFFFFFFF


def test_checksum_is_a_byte_sum() -> None:
    assert packets.checksum(b"\x01\x02\xff") == 258
    raw = packets.pack(packets.Packet(packets.A_CNXN, 1, 2, b"\xff" * 10), with_checksum=True)
    assert struct.unpack_from("<I", raw, 16)[0] == 2550


def test_command_constants_spell_their_names() -> None:
    for value, name in packets.COMMAND_NAMES.items():
        assert struct.pack("<I", value) == name.encode()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\0" * 23, "short header"),
        (struct.pack("<6I", packets.A_OKAY, 1, 2, 0, 0, 0), "bad magic"),
        (
            struct.pack("<6I", packets.A_WRTE, 1, 2, 4097, 0, packets.A_WRTE ^ 0xFFFFFFFF),
            "over the limit",
        ),
    ],
)
def test_bad_headers_are_rejected(raw: bytes, message: str) -> None:
    with pytest.raises(packets.PacketError, match=message):
        packets.parse_header(raw, 4096)


def test_device_banner() -> None:
    banner = packets.device_banner("p", "M", "d", packets.DEVICE_FEATURES)
    assert banner == (
        b"device::ro.product.name=p;ro.product.model=M;ro.product.device=d;"
        b"features=shell_v2,cmd,stat_v2,ls_v2,fixed_push_mkdir,fixed_push_symlink_timestamp"
    )
    with pytest.raises(ValueError, match="must not contain"):
        packets.device_banner("a;b", "M", "d", ())


def test_v2_framing_survives_any_split() -> None:
    stream = (
        shellproto.pack(shellproto.ID_STDIN, b"foo\n")
        + shellproto.pack(shellproto.ID_CLOSE_STDIN)
        + shellproto.pack(shellproto.ID_WINDOW_SIZE, b"24x80,0x0\0")
    )
    want = [(0, b"foo\n"), (4, b""), (5, b"24x80,0x0\0")]
    for cut in range(len(stream) + 1):
        parser = shellproto.ShellParser(max_packet=1024)
        got = list(parser.feed(stream[:cut])) + list(parser.feed(stream[cut:]))
        assert got == want, cut
        assert parser.pending == 0
    parser = shellproto.ShellParser(max_packet=1024)
    assert [p for b in stream for p in parser.feed(bytes([b]))] == want


def test_v2_exit_and_limits() -> None:
    assert shellproto.pack_exit(7) == b"\x03\x01\x00\x00\x00\x07"
    assert shellproto.pack_exit(128 + 9)[-1] == 137
    parser = shellproto.ShellParser(max_packet=8)
    with pytest.raises(shellproto.ShellProtocolError):
        list(parser.feed(shellproto.pack(0, b"x" * 9)))


def test_window_size() -> None:
    assert shellproto.parse_window_size(b"24x80,0x0\0") == shellproto.WindowSize(24, 80, 0, 0)
    with pytest.raises(shellproto.ShellProtocolError):
        shellproto.parse_window_size(b"junk")


@pytest.mark.parametrize(
    ("service", "command", "v2", "pty", "term"),
    [
        ("shell:echo hi", "echo hi", False, False, "dumb"),
        ("shell:", "", False, True, "dumb"),
        ("shell,v2,TERM=xterm,raw:echo hi", "echo hi", True, False, "xterm"),
        ("shell,v2,TERM=xterm-256color,pty:", "", True, True, "xterm-256color"),
        ("shell,v2:ls", "ls", True, False, "dumb"),
        ("shell,v2,pty:top", "top", True, True, "dumb"),
        ("shell,v2,bogus:a:b", "a:b", True, False, "dumb"),
    ],
)
def test_shell_service_args(service: str, command: str, v2: bool, pty: bool, term: str) -> None:
    req = parse_shell_service(service)
    assert (req.command, req.v2, req.pty, req.term) == (command, v2, pty, term)


@pytest.mark.parametrize(
    ("text", "value"),
    [(b"33184", 0o100640), (b"0100644", 0o100644), (b"0x81a4", 0o100644), (b"", 0), (b"12z", 12)],
)
def test_send_mode_parses_like_strtoul(text: bytes, value: int) -> None:
    assert strtoul(text) == value


def _android_pubkey(key: rsa.RSAPublicKey) -> str:
    """Encode as Android's RSAPublicKey (what the adb host writes to adbkey.pub)."""
    n = key.public_numbers().n
    e = key.public_numbers().e
    n0inv = (-pow(n, -1, 2**32)) % 2**32
    rr = pow(2, 4096, n)
    blob = (
        struct.pack("<II", 64, n0inv)
        + n.to_bytes(256, "little")
        + rr.to_bytes(256, "little")
        + struct.pack("<I", e)
    )
    return base64.b64encode(blob).decode() + " user@host"


def test_auth_verifies_a_prehashed_sha1_signature() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = auth.new_token()

    def sign(k: rsa.RSAPrivateKey, t: bytes) -> bytes:
        return k.sign(t, padding.PKCS1v15(), utils.Prehashed(hashes.SHA1()))

    policy = auth.AuthPolicy(allowed_keys=[_android_pubkey(private.public_key())])
    assert policy.accepts(token, sign(private, token))
    assert not policy.accepts(token, sign(other, token))
    assert not policy.accepts(auth.new_token(), sign(private, token))
    blob = auth.key_blob(_android_pubkey(other.public_key()).encode() + b"\0")
    assert not policy.is_allowed(blob)
    policy.allow(_android_pubkey(other.public_key()))
    assert policy.is_allowed(blob)
    assert policy.accepts(token, sign(other, token))


def test_auth_rejects_malformed_keys() -> None:
    with pytest.raises(auth.KeyFormatError):
        auth.key_blob("not base64!")
    with pytest.raises(auth.KeyFormatError):
        auth.key_blob(base64.b64encode(b"short").decode())
    with pytest.raises(auth.KeyFormatError):
        auth.AuthPolicy(allowed_keys=[""])
