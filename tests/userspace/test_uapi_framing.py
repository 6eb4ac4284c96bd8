"""UAPI socket framing (docs/dataplane.md, "UAPI") with a recording handler: a pure
protocol unit."""

from __future__ import annotations

import errno
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from wgdroid.userspace.loop import Loop
from wgdroid.userspace.uapi_server import UapiError, UapiServer, listen


class Recorder:
    def __init__(self) -> None:
        self.sets: list[list[tuple[str, str]]] = []

    def uapi_get(self) -> list[str]:
        return ["listen_port=51820", "public_key=" + "ab" * 32]

    def uapi_set(self, pairs: list[tuple[str, str]]) -> None:
        self.sets.append(pairs)
        for k, _v in pairs:
            if k == "bogus_key":
                raise UapiError(errno.EINVAL, "unknown key")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Recorder, UapiServer]]:
    loop = Loop()
    rec = Recorder()
    path = str(tmp_path / "wgt0.sock")
    srv = UapiServer(path, rec, loop)

    def watch() -> None:
        if srv.socket_gone():
            loop.stop("socket removed")
        else:
            loop.call_later(0.05, watch)

    loop.call_later(0.05, watch)
    t = threading.Thread(target=loop.run, daemon=True)
    t.start()
    try:
        yield path, rec, srv
    finally:
        loop.stop("test over")
        t.join(timeout=5)
        srv.close()
        loop.close()


def talk(path: str, data: bytes, replies: int = 1) -> bytes:
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(path)  # blocking, as wg does: waits while the listen backlog is full
        s.settimeout(5)
        s.sendall(data)
        out = b""
        while out.count(b"\n\n") < replies:
            chunk = s.recv(4096)
            if not chunk:
                break
            out += chunk
        return out


def test_get_and_set_on_one_connection(server: tuple[str, Recorder, UapiServer]) -> None:
    path, rec, _ = server
    out = talk(path, b"get=1\n\nset=1\nlisten_port=1\npublic_key=" + b"cd" * 32 + b"\n\n", 2)
    assert out == (
        b"listen_port=51820\npublic_key=" + b"ab" * 32 + b"\nerrno=0\n\nerrno=0\n\n"
    )
    assert rec.sets == [[("listen_port", "1"), ("public_key", "cd" * 32)]]


def test_errors_are_negative_errno(server: tuple[str, Recorder, UapiServer]) -> None:
    path, _, _ = server
    assert talk(path, b"set=1\nbogus_key=1\n\n") == b"errno=-22\n\n"
    assert talk(path, b"set=1\nno equals sign\n\n") == b"errno=-71\n\n"
    assert talk(path, b"get=1\ntrailing\n") == b"errno=-22\n\n"


def test_after_an_error_the_connection_still_serves(
    server: tuple[str, Recorder, UapiServer],
) -> None:
    path, _, _ = server
    out = talk(path, b"set=1\njunk\nmore junk\n\nget=1\n\n", 2)
    assert out.startswith(b"errno=-71\n\n")
    assert out.endswith(b"errno=0\n\n")


def test_unknown_operation_closes(server: tuple[str, Recorder, UapiServer]) -> None:
    path, _, _ = server
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(path)
        s.sendall(b"frobnicate=1\n\n")
        assert s.recv(100) == b""


def test_junk_never_kills_the_server(server: tuple[str, Recorder, UapiServer]) -> None:
    path, _, _ = server
    rnd = __import__("random").Random(1)
    for _ in range(50):
        blob = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 300)))
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(2)
            s.connect(path)
            s.sendall(blob)
            s.shutdown(socket.SHUT_WR)
            try:
                while s.recv(4096):
                    pass
            except TimeoutError:
                pass
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(path)
        s.sendall(b"x" * 10000)  # an over-long line: the server hangs up
        assert s.recv(100) == b""
    assert talk(path, b"get=1\n\n").endswith(b"errno=0\n\n")


def test_socket_mode_and_stale_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "d" / "wgt1.sock")
    s = listen(path)
    assert oct(os.stat(path).st_mode & 0o777) == "0o700"  # umask 077 like wireguard-go
    assert oct(os.stat(os.path.dirname(path)).st_mode & 0o777) == "0o755"
    with pytest.raises(OSError, match="another daemon"):
        listen(path)
    s.close()  # stale: the file stays but nobody listens
    s2 = listen(path)
    s2.close()


def test_loop_survives_a_failing_callback() -> None:
    loop = Loop()
    ran: list[str] = []

    def boom() -> None:
        raise RuntimeError("secret-ish detail")

    loop.call_later(0, boom)
    loop.call_later(0.01, lambda: ran.append("later"))
    loop.call_later(0.02, lambda: loop.stop("done"))
    assert loop.run() == "done"
    assert ran == ["later"]
    assert loop.errors == 1
    loop.close()


def test_idle_clients_never_lock_a_new_one_out(
    server: tuple[str, Recorder, UapiServer],
) -> None:
    """40 idle connections (the cap is 32): the newest client is still served, and
    the ones evicted to make room see their connection closed."""
    path, _, srv = server
    idle = []
    try:
        for _ in range(40):
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)  # blocking: waits while the listen backlog is full
            s.settimeout(5)
            idle.append(s)
        assert talk(path, b"get=1\n\n").endswith(b"errno=0\n\n")
        assert idle[0].recv(100) == b""  # the oldest was evicted
        assert srv.evicted >= 9
    finally:
        for s in idle:
            s.close()


def test_an_idle_connection_is_closed_after_the_timeout(tmp_path: Path) -> None:
    loop = Loop()
    srv = UapiServer(str(tmp_path / "wgt2.sock"), Recorder(), loop, idle_timeout=0.2)
    t = threading.Thread(target=loop.run, daemon=True)
    t.start()
    try:
        with socket.socket(socket.AF_UNIX) as quiet:
            quiet.connect(srv.path)
            quiet.settimeout(10)
            assert quiet.recv(100) == b""  # blocks until the server hangs up
            assert srv.evicted == 1
    finally:
        loop.stop("test over")
        t.join(timeout=5)
        srv.close()
        loop.close()


def test_a_client_that_stops_reading_holds_only_itself(
    server: tuple[str, Recorder, UapiServer],
) -> None:
    """Replies it does not read wait in its connection (its next requests wait too);
    other clients are served meanwhile, and it gets every reply once it reads."""
    path, _, _ = server
    n = 5000  # ~0.5 MB of replies: more than a Unix socket buffers
    with socket.socket(socket.AF_UNIX) as slow:
        slow.connect(path)
        slow.settimeout(10)
        slow.sendall(b"get=1\n\n" * n)
        assert talk(path, b"get=1\n\n").endswith(b"errno=0\n\n")
        got = b""
        while got.count(b"errno=0\n\n") < n:
            chunk = slow.recv(65536)
            assert chunk, f"closed after {got.count(b'errno=0')} replies"
            got += chunk
        assert got == talk(path, b"get=1\n\n") * n
