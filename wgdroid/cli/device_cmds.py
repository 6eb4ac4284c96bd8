"""Device commands: list, push, pull, rm, rename, enable, disable, status, doctor.

A thin shell over `wgdroid.device`: parse flags, pick the device(s), call one
operation, print data on stdout and messages on stderr. With --all, each
device is reported on its own line and the exit code is PARTIAL when some
failed (or the shared code when all failed alike).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from wgdroid.cli import output
from wgdroid.errors import ConfigError, DeviceError, UsageError, WgdroidError
from wgdroid.exit_codes import ExitCode

if TYPE_CHECKING:
    from wgdroid.device.connection import Device
    from wgdroid.device.fanout import Outcome
    from wgdroid.device.status import DeviceStatus

T = TypeVar("T")
BACKENDS = ("auto", "kernel", "wireguard-go", "userspace")


def _parents() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser, argparse.ArgumentParser]:
    common = argparse.ArgumentParser(add_help=False)
    g = common.add_argument_group("device")
    g.add_argument("-s", "--serial", metavar="SERIAL", help="the device (else ANDROID_SERIAL)")
    g.add_argument("-H", dest="adb_host", metavar="HOST", help="adb server host")
    g.add_argument("-P", dest="adb_port", metavar="PORT", type=int, help="adb server port")
    g.add_argument(
        "--root-timeout", type=float, metavar="SECONDS",
        help="how long to wait for the su prompt to be answered (default 10)",
    )
    multi = argparse.ArgumentParser(add_help=False)
    multi.add_argument("--all", action="store_true", help="every connected device, in parallel")
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print JSON on stdout")
    return common, multi, as_json


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common, multi, as_json = _parents()

    p = sub.add_parser("list", parents=[common, multi, as_json],
                       help="list the tunnels stored on the phone")
    p.set_defaults(func=_list)

    p = sub.add_parser("push", parents=[common, multi, as_json],
                       help="validate a config and store it on the phone")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--name", help="tunnel name (default: FILE's name without .conf)")
    p.add_argument("--enable", action="store_true", help="bring it up afterwards (restart if up)")
    p.add_argument("--backend", choices=BACKENDS, default="auto")
    p.add_argument(
        "--dialect", choices=["auto", "android", "linux"], default="auto",
        help="validate for this wg-quick instead of the one found on the phone",
    )
    p.set_defaults(func=_push)

    p = sub.add_parser("pull", parents=[common], help="copy a stored config to this computer")
    p.add_argument("name", metavar="NAME")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="where to write (default NAME.conf; - for stdout)")
    p.set_defaults(func=_pull)

    p = sub.add_parser("rm", parents=[common, multi], help="delete a stored config")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--force", action="store_true", help="bring it down first if it is up")
    p.set_defaults(func=_rm)

    p = sub.add_parser("rename", parents=[common], help="rename a stored config")
    p.add_argument("old", metavar="OLD")
    p.add_argument("new", metavar="NEW")
    p.add_argument("--force", action="store_true", help="if OLD is up: down, rename, up")
    p.set_defaults(func=_rename)

    p = sub.add_parser("enable", parents=[common, multi, as_json],
                       help="bring a stored tunnel up (wg-quick up)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--backend", choices=BACKENDS, default="auto")
    p.set_defaults(func=_enable)

    p = sub.add_parser("disable", parents=[common, multi, as_json],
                       help="bring a tunnel down (wg-quick down)")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=_disable)

    p = sub.add_parser("status", parents=[common, multi, as_json],
                       help="live state of the tunnels that are up")
    p.add_argument("name", metavar="NAME", nargs="?")
    p.add_argument("--watch", action="store_true", help="poll until interrupted")
    p.add_argument("--interval", type=float, default=1.0, metavar="SECONDS",
                   help="poll interval / rate window (default 1)")
    p.add_argument("--count", type=int, metavar="N", help="with --watch: stop after N polls")
    p.set_defaults(func=_status)

    p = sub.add_parser("doctor", parents=[common, multi, as_json],
                       help="what the phone has for WireGuard, and what to fix")
    p.add_argument("--check", action="store_true", help="exit 9 if no tunnel could run")
    p.set_defaults(func=_doctor)


# -- device choice ------------------------------------------------------------


def _one(args: argparse.Namespace) -> Device:
    from wgdroid.device.connection import connect

    return connect(args.serial, host=args.adb_host, port=args.adb_port)


def _many(args: argparse.Namespace) -> tuple[list[Device], list[Outcome[Any]]]:
    """(usable devices, failed outcomes for devices in a bad state)."""
    from wgdroid.device.connection import all_devices, check_state
    from wgdroid.device.fanout import Outcome

    if args.serial:
        raise UsageError("-s and --all exclude each other")
    usable, others = all_devices(host=args.adb_host, port=args.adb_port)
    bad: list[Outcome[Any]] = []
    for info in others:
        try:
            check_state(info)
        except DeviceError as exc:
            bad.append(Outcome(info.serial, error=exc))
    return usable, bad


def _fan(
    args: argparse.Namespace, op: Callable[[Device], T]
) -> list[Outcome[T]]:
    from wgdroid.device.fanout import run_all

    devices, bad = _many(args)
    return run_all(devices, op) + bad


def _report(outcomes: list[Outcome[Any]], show: Callable[[Any], str] | None = None) -> int:
    """One line per device: data for successes, errors on stderr."""
    from wgdroid.device.fanout import combined_exit

    for o in outcomes:
        if o.error is None:
            output.data(f"{o.serial}\tok" + (f"\t{show(o.value)}" if show else ""))
        else:
            output.error(f"{o.serial}: {o.error.message}")
    return combined_exit(outcomes)


def _err_json(error: WgdroidError) -> dict[str, Any]:
    return {"message": error.message, "exit_code": int(error.exit_code)}


# -- handlers -----------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    from wgdroid.device.store import list_tunnels

    def op(d: Device) -> list[Any]:
        return list_tunnels(d, root_timeout=args.root_timeout)

    outcomes = _fan(args, op) if args.all else None
    if outcomes is None:
        tunnels = op(_one(args))
        if args.json:
            output.emit_json({"schema": 1, "tunnels": [t.to_json() for t in tunnels]})
        else:
            for t in tunnels:
                output.data(f"{t.name}\t{'up' if t.up else 'down'}")
        return ExitCode.OK
    from wgdroid.device.fanout import combined_exit

    if args.json:
        output.emit_json({"schema": 1, "devices": [
            {"serial": o.serial, "error": _err_json(o.error) if o.error else None,
             "tunnels": [t.to_json() for t in (o.value or [])]}
            for o in outcomes
        ]})
    for o in outcomes:
        if o.error is not None:
            output.error(f"{o.serial}: {o.error.message}")
        elif not args.json:
            for t in o.value or []:
                output.data(f"{o.serial}\t{t.name}\t{'up' if t.up else 'down'}")
    return combined_exit(outcomes)


def _push(args: argparse.Namespace) -> int:
    from wgdroid.config.parser import tunnel_name_for
    from wgdroid.device import dialect, store
    from wgdroid.device.control import Backend
    from wgdroid.device.script import check_name

    data = store.read_local_config(args.file)
    name = check_name(args.name or tunnel_name_for(args.file))
    override = None if args.dialect == "auto" else dialect.WgQuickDialect(args.dialect)
    try:
        # Broken for every wg-quick, or for the one named by --dialect: refused
        # before the phone is contacted. Otherwise the phone's own wg-quick
        # decides, inside the push's root script.
        check = dialect.check_config(data, args.file)
        if override is not None:
            for w in check.require(override):
                output.raw_stderr(w.format())
    except ConfigError as exc:
        return _config_refused(exc)
    backend = Backend(args.backend) if args.enable else None

    def op(d: Device) -> store.StoreResult:
        return store.push(d, data, name, enable=backend, dialect_override=override,
                          check=check, root_timeout=args.root_timeout)

    def warn(results: list[store.StoreResult]) -> None:
        if override is not None:
            return  # already said
        shown: set[str] = set()
        for r in results:
            for w in r.warnings:
                if w.format() not in shown:
                    shown.add(w.format())
                    output.raw_stderr(w.format())

    if args.all:
        outcomes = _fan(args, op)
        warn([o.value for o in outcomes if o.value is not None])
        if args.json:
            output.emit_json({"schema": 1, "devices": [
                {"serial": o.serial, "name": name, "error": _err_json(o.error) if o.error else None,
                 "backend": o.value.backend if o.value else None,
                 "dialect": o.value.dialect if o.value else None}
                for o in outcomes]})
            for o in outcomes:
                if o.error is not None:
                    output.error(f"{o.serial}: {o.error.message}")
            from wgdroid.device.fanout import combined_exit

            return combined_exit(outcomes)
        return _report(outcomes, lambda r: name)
    device = _one(args)
    try:
        result = op(device)
    except ConfigError as exc:  # the phone's wg-quick would refuse it
        seen = override or dialect.known_dialect(device)
        return _config_refused(exc, f"{device.serial} ({seen or 'its'} wg-quick)")
    warn([result])
    if args.json:
        output.emit_json({"name": name, "enabled": args.enable, "backend": result.backend,
                          "restarted": result.restarted, "dialect": result.dialect})
    return ExitCode.OK


def _config_refused(exc: ConfigError, refused_by: str | None = None) -> int:
    """Every issue as FILE:LINE: [Section] Key: message, then who said no."""
    for issue in exc.issues:
        output.raw_stderr(issue.format())
    if refused_by is not None:
        output.note(f"nothing was pushed: {refused_by} would refuse this config")
    return exc.exit_code


def _pull(args: argparse.Namespace) -> int:
    from wgdroid.device import store
    from wgdroid.fileio import write_private

    data = store.pull(_one(args), args.name, root_timeout=args.root_timeout)
    target = args.output or f"{args.name}.conf"
    if target == "-":
        import sys

        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        write_private(Path(target), data)
    return ExitCode.OK


def _rm(args: argparse.Namespace) -> int:
    from wgdroid.device import store

    def op(d: Device) -> store.StoreResult:
        return store.remove(d, args.name, force=args.force, root_timeout=args.root_timeout)

    if args.all:
        return _report(_fan(args, op))
    op(_one(args))
    return ExitCode.OK


def _rename(args: argparse.Namespace) -> int:
    from wgdroid.device import store

    store.rename(_one(args), args.old, args.new, force=args.force, root_timeout=args.root_timeout)
    return ExitCode.OK


def _control(args: argparse.Namespace, op: Callable[[Device], Any]) -> int:
    if args.all:
        outcomes = _fan(args, op)
        if args.json:
            output.emit_json({"schema": 1, "devices": [
                {"serial": o.serial, "error": _err_json(o.error) if o.error else None,
                 **(_control_json(o.value) if o.value else {})}
                for o in outcomes]})
            for o in outcomes:
                if o.error is not None:
                    output.error(f"{o.serial}: {o.error.message}")
            from wgdroid.device.fanout import combined_exit

            return combined_exit(outcomes)
        return _report(outcomes, lambda r: r.action)
    result = op(_one(args))
    if args.json:
        output.emit_json(_control_json(result))
    elif result.action == "noop":
        output.note(f"{result.name} was not up")
    return ExitCode.OK


def _control_json(result: Any) -> dict[str, Any]:
    return {"name": result.name, "action": result.action, "backend": result.backend,
            "root_method": str(result.method)}


def _enable(args: argparse.Namespace) -> int:
    from wgdroid.device.control import Backend, enable

    return _control(args, lambda d: enable(
        d, args.name, backend=Backend(args.backend), root_timeout=args.root_timeout))


def _disable(args: argparse.Namespace) -> int:
    from wgdroid.device.control import disable

    return _control(args, lambda d: disable(d, args.name, root_timeout=args.root_timeout))


def _status(args: argparse.Namespace) -> int:
    from wgdroid.device import status as st
    from wgdroid.device.poll import poll_status

    if args.interval <= 0 or args.interval > 3600:
        raise UsageError("--interval must be between 0 and 3600 seconds")
    sample = None if args.watch else args.interval

    def op(d: Device) -> DeviceStatus:
        return poll_status(d, sample_seconds=sample, root_timeout=args.root_timeout)

    def show(outcomes: list[Outcome[DeviceStatus]]) -> None:
        filtered = [
            (o, _only(o.value, args.name) if o.value is not None else None) for o in outcomes
        ]
        if args.json:
            devices = []
            for o, value in filtered:
                if value is not None:
                    devices.append(value.to_json())
                else:
                    devices.append({
                        "serial": o.serial, "device_time": None, "sample_seconds": None,
                        "error": _err_json(o.error) if o.error else None, "interfaces": [],
                    })
            text = json.dumps(st.status_json(devices), indent=None if args.watch else 2)
            output.data(text)
        else:
            for _, value in filtered:
                if value is not None:
                    output.data(_status_text(value, multi=args.all))
            if args.watch:
                output.data("\n")  # a blank line between polls
        for o, _ in filtered:
            if o.error is not None:
                output.error(f"{o.serial}: {o.error.message}")

    def poll_once() -> list[Outcome[DeviceStatus]]:
        if args.all:
            return _fan(args, op)
        from wgdroid.device.fanout import Outcome

        if not hasattr(poll_once, "device"):
            poll_once.device = _one(args)  # type: ignore[attr-defined]
        dev: Device = poll_once.device  # type: ignore[attr-defined]
        return [Outcome(dev.serial, value=op(dev))]

    from wgdroid.device.fanout import combined_exit

    if not args.watch:
        outcomes = poll_once()
        show(outcomes)
        first = outcomes[0].value
        if args.name and not args.all and first is not None and first.interface(args.name) is None:
            from wgdroid.errors import NotFoundError

            raise NotFoundError(f"tunnel {args.name!r} is not up")
        return combined_exit(outcomes)
    previous: dict[str, tuple[float, DeviceStatus]] = {}
    polls = 0
    code: int = ExitCode.OK
    while args.count is None or polls < args.count:
        started = time.monotonic()
        outcomes = poll_once()  # each poll finishes before the next starts: no overlap
        now = time.monotonic()
        rated = []
        for o in outcomes:
            if o.value is not None:
                before = previous.get(o.serial)
                value = o.value
                if before is not None:
                    value = st.with_rates(before[1], value, now - before[0])
                previous[o.serial] = (now, o.value)
                o = type(o)(o.serial, value=value)
            rated.append(o)
        show(rated)
        code = combined_exit(rated)
        polls += 1
        if args.count is not None and polls >= args.count:
            break
        time.sleep(max(0.0, args.interval - (time.monotonic() - started)))
    return code


def _only(status: DeviceStatus, name: str | None) -> DeviceStatus:
    from dataclasses import replace

    if name is None:
        return status
    return replace(status, interfaces=[i for i in status.interfaces if i.name == name])


def _ago(seconds: int | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def _status_text(status: DeviceStatus, *, multi: bool) -> str:
    lines = []
    head = f"{status.serial}: " if multi else ""
    if not status.interfaces:
        return f"{head}no tunnel is up"
    for i in status.interfaces:
        up = f", up {i.uptime} s" if i.uptime is not None else ""
        lines.append(f"{head}interface {i.name} ({i.backend}{up}), port {i.listen_port}")
        lines.append(f"  public key: {i.public_key}")
        for p in i.peers:
            lines.append(f"  peer {p.public_key}")
            if p.endpoint:
                lines.append(f"    endpoint: {p.endpoint}")
            lines.append(f"    allowed ips: {', '.join(p.allowed_ips) or '(none)'}")
            lines.append(f"    latest handshake: {_ago(p.handshake_age)}")
            rate = ""
            if p.rx_rate is not None and p.tx_rate is not None:
                rate = f" ({_bytes(p.rx_rate)}/s in, {_bytes(p.tx_rate)}/s out)"
            lines.append(
                f"    transfer: {_bytes(p.rx_bytes)} received, {_bytes(p.tx_bytes)} sent{rate}"
            )
    return "\n".join(lines)


def _doctor(args: argparse.Namespace) -> int:
    from wgdroid.device.doctor import Capabilities, gather

    def op(d: Device) -> Capabilities:
        return gather(d, root_timeout=args.root_timeout)

    if args.all:
        outcomes = _fan(args, op)
    else:
        from wgdroid.device.fanout import Outcome

        dev = _one(args)
        outcomes = [Outcome(dev.serial, value=op(dev))]
    results = [o.value for o in outcomes if o.value is not None]
    if args.json:
        devices = [c.to_json() for c in results]
        devices += [{"serial": o.serial, "error": _err_json(o.error)}
                    for o in outcomes if o.error is not None]
        output.emit_json({"schema": 1, "devices": devices})
    else:
        for caps in results:
            output.data(_doctor_text(caps, multi=args.all))
    for o in outcomes:
        if o.error is not None:
            output.error(f"{o.serial}: {o.error.message}")
    from wgdroid.device.fanout import combined_exit

    code = combined_exit(outcomes)
    if code == ExitCode.OK and args.check and not all(c.ready for c in results):
        return ExitCode.MISSING_TOOLS
    return code


def _doctor_text(caps: Any, *, multi: bool) -> str:
    rows = [
        ("device", f"{caps.serial} ({caps.model or '?'})"),
        ("android", f"{caps.android_release or '?'} (SDK {caps.sdk or '?'}), {caps.abi or '?'}"),
        ("kernel", caps.kernel or "?"),
        ("root", caps.root_method or f"no ({caps.root_error})"),
        ("selinux", caps.selinux or "?"),
        ("kernel module", (f"yes ({caps.kernel_module_version})"
                           if caps.kernel_module_version else "yes")
         if caps.kernel_module else "no"),
    ]
    for tool, path in caps.tools.items():
        version = caps.versions.get(tool)
        rows.append((tool, f"{path}" + (f" ({version})" if version else "") if path else "-"))
    rows.append(("wg-quick variant", caps.wg_quick_variant or "-"))
    rows.append(("python cryptography", caps.python_cryptography or "-"))
    rows.append(("backends", ", ".join(caps.backends) or "none"))
    rows.append(("ready", "yes" if caps.ready else "no"))
    width = max(len(k) for k, _ in rows)
    lines = [f"{k.ljust(width)}  {v}" for k, v in rows]
    for a in caps.advice:
        lines.append(f"problem: {a.problem}\n  fix: {a.fix}")
    return "\n".join(lines)
