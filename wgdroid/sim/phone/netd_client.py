"""The phone's `ndc`, `service` and `dumpsys`: stdlib-only clients of the
phone's netd daemon (wgdroid.sim.phone.netd), which checks the caller's uid.

Copied into the phone with a shebang to the base interpreter; the name it is
run as says which tool it is. Like the real tools, they print what the service
answers and exit with its status (ndc: 0 whatever netd said, 1 when netd
cannot be reached). The real ones: system/netd/server/ndc.cpp (main hands the
words to NdcDispatcher::dispatchCommand, which prints `CODE 0 TEXT`),
frameworks/native/cmds/service/service.cpp (main: `service call NAME CODE
ARGS` prints the reply parcel) and frameworks/native/cmds/dumpsys/dumpsys.cpp
(the service's dump); the replies themselves are netd's (netd.py, binder.py).
"""

import json
import os
import socket
import sys

SOCKET_PATH = "/dev/socket/wgdroid_netd"
MAX_REPLY = 1 << 22


def main() -> int:
    tool = os.path.basename(sys.argv[0])
    args = sys.argv[1:]
    if tool == "ndc" and not args:
        sys.stderr.write(f"Usage: {sys.argv[0]} (<cmd> [arg ...])\n")
        return 1
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(SOCKET_PATH)
        sock.sendall(json.dumps({"tool": tool, "argv": args}).encode() + b"\n")
        reply = b""
        while not reply.endswith(b"\n") and len(reply) < MAX_REPLY:
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    except OSError:
        reply = b""
    finally:
        sock.close()
    if not reply:
        if tool == "service":
            sys.stderr.write("service: Unable to get default service manager!\n")
            return 20
        return 1  # ndc: "Unable to get binder service" goes to logcat only
    answer = json.loads(reply)
    if answer.get("stdout"):
        sys.stdout.write(answer["stdout"])
    if answer.get("stderr"):
        sys.stderr.write(answer["stderr"])
    return int(answer.get("status", 1))


if __name__ == "__main__":
    sys.exit(main())
