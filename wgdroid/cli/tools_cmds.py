"""`wgdroid tools status|install|remove`: WireGuard tools on the phone.

A thin shell over `wgdroid.device.tools` (which documents where things go
and the `--from DIR` layout).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from wgdroid.cli import output
from wgdroid.cli.devices import device_parent, one
from wgdroid.exit_codes import ExitCode

if TYPE_CHECKING:
    from wgdroid.device.tools import ToolsStatus

FROM_HELP = (
    "push binaries from DIR: DIR/<abi>/{wg,wg-quick,wireguard-go} (abi as in "
    "ro.product.cpu.abilist, e.g. arm64-v8a; what scripts/build-device-tools writes to "
    "build/device-tools/) or flat DIR/{wg,wg-quick,...}"
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = device_parent(as_json=True)

    tools = sub.add_parser("tools", help="WireGuard tools on the phone: status, install, remove")
    tsub = tools.add_subparsers(dest="tools_command", metavar="ACTION")
    tools.set_defaults(func=lambda args: _usage(tools))

    p = tsub.add_parser("status", parents=[common],
                        help="where wg, wg-quick, wireguard-go and the userspace backend are")
    p.set_defaults(func=_status)

    p = tsub.add_parser("install", parents=[common],
                        help="install wg/wg-quick into /data/adb/wgdroid/bin (reusing the "
                             "phone's or the official app's copies when there)")
    p.add_argument("--from", dest="from_dir", metavar="DIR", help=FROM_HELP)
    p.add_argument("--userspace", action="store_true",
                   help="also install wgdroid's userspace backend (needs python3 with "
                        "cryptography on the phone)")
    p.add_argument("--magisk-module", action="store_true",
                   help="install the binaries as the Magisk module wgdroid-tools instead "
                        "(in /system/bin after a reboot)")
    p.set_defaults(func=_install)

    p = tsub.add_parser("remove", parents=[common], help="remove what `tools install` put there")
    p.add_argument("--force", action="store_true", help="even while tunnels are up")
    p.set_defaults(func=_remove)


def _usage(parser: argparse.ArgumentParser) -> int:
    output.stderr_text(parser.format_help())
    return ExitCode.USAGE


def _status(args: argparse.Namespace) -> int:
    from wgdroid.device.tools import status

    st = status(one(args), root_timeout=args.root_timeout)
    if args.json:
        output.emit_json({"schema": 1, **st.to_json()})
    else:
        output.data(_status_text(st))
    return ExitCode.OK


def _status_text(st: ToolsStatus) -> str:
    from wgdroid.device.tools import LAUNCHER

    rows: list[tuple[str, str]] = [
        ("device", st.serial),
        ("abi", ", ".join(st.abilist) or st.abi or "?"),
        ("kernel module", "yes" if st.kernel_module else "no"),
        ("official app", st.app_apk or "-"),
    ]
    for tool in st.tools.values():
        label = "userspace" if tool.name == LAUNCHER else tool.name
        if tool.active is None:
            rows.append((label, "-"))
        else:
            extra = tool.variant or tool.version
            rows.append((label, tool.active + (f" ({extra})" if extra else "")))
        for loc in tool.locations:
            if loc.path != tool.active:
                more = f" ({loc.detail})" if loc.detail else ""
                rows.append(("", f"{'also' if tool.active else 'not on PATH:'} "
                                 f"{loc.path}{more} [{loc.source}]"))
    rows.append(("python3", (st.python3 or "-") + (
        f" (cryptography {st.cryptography})" if st.cryptography else
        " (no cryptography)" if st.python3 else "")))
    rows.append(("uapi sockets", st.socket_dir or "-"))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


def _install(args: argparse.Namespace) -> int:
    from wgdroid.device.tools import install

    result = install(
        one(args),
        from_dir=Path(args.from_dir) if args.from_dir else None,
        userspace=args.userspace,
        magisk_module=args.magisk_module,
        root_timeout=args.root_timeout,
    )
    if args.json:
        output.emit_json({"schema": 1, **result.to_json()})
    else:
        for p in result.placed:
            output.data(f"{p.tool}\t{p.action}\t{p.path}")
        for tool, why in result.skipped.items():
            output.note(f"{tool} left out: {why}")
        if args.magisk_module:
            output.note("installed as the Magisk module wgdroid-tools (in /system/bin after "
                        "a reboot; wgdroid uses it right away)")
    return ExitCode.OK


def _remove(args: argparse.Namespace) -> int:
    from wgdroid.device.tools import remove

    removed = remove(one(args), force=args.force, root_timeout=args.root_timeout)
    if args.json:
        output.emit_json({"schema": 1, "removed": removed})
    elif not removed:
        output.note("nothing of wgdroid's was installed")
    else:
        for path in removed:
            output.data(f"removed\t{path}")
    return ExitCode.OK
