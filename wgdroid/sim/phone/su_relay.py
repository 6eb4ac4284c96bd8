"""A root shell's own terminal, as Magisk's su daemon gives it: when su's
client sits on a tty, the root process gets a fresh pty (its controlling
terminal, so job control works) and the zygote relays bytes between that pty
and the client's tty. Buffers are bounded; reads pause while one is full."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import selectors
import termios

BUFFER_LIMIT = 64 * 1024
CHUNK = 4096


TIOCSPTLCK = 0x40045431
TIOCGPTPEER = 0x5441


def open_pty() -> tuple[int, int]:
    """A pty pair from the devpts instance at /dev/pts, without /dev/ptmx
    (a bind-mounted ptmx node can't find its devpts) or a slave path."""
    master = os.open("/dev/pts/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(master, TIOCSPTLCK, b"\0\0\0\0")  # unlockpt
        slave = fcntl.ioctl(master, TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        os.close(master)
        raise
    return master, int(slave)


class TtyRelay:
    def __init__(self, sel: selectors.BaseSelector, tty_in: int, tty_out: int) -> None:
        self.sel = sel
        self.tty_in = tty_in  # the client's stdin and stdout (its terminal)
        self.tty_out = tty_out
        self.master, self.slave = open_pty()
        with contextlib.suppress(OSError):
            size = fcntl.ioctl(tty_in, termios.TIOCGWINSZ, b"\0" * 8)
            fcntl.ioctl(self.slave, termios.TIOCSWINSZ, size)
        os.set_blocking(self.master, False)
        self.to_tty = bytearray()
        self.to_child = bytearray()
        self.closed = False
        self._watch()

    def _watch(self) -> None:
        """(Re)register each fd for what it can do now, within the buffer limits."""
        wants = {
            self.master: (selectors.EVENT_READ if len(self.to_tty) < BUFFER_LIMIT else 0)
            | (selectors.EVENT_WRITE if self.to_child else 0),
            self.tty_out: selectors.EVENT_WRITE if self.to_tty else 0,
        }
        if self.tty_in >= 0:
            wants[self.tty_in] = (
                selectors.EVENT_READ if len(self.to_child) < BUFFER_LIMIT else 0)
        for fd, events in wants.items():
            key = self.sel.get_map().get(fd)
            if events == 0:
                if key is not None:
                    self.sel.unregister(fd)
            elif key is None:
                self.sel.register(fd, events, ("relay", self))
            elif key.events != events:
                self.sel.modify(fd, events, ("relay", self))

    def started(self) -> None:
        """The child has the slave: the relay must not keep it open (EIO at its exit)."""
        os.close(self.slave)
        self.slave = -1

    def on_event(self, fd: int, events: int) -> None:
        if self.closed:
            return
        try:
            if fd == self.master:
                if events & selectors.EVENT_READ:
                    self._read_master()
                if events & selectors.EVENT_WRITE and self.to_child:
                    n = os.write(self.master, self.to_child[:CHUNK])
                    del self.to_child[:n]
            elif fd == self.tty_in:
                data = os.read(self.tty_in, CHUNK)
                if data:
                    self.to_child += data
                else:  # the client's terminal closed: nothing more to type
                    self.sel.unregister(self.tty_in)
                    os.close(self.tty_in)
                    self.tty_in = -1
            elif fd == self.tty_out and self.to_tty:
                n = os.write(self.tty_out, self.to_tty[:CHUNK])
                del self.to_tty[:n]
        except BlockingIOError:
            pass
        except OSError:
            self.close()
            return
        self._watch()

    def _read_master(self) -> None:
        try:
            data = os.read(self.master, CHUNK)
        except OSError as exc:
            if exc.errno == errno.EIO:  # every slave fd closed: the child is gone
                return
            raise
        self.to_tty += data

    def finish(self) -> None:
        """The child exited: hand over what it still wrote, then let go."""
        with contextlib.suppress(OSError):
            while len(self.to_tty) < BUFFER_LIMIT:
                data = os.read(self.master, CHUNK)
                if not data:
                    break
                self.to_tty += data
        with contextlib.suppress(OSError):
            view = memoryview(bytes(self.to_tty))
            while view:
                n = os.write(self.tty_out, view)
                view = view[n:]
        self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for fd in (self.master, self.tty_in, self.tty_out):
            if fd < 0:
                continue
            with contextlib.suppress(KeyError, ValueError):
                self.sel.unregister(fd)
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.slave >= 0:
            with contextlib.suppress(OSError):
                os.close(self.slave)
