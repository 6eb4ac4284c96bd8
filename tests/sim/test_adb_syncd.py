"""syncd as the phone runs it: a stdlib-only python3 process speaking the sync
protocol on its stdin/stdout (no adb server in between, so every byte of the
replies can be checked)."""

from __future__ import annotations

import os
import stat
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# The system python when there is one, and -S (no site-packages): syncd is stdlib only.
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def req(name: bytes, payload: bytes = b"", length: int | None = None) -> bytes:
    return name + struct.pack("<I", len(payload) if length is None else length) + payload


def send_file(path: bytes, mode: int, data: bytes, mtime: int, chunk: int = 65536) -> bytes:
    out = req(b"SEND", path + b"," + str(mode).encode())
    for i in range(0, len(data), chunk):
        out += req(b"DATA", data[i : i + chunk])
    return out + req(b"DONE", length=mtime)


class Syncd:
    def __init__(self) -> None:
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(
            [PYTHON, "-B", "-S", "-m", "wgdroid.sim.adb.syncd"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd="/",
        )

    def talk(self, data: bytes) -> bytes:
        """Send requests, close stdin, return everything syncd said."""
        out, err = self.proc.communicate(data, timeout=30)
        assert err == b"", err
        return out


@pytest.fixture
def syncd() -> Iterator[Syncd]:
    s = Syncd()
    yield s
    if s.proc.poll() is None:
        s.proc.kill()
        s.proc.wait()


def test_stat_v1_and_v2(syncd: Syncd, tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"12345")
    os.utime(f, (1_500_000_000, 1_600_000_000))
    link = tmp_path / "link"
    link.symlink_to("f")
    p = bytes(f)
    out = syncd.talk(
        req(b"STAT", p)
        + req(b"STAT", b"/missing")
        + req(b"STA2", bytes(link))
        + req(b"LST2", bytes(link))
        + req(b"STA2", b"/missing")
        + req(b"QUIT")
    )
    ident, mode, size, mtime = struct.unpack_from("<4sIII", out, 0)
    assert (ident, stat.S_ISREG(mode), size, mtime) == (b"STAT", True, 5, 1_600_000_000)
    assert out[16:32] == b"STAT" + b"\0" * 12  # missing: zeros, not FAIL
    v2 = struct.Struct("<4sIQQIIIIQqqq")
    st2 = v2.unpack_from(out, 32)
    assert st2[0] == b"STA2" and st2[1] == 0 and stat.S_ISREG(st2[4]) and st2[8] == 5
    assert st2[3] == f.stat().st_ino and st2[10] == 1_600_000_000 and st2[9] == 1_500_000_000
    lst = v2.unpack_from(out, 32 + 72)
    assert lst[0] == b"LST2" and stat.S_ISLNK(lst[4])
    missing = v2.unpack_from(out, 32 + 144)
    assert missing[:2] == (b"STA2", 2) and not any(missing[2:])  # wire errno ENOENT
    assert len(out) == 32 + 3 * 72
    assert syncd.proc.returncode == 0


def test_list_v1_and_v2(syncd: Syncd, tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"x" * 3)
    (tmp_path / "d").mkdir()
    out = syncd.talk(req(b"LIST", bytes(tmp_path)) + req(b"LIS2", bytes(tmp_path)))
    names, off = {}, 0
    while out[off : off + 4] == b"DENT":
        _, mode, size, _mtime, n = struct.unpack_from("<4sIIII", out, off)
        names[out[off + 20 : off + 20 + n]] = (mode, size)
        off += 20 + n
    assert out[off : off + 20] == b"DONE" + b"\0" * 16
    off += 20
    assert set(names) == {b".", b"..", b"a", b"d"}
    assert names[b"a"][1] == 3 and stat.S_ISDIR(names[b"d"][0])
    names2 = {}
    while out[off : off + 4] == b"DNT2":
        fields = struct.unpack_from("<4sIQQIIIIQqqqI", out, off)
        names2[out[off + 76 : off + 76 + fields[-1]]] = fields
        off += 76 + fields[-1]
    assert out[off:] == b"DONE" + b"\0" * 72
    assert set(names2) == {b".", b"..", b"a", b"d"}
    assert names2[b"a"][8] == 3 and names2[b"a"][1] == 0


def test_send_makes_parents_sets_mode_and_mtime(syncd: Syncd, tmp_path: Path) -> None:
    data = os.urandom(200_000)
    target = tmp_path / "x" / "y" / "f.bin"
    link = tmp_path / "x" / "ln"
    out = syncd.talk(
        send_file(bytes(target), 0o100640, data, 1_234_567_890)
        + req(b"SEND", bytes(link) + b"," + str(0o120777).encode())
        + req(b"DATA", b"y/f.bin")
        + req(b"DONE", length=1_000_000_000)
        + req(b"QUIT")
    )
    assert out == b"OKAY\0\0\0\0" * 2
    assert target.read_bytes() == data
    st = target.stat()
    assert (stat.S_IMODE(st.st_mode), int(st.st_mtime)) == (0o666, 1_234_567_890)
    assert os.readlink(link) == "y/f.bin"
    assert int(os.lstat(link).st_mtime) == 1_000_000_000
    assert sorted(p.name for p in target.parent.iterdir()) == ["f.bin"]


def test_interrupted_send_leaves_no_file(syncd: Syncd, tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    target.write_bytes(b"old contents")
    partial = send_file(bytes(target), 0o100644, os.urandom(300_000), 1)[:-8]  # no DONE
    out = syncd.talk(partial[: len(partial) - 1000])  # cut inside a DATA chunk
    assert out == b""
    assert target.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]  # the temp file is gone


def test_send_error_drains_to_done_then_fails(syncd: Syncd, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    out = syncd.talk(send_file(bytes(blocker / "sub" / "f"), 0o100644, b"z" * 100_000, 1))
    assert out.startswith(b"FAIL")
    (length,) = struct.unpack_from("<I", out, 4)
    assert out[8:] == b"secure_mkdirs failed: Not a directory"
    assert length == len(out) - 8


def test_recv(syncd: Syncd, tmp_path: Path) -> None:
    data = os.urandom(150_000)
    (tmp_path / "f").write_bytes(data)
    out = syncd.talk(req(b"RECV", bytes(tmp_path / "f")) + req(b"RECV", b"/missing"))
    got, off = b"", 0
    while out[off : off + 4] == b"DATA":
        (n,) = struct.unpack_from("<I", out, off + 4)
        assert n <= 65536
        got += out[off + 8 : off + 8 + n]
        off += 8 + n
    assert got == data
    assert out[off : off + 8] == b"DONE\0\0\0\0"
    fail = b"open failed: No such file or directory"
    assert out[off + 8 :] == b"FAIL" + struct.pack("<I", len(fail)) + fail


def test_unknown_command(syncd: Syncd) -> None:
    out = syncd.talk(req(b"WHAT", b"/"))
    msg = b"unknown command %08x" % struct.unpack("<I", b"WHAT")[0]
    assert out == b"FAIL" + struct.pack("<I", len(msg)) + msg
    assert syncd.proc.returncode != 0
