"""Device commands: list, push, import, pull, rm, rename, enable, disable, status,
doctor.

A thin shell over `wgdroid.device`: parse flags, pick the device(s), call one
operation, print data on stdout and messages on stderr. With --all, each
device is reported on its own line and the exit code is PARTIAL when some
failed (or the shared code when all failed alike).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from wgdroid.cli import output
from wgdroid.cli.devices import SCHEMA, count, device_parent, one, report, run_on_all, seconds
from wgdroid.exit_codes import ExitCode
from wgdroid.humanize import age, duration, rate, size

TYPE_CHECKING = False  # typing itself is not imported: wgdroid.lean says why
if TYPE_CHECKING:
    from typing import Any

    from wgdroid.device.connection import Device
    from wgdroid.device.fanout import Outcome
    from wgdroid.device.status import DeviceStatus
    from wgdroid.device.store import StoreResult

BACKENDS = ("auto", "kernel", "wireguard-go", "userspace")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    multi = device_parent(multi=True, as_json=True)
    plain = device_parent()

    p = sub.add_parser("list", parents=[multi], help="list the tunnels stored on the phone")
    p.set_defaults(func=_list)

    p = sub.add_parser("push", parents=[multi],
                       help="validate a config and store it on the phone")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--name", help="tunnel name (default: FILE's name without .conf)")
    p.add_argument("--enable", action="store_true", help="bring it up afterwards if it is down")
    p.add_argument("--restart", action="store_true",
                   help="restart it if it runs (default: change the running tunnel in place)")
    p.add_argument("--backend", choices=BACKENDS, default="auto")
    p.add_argument(
        "--dialect", choices=["auto", "android", "linux"], default="auto",
        help="validate for this wg-quick instead of the one found on the phone",
    )
    p.add_argument("--allow-hooks", action="store_true",
                   help="store a config with PreUp/PostUp/PreDown/PostDown hooks, which a "
                   "Linux wg-quick on the phone runs as root")
    p.set_defaults(func=_push)

    p = sub.add_parser(
        "import", parents=[device_parent(as_json=True)],
        help="store several configs (.conf files, .zip exports) on the phone in one su",
        description="Store every tunnel of the FILEs (NAME.conf files; zips in the format of "
        "the WireGuard app's export, each entry checked on its own) on the phone in one root "
        "shell, each as `push` stores one (not brought up). A tunnel fails on its own: a bad "
        "entry, a config the phone's wg-quick refuses, a name the phone already has (unless "
        "--force). stdout: the names stored; stderr: one line per failure. Exit 0 if all "
        "were stored, 10 if some; if none, their shared code, else 13.")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--force", action="store_true",
                   help="replace tunnels the phone already has (a running one gets the new "
                   "config as with push)")
    p.add_argument("--allow-hooks", action="store_true",
                   help="store configs with PreUp/PostUp/PreDown/PostDown hooks, which a "
                   "Linux wg-quick on the phone runs as root")
    p.set_defaults(func=_import)

    p = sub.add_parser("pull", parents=[plain], help="copy a stored config to this computer")
    p.add_argument("name", metavar="NAME")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="where to write (default NAME.conf; - for stdout)")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")
    p.set_defaults(func=_pull)

    p = sub.add_parser("rm", parents=[device_parent(multi=True)],
                       help="delete a stored config")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--force", action="store_true", help="bring it down first if it is up")
    p.set_defaults(func=_rm)

    p = sub.add_parser("rename", parents=[plain], help="rename a stored config")
    p.add_argument("old", metavar="OLD")
    p.add_argument("new", metavar="NEW")
    p.add_argument("--force", action="store_true", help="if OLD is up: down, rename, up")
    p.set_defaults(func=_rename)

    p = sub.add_parser("enable", parents=[multi], help="bring a stored tunnel up")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--backend", choices=BACKENDS, default="auto")
    p.add_argument("--on-boot", dest="on_boot", action="store_true", default=None,
                   help="also bring it up at every boot (a Magisk/KernelSU boot script), "
                   "with the backend it last used")
    p.add_argument("--no-on-boot", dest="on_boot", action="store_false",
                   help="no longer bring it up at boot")
    p.set_defaults(func=_enable)

    p = sub.add_parser("disable", parents=[multi], help="bring a tunnel down (wg-quick down)")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=_disable)

    p = sub.add_parser("status", parents=[multi], help="live state of the tunnels that are up")
    p.add_argument("name", metavar="NAME", nargs="?")
    p.add_argument("--watch", action="store_true", help="poll until interrupted")
    p.add_argument("--interval", type=seconds, default=1.0, metavar="SECONDS",
                   help="poll interval / rate window (default 1)")
    p.add_argument("--no-rates", action="store_true",
                   help="one dump, no rate window: answers at once (rates are null)")
    p.add_argument("--count", type=count, metavar="N", help="with --watch: stop after N polls")
    p.set_defaults(func=_status)

    p = sub.add_parser("doctor", parents=[multi],
                       help="what the phone has for WireGuard, and what to fix")
    p.add_argument("--check", action="store_true",
                   help="exit 9 if no tunnel could run, 4 (5) if root was denied (not "
                   "answered); with --all, the devices' codes combined")
    p.set_defaults(func=_doctor)


# -- handlers -----------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    from wgdroid.device.store import StoredTunnel, list_tunnels

    def op(d: Device) -> list[StoredTunnel]:
        return list_tunnels(d, root_timeout=args.root_timeout)

    def line(t: StoredTunnel) -> str:
        # Flags after the state, only when set: the official app's, brought up at boot.
        flags = ("\tapp" if t.source == "app" else "") + ("\ton-boot" if t.on_boot else "")
        return f"{t.name}\t{'up' if t.up else 'down'}{flags}"

    if args.all:
        return report(run_on_all(args, op), as_json=args.json,
                      json_fields=lambda v: {"tunnels": [t.to_json() for t in v or []]},
                      text_lines=lambda v: [line(t) for t in v])
    tunnels = op(one(args))
    if args.json:
        output.emit_json({"schema": 1, "tunnels": [t.to_json() for t in tunnels]})
    else:
        for t in tunnels:
            output.data(line(t))
    return ExitCode.OK


def _push(args: argparse.Namespace) -> int:
    from wgdroid.config.dialect import Dialect
    from wgdroid.config.issues import ConfigError
    from wgdroid.config.names import check_tunnel_name
    from wgdroid.config.parser import tunnel_name_for
    from wgdroid.device import dialect, store
    from wgdroid.device.control import Backend

    data = store.read_local_config(args.file)
    name = (check_tunnel_name(args.name) if args.name is not None else check_tunnel_name(
        tunnel_name_for(args.file),
        hint="the name comes from the file name: give another with --name NAME"))
    override = None if args.dialect == "auto" else Dialect(args.dialect)
    # Broken for every wg-quick, or for the one named by --dialect: refused
    # (ConfigError) before the phone is contacted. Otherwise the phone's own
    # wg-quick decides, inside the push's root script.
    check = dialect.check_config(data, args.file)
    if override is not None:
        for w in check.require(override):
            output.raw_stderr(w.format())
    hooks = check.allow_hooks(args.allow_hooks)  # refused here, before any phone is asked
    if hooks:
        output.warning(hooks)
    backend = Backend(args.backend) if args.enable else None

    def op(d: Device) -> store.StoreResult:
        return store.push(d, data, name, enable=backend, restart=args.restart,
                          dialect_override=override, check=check,
                          allow_hooks=args.allow_hooks, root_timeout=args.root_timeout)

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
        outcomes = run_on_all(args, op)
        warn([o.value for o in outcomes if o.value is not None])
        return report(outcomes, as_json=args.json, text_lines=lambda r: [f"ok\t{name}"],
                      json_fields=lambda r: {"name": name,
                                             "backend": r.backend if r else None,
                                             "dialect": r.dialect if r else None})
    device = one(args)
    try:
        result = op(device)
    except ConfigError as exc:  # the phone's wg-quick would refuse it
        seen = override or dialect.known_dialect(device)
        exc.hint = (f"nothing was pushed: {device.serial} ({seen or 'its'} wg-quick) "
                    "would refuse this config")
        raise
    warn([result])
    if args.json:
        output.emit_json({
            "schema": SCHEMA, "name": name, "enabled": args.enable, "backend": result.backend,
            **_running_fields(result), "dialect": result.dialect})
    else:
        _say_running(result)
    return ExitCode.OK


def _import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from wgdroid.config.archive import import_zip, no_tunnels
    from wgdroid.config.parser import tunnel_name_for
    from wgdroid.device import store
    from wgdroid.errors import InvalidInputError, WgdroidError, combined_exit

    configs: list[tuple[str, bytes]] = []
    local: list[WgdroidError] = []  # what failed here, before the phone
    for path in args.files:
        try:
            if path.lower().endswith(".zip"):
                found = import_zip(Path(path))
                local += [InvalidInputError(e.format(path)) for e in found.errors]
                configs += [(t.name, t.text.encode("utf-8")) for t in found.tunnels]
            else:
                configs.append((tunnel_name_for(path), store.read_local_config(path)))
        except WgdroidError as exc:
            local.append(exc)
    if not configs and not local:
        raise no_tunnels(args.files)
    # Nothing to store: no phone is contacted.
    outcomes = store.push_many(one(args), configs, overwrite=args.force,
                               allow_hooks=args.allow_hooks,
                               root_timeout=args.root_timeout) if configs else []
    failed = local + [o.error for o in outcomes if o.error is not None]
    stored = [o for o in outcomes if o.result is not None]
    unknown = sum(not o.known for o in outcomes)  # the batch was cut off before they answered
    if args.json:
        output.emit_json({
            "schema": SCHEMA,
            "tunnels": [{"name": o.name, "error": o.error.to_json() if o.error else None,
                         "stored": (o.result is not None) if o.known else None,
                         **(_running_fields(o.result) if o.result else {})}
                        for o in outcomes],
            "errors": [e.to_json() for e in local]})
    else:
        for o in stored:
            output.data(o.name)
        for o in stored:  # with --force a running tunnel changed in place or restarted
            if o.result:
                _say_running(o.result)
    hints: set[str] = set()  # said once: a cut-off batch gives each unknown entry the same
    for error in failed:
        output.error(error.message)
        if error.hint and error.hint not in hints:
            hints.add(error.hint)
            output.note(error.hint)
    shown: set[str] = set()
    for o in stored:
        for w in o.result.warnings if o.result else ():
            if w.format() not in shown:
                shown.add(w.format())
                output.raw_stderr(w.format())
    if failed:  # a quiet success says nothing on stderr
        output.note(f"imported {len(stored)} of {len(configs) + len(local)} tunnels"
                    + (f", {unknown} not known (cut off)" if unknown else ""))
    return combined_exit([*(e.exit_code for e in failed), *[ExitCode.OK] * len(stored)])


_RESTART_REASONS = {
    "asked": "as asked",
    "dns": "its DNS changed, which cannot change in place",
    "table": "it sets Table, which cannot change in place",
    "default-route": "its default route changed, which cannot change in place",
    "mtu": "its MTU went back to automatic, which cannot change in place",
    "android-net": "its addresses or routes changed, which the phone's wg-quick set through "
                   "netd: only a restart changes them",
    "no-old-config": "it ran without a stored config to compare with",
}


def _running_fields(result: StoreResult) -> dict[str, object]:
    """push's and import's JSON of which config runs now (as _say_running says)."""
    return {"restarted": result.restarted, "restart_reason": result.restart_reason,
            "applied": list(result.applied) if result.applied else None}


def _say_running(result: StoreResult) -> None:
    """Which config runs now: in place, restarted (and why), or the old one."""
    if result.applied:
        output.note(f"{result.name}: the running tunnel has the new config "
                    f"(changed in place: {', '.join(result.applied)})")
    elif result.restarted:
        reason = result.restart_reason or "asked"
        why = _RESTART_REASONS.get(reason, reason)
        output.note(f"{result.name}: restarted with the new config ({why})")


def _pull(args: argparse.Namespace) -> int:
    from pathlib import Path

    from wgdroid.config.names import check_tunnel_name
    from wgdroid.device import store
    from wgdroid.fileio import check_target, write_private

    check_tunnel_name(args.name)
    target = args.output or f"{args.name}.conf"
    if target != "-":  # refused before the phone is asked for the key
        check_target(Path(target), overwrite=args.force)
    data = store.pull(one(args), args.name, root_timeout=args.root_timeout)
    if target == "-":
        output.raw(data)
    else:
        write_private(Path(target), data, overwrite=args.force)
    return ExitCode.OK


def _rm(args: argparse.Namespace) -> int:
    from wgdroid.device import store

    def op(d: Device) -> store.StoreResult:
        return store.remove(d, args.name, force=args.force, root_timeout=args.root_timeout)

    if args.all:
        return report(run_on_all(args, op), as_json=False)
    op(one(args))
    return ExitCode.OK


def _rename(args: argparse.Namespace) -> int:
    from wgdroid.device import store

    store.rename(one(args), args.old, args.new, force=args.force, root_timeout=args.root_timeout)
    return ExitCode.OK


def _control(args: argparse.Namespace, op: Callable[[Device], Any]) -> int:
    if args.all:
        return report(run_on_all(args, op), as_json=args.json,
                      text_lines=lambda r: [f"ok\t{r.action}"],
                      json_fields=lambda r: _control_json(args.name, r))
    result = op(one(args))
    if args.json:
        output.emit_json({"schema": SCHEMA, **_control_json(args.name, result)})
    elif result.action == "noop":
        output.note(f"{result.name} was not up")
    return ExitCode.OK


def _control_json(name: str, result: Any) -> dict[str, Any]:
    """The same keys for a device that failed (result None: nulls); what the
    Android bring-up adds (on_boot, boot_script, resolved endpoint names,
    warnings) when set."""
    fields = {"name": name, "action": result and result.action,
              "backend": result and result.backend,
              "root_method": str(result.method) if result else None}
    if getattr(result, "on_boot", None) is not None:
        fields["on_boot"] = result.on_boot
    if getattr(result, "boot_script", None) is not None:
        # "none": marked, but no Magisk/KernelSU runs boot scripts (on_boot alone
        # would promise a boot-time bring-up that cannot happen)
        fields["boot_script"] = result.boot_script
    if getattr(result, "resolved", ()):
        fields["resolved"] = dict(result.resolved)
    if getattr(result, "warnings", ()):
        fields["warnings"] = list(result.warnings)
    return fields


def _enable(args: argparse.Namespace) -> int:
    from wgdroid.device.control import Backend, ControlResult, enable

    def op(d: Device) -> ControlResult:
        result = enable(d, args.name, backend=Backend(args.backend), on_boot=args.on_boot,
                        root_timeout=args.root_timeout)
        for warning in result.warnings:
            output.warning(f"{d.serial}: {warning}" if args.all else warning)
        if result.action == "mark" and not args.json:
            output.note(f"{args.name} is already up; it "
                        + ("comes up at boot" if result.on_boot else "no longer comes up at boot"))
        if result.boot_script == "none":
            output.warning("no Magisk or KernelSU on the phone: nothing runs boot scripts, "
                           f"so {args.name} is marked but will not come up at boot")
        return result

    return _control(args, op)


def _disable(args: argparse.Namespace) -> int:
    from wgdroid.device.control import disable

    return _control(args, lambda d: disable(d, args.name, root_timeout=args.root_timeout))


def _status(args: argparse.Namespace) -> int:
    from wgdroid.config.names import check_tunnel_name
    from wgdroid.device import status as st
    from wgdroid.device.fanout import Outcome
    from wgdroid.device.poll import poll_status

    if args.name is not None:
        check_tunnel_name(args.name)

    # --watch rates come from consecutive polls; a one-shot samples for
    # --interval inside its one round trip, unless --no-rates.
    sample = None if args.watch or args.no_rates else args.interval

    def op(d: Device) -> DeviceStatus:
        return poll_status(d, sample_seconds=sample, root_timeout=args.root_timeout)

    def show(outcomes: list[Outcome[DeviceStatus]]) -> ExitCode:
        return report(
            outcomes, as_json=args.json, indent=None if args.watch else 2, tagged=False,
            json_fields=lambda v: _status_fields(v, args.name),
            text_lines=lambda v: [_status_text(_only(v, args.name), multi=args.all)],
        )

    device: Device | None = None

    def poll_once() -> list[Outcome[DeviceStatus]]:
        nonlocal device
        if args.all:
            return run_on_all(args, op)
        device = device or one(args)  # connection set-up once, not per poll
        return [Outcome(device.serial, value=op(device))]

    if not args.watch:
        outcomes = poll_once()
        first = outcomes[0].value
        if args.name and not args.all and first is not None and first.interface(args.name) is None:
            from wgdroid.errors import NotFoundError

            # Said instead of the report, not after it: one JSON document.
            raise NotFoundError(f"tunnel {args.name!r} is not up")
        return show(outcomes)
    previous: dict[str, tuple[float, DeviceStatus]] = {}
    polls = 0
    code = ExitCode.OK
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
                o = Outcome(o.serial, value=value)
            rated.append(o)
        code = show(rated)
        if not args.json:
            output.data("\n")  # a blank line between polls
        polls += 1
        if args.count is not None and polls >= args.count:
            break
        time.sleep(max(0.0, args.interval - (time.monotonic() - started)))
    return code


def _status_fields(status: DeviceStatus | None, name: str | None) -> dict[str, Any]:
    if status is None:
        return {"device_time": None, "sample_seconds": None, "interfaces": []}
    data = _only(status, name).to_json()
    return {k: v for k, v in data.items() if k not in ("serial", "error")}


def _only(status: DeviceStatus, name: str | None) -> DeviceStatus:
    if name is None:
        return status
    return status._replace(interfaces=[i for i in status.interfaces if i.name == name])


def _status_text(status: DeviceStatus, *, multi: bool) -> str:
    lines = []
    head = f"{status.serial}: " if multi else ""
    if not status.interfaces:
        return f"{head}no tunnel is up"
    for i in status.interfaces:
        up = f", up {duration(i.uptime)}" if i.uptime is not None else ""
        lines.append(f"{head}interface {i.name} ({i.backend}{up}), port {i.listen_port}")
        lines.append(f"  public key: {i.public_key}")
        for p in i.peers:
            lines.append(f"  peer {p.public_key}")
            if p.endpoint:
                lines.append(f"    endpoint: {p.endpoint}")
            lines.append(f"    allowed ips: {', '.join(p.allowed_ips) or '(none)'}")
            lines.append(f"    latest handshake: {age(p.handshake_age)}")
            rates = ""
            if p.rx_rate is not None and p.tx_rate is not None:
                rates = f" ({rate(p.rx_rate)} in, {rate(p.tx_rate)} out)"
            lines.append(
                f"    transfer: {size(p.rx_bytes)} received, {size(p.tx_bytes)} sent{rates}"
            )
    return "\n".join(lines)


def _doctor(args: argparse.Namespace) -> int:
    from wgdroid.device.doctor import Capabilities, gather
    from wgdroid.device.fanout import Outcome

    def op(d: Device) -> Capabilities:
        return gather(d, root_timeout=args.root_timeout)

    def code(caps: Capabilities) -> ExitCode:
        if not args.check or caps.ready:
            return ExitCode.OK
        # Not ready because doctor could not look: that is the truthful cause.
        return ExitCode(caps.root_exit_code or ExitCode.MISSING_TOOLS)

    if args.all:
        outcomes = run_on_all(args, op)
    else:
        dev = one(args)
        outcomes = [Outcome(dev.serial, value=op(dev))]
    return report(outcomes, as_json=args.json, tagged=False, code=code,
                  json_fields=lambda c: c.to_json() if c else Capabilities.null_json(),
                  text_lines=lambda c: [_doctor_text(c, multi=args.all)])


def _doctor_text(caps: Any, *, multi: bool) -> str:
    from wgdroid.device.doctor import fact_rows

    rows = [("device", caps.serial), *fact_rows(caps)]
    width = max(len(k) for k, _ in rows)
    lines = [f"{k.ljust(width)}  {v}" for k, v in rows]
    for a in caps.advice:
        lines.append(f"problem: {a.problem}\n  fix: {a.fix}")
    return "\n".join(lines)
