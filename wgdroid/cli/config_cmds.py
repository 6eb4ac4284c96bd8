"""Offline config commands: check, strip, new."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from wgdroid.cli import output
from wgdroid.exit_codes import ExitCode

if TYPE_CHECKING:
    from ipaddress import IPv4Network, IPv6Network

_Net = TypeVar("_Net", "IPv4Network", "IPv6Network")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "check", help="validate config files",
        description="Validate configs; errors go to stderr as FILE:LINE: message. Exit 0 "
        "if all are valid, 1 if any is not, 7 if the only problem is a missing file.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="config files ('-' for stdin)")
    p.add_argument("--json", action="store_true", help="print results as JSON on stdout")
    p.add_argument(
        "--dialect", choices=["android", "linux"], default="android",
        help="which wg-quick will read it (default: android)",
    )
    p.add_argument(
        "--strict", action="store_true",
        help="treat what the dialect's wg-quick would reject as errors, not warnings",
    )
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "strip", help="print the wg setconf form of a config (like wg-quick strip)",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument(
        "--dialect", choices=["linux", "android"], default="linux",
        help="whose wg-quick keys to remove (default: linux, as `wg-quick strip`)",
    )
    p.set_defaults(func=cmd_strip)

    p = sub.add_parser(
        "new", help="generate a ready client/server pair of configs",
        description="Write NAME.conf (the phone's side) and the server's config, mode 0600.",
    )
    p.add_argument("--name", required=True, help="tunnel name (the phone's interface name)")
    p.add_argument("--endpoint", required=True, metavar="HOST:PORT",
                   help="where the phone reaches the server")
    p.add_argument("--server-name", help="server config name (default: NAME-srv)")
    p.add_argument("--subnet", default="10.66.0.0/24", help="tunnel IPv4 subnet")
    p.add_argument("--subnet6", help="tunnel IPv6 subnet, e.g. fd66::/64")
    p.add_argument("--allowed-ips", default="0.0.0.0/0, ::/0",
                   help="what the phone routes into the tunnel (default: everything)")
    p.add_argument("--dns", help="DNS servers/search domains for the phone")
    p.add_argument("--keepalive", type=int, default=25, help="phone's PersistentKeepalive")
    p.add_argument("--no-psk", action="store_true", help="no preshared key")
    p.add_argument("-o", "--output-dir", default=".", help="where to write (default: .)")
    p.add_argument("--force", action="store_true", help="replace existing files")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")
    p.set_defaults(func=cmd_new)


def _read(name: str) -> tuple[str, bytes]:
    from wgdroid.config.parser import MAX_CONFIG_BYTES, read_config_bytes

    if name == "-":  # one byte past the limit: parse says "too large"
        return "<stdin>", output.stdin_bytes().read(MAX_CONFIG_BYTES + 1)
    return name, read_config_bytes(name)


def check_one(name: str, dialect: str, strict: bool) -> dict[str, Any]:
    """Validate one file; returns its result with every issue (errors first)."""
    from wgdroid.config.dialect import Dialect
    from wgdroid.config.issues import ConfigError, ConfigIssue, Reason
    from wgdroid.config.names import name_problem
    from wgdroid.config.parser import parse, tunnel_name_for
    from wgdroid.errors import WgdroidError

    result: dict[str, Any] = {"file": name, "valid": False, "name": None, "errors": [],
                              "warnings": []}
    errors: list[ConfigIssue] = []
    warnings: list[ConfigIssue] = []
    try:
        label, data = _read(name)
        parsed = parse(data, filename=label, dialect=Dialect(dialect), strict=strict)
        warnings = parsed.warnings
        result["public_key"] = parsed.config.interface.public_key.base64()
        result["peers"] = len(parsed.config.peers)
    except ConfigError as exc:
        errors, warnings = exc.issues, exc.warnings
    except WgdroidError as exc:  # unreadable: missing (exit 7), a directory, ...
        errors = [ConfigIssue(name, 0, exc.message, Reason.NOT_TEXT)]
        result["_code"] = exc.exit_code
    if name != "-" and name.endswith(".conf"):
        tunnel = tunnel_name_for(name)
        problem = name_problem(tunnel)
        if problem is None:
            result["name"] = tunnel
        else:
            errors.append(ConfigIssue(name, 1, problem, Reason.INVALID_VALUE))
    result["valid"] = not errors
    result.setdefault("_code", ExitCode.OK if not errors else ExitCode.INVALID)
    result["errors"] = [i.to_json() for i in errors]
    result["warnings"] = [i.to_json() for i in warnings]
    result["_issues"] = errors + warnings
    return result


def cmd_check(args: argparse.Namespace) -> int:
    results = [check_one(f, args.dialect, args.strict) for f in args.files]
    failed = set()
    for r in results:
        # line 0: the file itself could not be read; the message names it
        output.issue_lines([issue.format() if issue.line else issue.message
                            for issue in r.pop("_issues")], r["file"])
        code = r.pop("_code")
        if code != ExitCode.OK:
            failed.add(code)
    if args.json:
        output.emit_json(results)
    # The files' shared code (7: missing); files that fail differently: invalid.
    return ExitCode.OK if not failed else failed.pop() if len(failed) == 1 else ExitCode.INVALID


def cmd_strip(args: argparse.Namespace) -> int:
    from wgdroid.config.dialect import Dialect
    from wgdroid.config.parser import parse
    from wgdroid.config.render import strip_text

    label, data = _read(args.file)
    dialect = Dialect(args.dialect)
    parsed = parse(data, filename=label, dialect=dialect)  # refuse what wg would refuse
    for w in parsed.warnings:
        if w.reason != "dialect":
            output.raw_stderr(w.format())
    output.raw(strip_text(data.decode("utf-8"), dialect))
    return ExitCode.OK


def _subnet(option: str, text: str, kind: type[_Net]) -> _Net:
    """OPTION's network, or a ValueError that names OPTION (ipaddress's own
    says "Expected 4 octets in 'fd00::'")."""
    import ipaddress

    try:
        return kind(text)
    except ValueError as exc:
        if "host bits set" in str(exc):
            base = ipaddress.ip_network(text, strict=False)
            raise ValueError(f"{option} {text}: host bits are set (the network is {base})"
                             ) from None
        version, example = ((4, "10.66.0.0/24") if kind is ipaddress.IPv4Network
                            else (6, "fd66::/64"))
        raise ValueError(f"{option} {text}: not an IPv{version} network, e.g. {example}"
                         ) from None


def cmd_new(args: argparse.Namespace) -> int:
    import ipaddress

    from wgdroid.config.names import name_problem
    from wgdroid.config.newpair import make_pair
    from wgdroid.config.render import to_wg_quick
    from wgdroid.errors import InvalidInputError
    from wgdroid.fileio import check_targets, write_private

    server_name = args.server_name or f"{args.name}-srv"
    for n in (args.name, server_name):
        problem = name_problem(n)
        if problem is not None:
            raise InvalidInputError(problem, hint="choose another --name or set --server-name")
    try:
        subnet6 = (_subnet("--subnet6", args.subnet6, ipaddress.IPv6Network)
                   if args.subnet6 else None)
        pair = make_pair(
            endpoint=args.endpoint,
            subnet=_subnet("--subnet", args.subnet, ipaddress.IPv4Network),
            subnet6=subnet6,
            allowed_ips=args.allowed_ips,
            dns=args.dns,
            keepalive=args.keepalive,
            psk=not args.no_psk,
        )
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None
    out = Path(args.output_dir)
    client_path = out / f"{args.name}.conf"
    server_path = out / f"{server_name}.conf"
    # Both checked, and that they are two files, before either is written.
    check_targets([client_path, server_path], overwrite=args.force,
                  hint="give --server-name another name than --name")
    write_private(client_path, to_wg_quick(pair.client), overwrite=args.force)
    write_private(server_path, to_wg_quick(pair.server), overwrite=args.force)
    if args.json:
        output.emit_json({
            "client": {"file": str(client_path),
                       "public_key": pair.client.interface.public_key.base64()},
            "server": {"file": str(server_path),
                       "public_key": pair.server.interface.public_key.base64()},
        })
    else:
        output.data(f"{client_path}\n{server_path}")
    return ExitCode.OK
