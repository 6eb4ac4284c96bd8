"""Messages between the host runtime and a zygote: one JSON object per
SOCK_SEQPACKET datagram, file descriptors riding along as SCM_RIGHTS."""

from __future__ import annotations

import array
import contextlib
import json
import socket
from typing import Any

MAX_MESSAGE = 256 * 1024  # bounded: argv + env of one spawn fit easily
MAX_FDS = 8


def send(sock: socket.socket, msg: dict[str, Any], fds: list[int] | tuple[int, ...] = ()) -> None:
    data = json.dumps(msg).encode()
    if len(data) > MAX_MESSAGE:
        raise ValueError("message too large")
    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
    sock.sendmsg([data], anc)


def recv(sock: socket.socket) -> tuple[dict[str, Any] | None, list[int]]:
    """One message and its fds; (None, []) at EOF."""
    fds = array.array("i")
    data, ancdata, _flags, _addr = sock.recvmsg(
        MAX_MESSAGE, socket.CMSG_SPACE(MAX_FDS * fds.itemsize)
    )
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            usable = len(payload) - len(payload) % fds.itemsize
            fds.frombytes(payload[:usable])
    if not data:
        for fd in fds:
            _close(fd)
        return None, []
    return json.loads(data), list(fds)


def _close(fd: int) -> None:
    import os

    with contextlib.suppress(OSError):
        os.close(fd)
