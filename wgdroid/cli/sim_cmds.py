"""`wgdroid sim`: start, list and stop simulated rooted phones."""

from __future__ import annotations

import argparse

from wgdroid.cli import output
from wgdroid.cli.devices import count, port, seconds
from wgdroid.exit_codes import ExitCode

ROOTS = ("magisk", "kernelsu", "aosp", "adb-root", "none")
POLICIES = ("grant", "deny", "pending")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sim = sub.add_parser("sim", help="simulated rooted phones (needs root)",
                         description="Simulated rooted Android phones in Linux namespaces, "
                         "reachable through the real adb server.")
    sim_sub = sim.add_subparsers(dest="sim_command", metavar="SUBCOMMAND",
                                 parser_class=type(sim))
    sim.set_defaults(func=lambda args: _help(sim))

    p = sim_sub.add_parser("start", help="start phones (and the simulator daemon if needed)")
    p.add_argument("--devices", type=count, default=1, metavar="N", help="how many (default 1)")
    from wgdroid.sim.profiles import PROFILES  # a small dataclass module

    p.add_argument("--profile", default="pixel",
                   help=f"phone profile: {', '.join(PROFILES)} (default pixel)")
    p.add_argument("--root", choices=ROOTS, help="root solution (default: the profile's)")
    p.add_argument("--su-policy", choices=POLICIES, help="what su answers (default grant)")
    p.add_argument("--su-timeout", type=seconds, metavar="SECONDS",
                   help="how long a pending su prompt waits before denying (default 10)")
    p.add_argument("--userns", action="store_true", default=None,
                   help="run each phone in its own user namespace (its root is not host root)")
    p.add_argument("--port", type=port, metavar="P", help="first adbd port (default 15555+)")
    p.add_argument("--kernel", choices=("host", "vm"), default="host",
                   help="host: namespaces on this machine's kernel (default); vm: inside a "
                   "qemu guest running Debian's kernel, with the real WireGuard module")
    p.add_argument("--no-connect", action="store_true", help="don't run `adb connect`")
    _adb_port(p)
    p.add_argument("--json", action="store_true", help="print the phones as JSON")
    p.set_defaults(func=cmd_start)

    p = sim_sub.add_parser("list", help="show the running phones")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = sim_sub.add_parser("stop", help="stop phones; with --all (or none left) the daemon too")
    p.add_argument("serials", nargs="*", metavar="SERIAL")
    p.add_argument("--all", action="store_true", help="stop every phone and the daemon")
    _adb_port(p)
    p.set_defaults(func=cmd_stop)

    p = sim_sub.add_parser("reboot", help="reboot a phone (processes and tunnels go, /data stays)")
    p.add_argument("serial", metavar="SERIAL")
    p.set_defaults(func=cmd_reboot)

    p = sim_sub.add_parser(
        "su", help="change a phone's su policy, or answer its pending prompt",
        description="--policy sets what su answers from now on (pending: it waits for "
        "--answer, then denies after --timeout); --answer taps Grant or Deny on the "
        "prompts waiting now, as a user would on the phone.")
    p.add_argument("serial", metavar="SERIAL")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--policy", choices=POLICIES)
    what.add_argument("--answer", choices=("grant", "deny"))
    p.add_argument("--timeout", type=seconds, metavar="SECONDS",
                   help="with --policy pending: deny a prompt nobody answers after this long")
    p.set_defaults(func=cmd_su)


def _adb_port(p: argparse.ArgumentParser) -> None:
    # The same dest as the global -P, so `wgdroid -P PORT sim start` works too.
    p.add_argument("-P", "--adb-server-port", dest="adb_port", type=port, metavar="PORT",
                   default=argparse.SUPPRESS,
                   help="adb server port (default: ANDROID_ADB_SERVER_PORT or 5037)")


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return ExitCode.USAGE


def cmd_start(args: argparse.Namespace) -> int:
    from wgdroid.sim import hostadb
    from wgdroid.sim.client import SimClient
    from wgdroid.sim.simulator import preflight

    preflight()
    client = SimClient()
    phones = client.start(args.devices, args.profile, root=args.root, su_policy=args.su_policy,
                          su_timeout=args.su_timeout, port=args.port, userns=args.userns,
                          kernel=args.kernel)
    if not args.no_connect:
        for serial in client.stale_serials:  # left by a simulator that was killed
            hostadb.disconnect(serial, args.adb_port)
        try:
            for phone in phones:
                hostadb.connect(phone["serial"], args.adb_port)
        except Exception:
            client.stop([p["serial"] for p in phones])
            client.shutdown_if_idle()
            raise
    if args.json:
        output.emit_json({"phones": phones})
    else:
        for phone in phones:
            output.data(phone["serial"])
    return ExitCode.OK


def cmd_list(args: argparse.Namespace) -> int:
    from wgdroid.sim.client import SimClient

    phones = SimClient().phones()
    if args.json:
        output.emit_json({"phones": phones})
        return ExitCode.OK
    if not phones:
        output.note("no simulated phones (start some with `wgdroid sim start`)")
        return ExitCode.OK
    rows = [("SERIAL", "PROFILE", "ROOT", "SU", "KERNEL", "TUNNEL-IP", "STREAMS")]
    for p in phones:
        streams = ",".join(f"{k}={v}" for k, v in sorted(p["counters"].items())) or "-"
        rows.append((p["serial"], p["profile"], p["root"], p["su_policy"],
                     p.get("kernel", "host"), p["tunnel_ip"], streams))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        output.data("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  "
                    + row[-1])
    return ExitCode.OK


def cmd_stop(args: argparse.Namespace) -> int:
    from wgdroid.errors import UsageError
    from wgdroid.sim import hostadb
    from wgdroid.sim.client import SimClient

    if bool(args.serials) == bool(args.all):
        raise UsageError("name the phones to stop, or use --all")
    client = SimClient()
    known = {p["serial"] for p in client.phones()}
    targets = sorted(known) if args.all else args.serials
    for serial in targets:
        if serial in known:
            try:
                hostadb.disconnect(serial, args.adb_port)
            except Exception as exc:  # the phone goes anyway; say why adb may list it
                output.warning(f"adb disconnect {serial}: {exc}")
    if not known:
        client.shutdown_if_idle()
        output.note("no simulator is running")
        return ExitCode.OK
    stopped = client.stop(None if args.all else args.serials)
    if not args.all:
        client.shutdown_if_idle()  # nothing left to simulate: remove the internet too
    for serial in stopped:
        output.data(serial)
    return ExitCode.OK


def cmd_su(args: argparse.Namespace) -> int:
    from wgdroid.sim.client import SimClient

    client = SimClient()
    if args.answer is not None:
        answered = client.request("su_answer", serial=args.serial,
                                  allow=args.answer == "grant")["answered"]
        output.note(f"answered {answered} pending prompt(s)")
    else:
        client.request("su_policy", serial=args.serial, policy=args.policy, timeout=args.timeout)
    return ExitCode.OK


def cmd_reboot(args: argparse.Namespace) -> int:
    from wgdroid.sim.client import SimClient

    SimClient().request("reboot", serial=args.serial)
    return ExitCode.OK
