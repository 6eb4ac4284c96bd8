"""The phone's `su` (and `reboot`): a stdlib-only client of the phone's su daemon.

Copied into the phone as /system/xbin/su (/system/bin/su on KernelSU, while
the shell is allowed) with a shebang to the base
interpreter. Like Magisk's su it does nothing itself: it hands its
stdin/stdout/stderr to the daemon (SCM_RIGHTS), which checks the caller's uid
(SO_PEERCRED) and the policy, runs the command as root on those fds, and
sends back the exit status, which this process then exits with.
"""

import array
import contextlib
import json
import os
import signal
import socket
import struct
import sys
import termios
import tty

SOCKET_PATH = "/dev/socket/wgdroid_su"
MAX_REPLY = 1 << 20
# Signals that end this process: the daemon is told (one byte each), since
# with KernelSU's and AOSP's su the command runs in this very process and
# would have got them itself; then this process dies of it.
FORWARDED = (signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)


def _forwarding(sock: socket.socket) -> None:
    def forward(sig: int, _frame: object) -> None:
        with contextlib.suppress(OSError):
            sock.send(bytes([sig]))
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)

    for sig in FORWARDED:
        if signal.getsignal(sig) != signal.SIG_IGN:  # an ignored one stays ignored
            signal.signal(sig, forward)


def main() -> int:
    op = "reboot" if os.path.basename(sys.argv[0]) == "reboot" else "su"
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = "/"
    body = json.dumps(
        {"op": op, "argv": sys.argv[1:], "env": dict(os.environ), "cwd": cwd}
    ).encode()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(SOCKET_PATH)
    except OSError as exc:
        sys.stderr.write(f"su: cannot connect to daemon: {exc.strerror}\n")
        return 1
    fds = array.array("i", [0, 1, 2])
    header = struct.pack("!I", len(body))
    reply = b""
    saved = None
    if os.isatty(0) and os.isatty(1):
        # The daemon gives the root shell its own pty: ours just passes keys through.
        try:
            saved = termios.tcgetattr(0)
            tty.setraw(0)
        except termios.error:
            saved = None
    try:
        sock.sendmsg([header], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
        sock.sendall(body)
        _forwarding(sock)
        while len(reply) < MAX_REPLY:
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    except OSError:
        reply = b""
    finally:
        if saved is not None:
            termios.tcsetattr(0, termios.TCSADRAIN, saved)
    if not reply:
        sys.stderr.write("su: no answer from the su daemon\n")
        return 1
    answer = json.loads(reply)
    if answer.get("stdout"):
        os.write(1, answer["stdout"].encode())
    if answer.get("stderr"):
        os.write(2, answer["stderr"].encode())
    return int(answer.get("status", 1))


if __name__ == "__main__":
    sys.exit(main())
