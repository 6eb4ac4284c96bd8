"""`wgdroid-userspace [-f|--foreground] IFACE`: the bundled userspace WireGuard daemon.

Works as `WG_QUICK_USERSPACE_IMPLEMENTATION=wgdroid-userspace wg-quick up IFACE`:
like wireguard-go it creates the TUN and the UAPI socket, daemonises, and the
parent returns only once the socket accepts connections.

Environment:
  WGDROID_UAPI_DIR   socket directory (default /var/run/wireguard; Android has no
                     /var/run). `--socket-dir` overrides it.
  LOG_LEVEL          verbose | error (default) | silent. In the background, logs go to
                     the parent's stderr only when LOG_LEVEL is set and not silent
                     (wireguard-go's rule). Keys are never logged.
  WGDROID_WORKERS    crypto workers: inline (default) | threads | processes[:N].
  WGDROID_TUN_GRO    1 (default): open the TUN with IFF_VNET_HDR and write received
                     TCP segments of one flow as one GSO packet; 0: plain TUN.
  WGDROID_TUN_OFFLOAD
                     with IFF_VNET_HDR, also take TSO/USO super-packets from the TUN
                     (segmented and checksummed here): 1 yes, 0 no (the kernel
                     segments them), auto (default) yes with the compiled kernels
                     only (in pure Python the checksums cost more than the reads).
  WGDROID_ACCEL      the compiled kernels (built by `python -m wgdroid.userspace.accel
                     build`) are used when present; 0 turns them off, a path picks
                     another build.
  WGDROID_TEST_TIMER_SCALE
                     TESTS ONLY. A factor (1-1000) by which the protocol clock runs
                     faster than real time, so a 120 s rekey happens after 120/scale s.
                     Never set by default; a daemon started with it logs a warning.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from typing import cast

from wgdroid.redact import RedactingFilter

IFACE_RE = re.compile(r"^[a-zA-Z0-9_=+.-]{1,15}$")
PROG = "wgdroid-userspace"


def _log_level() -> int | None:
    level = os.environ.get("LOG_LEVEL", "error")
    return {"verbose": logging.DEBUG, "debug": logging.DEBUG, "error": logging.ERROR,
            "silent": None}.get(level, logging.ERROR)


def _timer_scale() -> float:
    raw = os.environ.get("WGDROID_TEST_TIMER_SCALE")
    if raw is None:
        return 1.0
    try:
        scale = float(raw)
    except ValueError:
        scale = 0.0
    if not 1.0 <= scale <= 1000.0:
        raise SystemExit(f"{PROG}: WGDROID_TEST_TIMER_SCALE must be a number from 1 to 1000")
    return scale


def _workers() -> tuple[str, int]:
    raw = os.environ.get("WGDROID_WORKERS", "inline")
    kind, _, n = raw.partition(":")
    if kind not in ("inline", "threads", "processes") or (n and not n.isdigit()):
        raise SystemExit(f"{PROG}: WGDROID_WORKERS must be inline, threads[:N] or processes[:N]")
    return kind, max(1, int(n or 2))


def _offload() -> bool:
    choice = os.environ.get("WGDROID_TUN_OFFLOAD", "auto")
    if choice in ("0", "1"):
        return choice == "1"
    from wgdroid.userspace.kernels import CKernels, select_kernels

    return isinstance(select_kernels(), CKernels)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog=PROG, description="Userspace WireGuard (wgdroid).")
    ap.add_argument("-f", "--foreground", action="store_true", help="do not daemonise")
    ap.add_argument("--socket-dir", help="UAPI socket directory (env WGDROID_UAPI_DIR)")
    ap.add_argument("interface")
    args = ap.parse_args(argv)
    iface: str = args.interface
    if not IFACE_RE.match(iface):
        _say(f"{PROG}: invalid interface name {iface!r}")
        return 2
    scale = _timer_scale()
    kind, nworkers = _workers()
    level = _log_level()
    foreground = args.foreground or os.environ.get("WG_PROCESS_FOREGROUND") == "1"

    from wgdroid.userspace.tun import Tun
    from wgdroid.userspace.uapi_server import listen, socket_dir

    directory = args.socket_dir or socket_dir()
    path = os.path.join(directory, f"{iface}.sock")
    try:
        tun = Tun(iface, vnet_hdr=os.environ.get("WGDROID_TUN_GRO", "1") != "0",
                  offload=_offload())
    except OSError as e:
        _say(f"{PROG}: cannot create TUN {iface!r}: {e.strerror}")
        return 1
    try:
        usock = listen(path)
    except OSError as e:
        tun.close()
        _say(f"{PROG}: cannot open UAPI socket {path}: {e.strerror}")
        return 1

    ready_w = -1
    if not foreground:
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid:
            os.close(ready_w)
            ok = os.read(ready_r, 1) == b"1"
            if not ok:
                _say(f"{PROG}: the daemon failed to start")
            return 0 if ok else 1
        os.close(ready_r)
        os.setsid()
        _detach_stdio(keep_stderr=level is not None and "LOG_LEVEL" in os.environ)

    _setup_logging(iface, level)
    log = logging.getLogger("wgdroid.userspace")
    if scale != 1.0:
        log.warning("WGDROID_TEST_TIMER_SCALE=%s: protocol timers run fast (tests only)", scale)

    from wgdroid.userspace.daemon import Daemon
    from wgdroid.userspace.pipeline import PoolKind

    try:
        daemon = Daemon(tun, path, usock, timer_scale=scale, pool=cast(PoolKind, kind),
                        workers=nworkers)
    except Exception as e:
        log.error("cannot start: %s", e)
        tun.close()
        usock.close()
        os.unlink(path)
        return 1
    daemon.loop.install_signal_handlers()
    log.debug("device %s started (workers: %s, kernels: %s, TUN offload %#x, UDP GRO %s)",
              iface, kind, daemon.pipeline.kernels.name, tun.offload, daemon.udp.gro)
    if ready_w >= 0:
        os.write(ready_w, b"1")
        os.close(ready_w)
    try:
        daemon.run()  # logs why it stopped
    finally:
        daemon.close()
    return 0


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")


def _detach_stdio(keep_stderr: bool) -> None:
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    if not keep_stderr:
        os.dup2(null, 1)
        os.dup2(null, 2)
    os.close(null)


def _setup_logging(iface: str, level: int | None) -> None:
    logger = logging.getLogger("wgdroid.userspace")
    logger.propagate = False
    if level is None:
        logger.disabled = True
        return
    h = logging.StreamHandler(sys.stderr)
    h.setFormatter(logging.Formatter(f"{PROG}({iface}): %(levelname)s: %(message)s"))
    h.addFilter(RedactingFilter())  # a UAPI peer's key in a message never reaches the log
    logger.addHandler(h)
    logger.setLevel(level)


if __name__ == "__main__":
    raise SystemExit(main())
