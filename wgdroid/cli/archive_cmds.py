"""`wgdroid zip` and `wgdroid unzip`: local tunnel archives in the official app's format."""

from __future__ import annotations

import argparse
from pathlib import Path

from wgdroid.cli import output
from wgdroid.errors import InvalidInputError, NotFoundError, WgdroidError, combined_exit
from wgdroid.exit_codes import ExitCode


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "zip",
        help="pack tunnel configs into a zip the WireGuard app imports",
        description="Write OUT (mode 0600) with one NAME.conf entry per FILE, the format of "
        "the app's 'Export tunnels to zip file'. Each FILE must be named NAME.conf.",
    )
    p.add_argument("out", type=Path, metavar="OUT")
    p.add_argument("files", type=Path, nargs="+", metavar="FILE")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")
    p.set_defaults(func=_zip)

    p = sub.add_parser(
        "unzip",
        help="unpack the tunnel configs of a zip (as the app imports it)",
        description="Import every .conf entry of ZIP as the app does (directories in entry "
        "names are ignored) and write DIR/NAME.conf with mode 0600. Existing files are "
        "kept unless --force. Exit 0 if all imported, 10 if some; if none, the entries' shared "
        "code (1 if none is a tunnel), else 13.",
    )
    p.add_argument("archive", type=Path, metavar="ZIP")
    p.add_argument("-d", "--dir", type=Path, default=Path("."), metavar="DIR")
    p.add_argument("--force", action="store_true", help="replace existing DIR/NAME.conf files")
    p.set_defaults(func=_unzip)


def _zip(args: argparse.Namespace) -> int:
    from wgdroid.config.archive import Tunnel, check_imported_text, export_zip
    from wgdroid.config.parser import read_config_bytes
    from wgdroid.fileio import check_target, write_private

    if args.out.name.endswith(".conf"):  # `zip --force a.conf b.conf`: OUT forgotten
        raise InvalidInputError(
            f"{args.out}: a config, not a zip; OUT, the first argument, is the zip to write",
            hint="wgdroid zip OUT.zip NAME.conf...")
    check_target(args.out, overwrite=args.force)
    tunnels = []
    for path in args.files:
        if not path.name.endswith(".conf"):
            raise InvalidInputError(f"{path}: the file name must be NAME.conf")
        try:
            text = read_config_bytes(path).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInputError(f"{path}: not UTF-8 text") from None
        parsed = check_imported_text(text, source=str(path))
        for issue in parsed.warnings:  # e.g. Linux-only keys the app would refuse
            output.raw_stderr(issue.format())
        tunnels.append(Tunnel(path.name[: -len(".conf")], text))
    write_private(args.out, export_zip(tunnels), overwrite=args.force)
    output.note(f"wrote {len(tunnels)} tunnels to {args.out}")
    return ExitCode.OK


def _unzip(args: argparse.Namespace) -> int:
    from wgdroid.config.archive import import_zip, no_tunnels
    from wgdroid.fileio import write_private

    if not args.dir.is_dir():
        if args.dir.exists():
            raise InvalidInputError(f"{args.dir}: is not a directory")
        raise NotFoundError(f"{args.dir}: no such directory")
    result = import_zip(args.archive)
    if not result.total:
        raise no_tunnels([str(args.archive)])
    for err in result.errors:
        output.error(err.format(str(args.archive)))
    codes = [ExitCode.INVALID for _ in result.errors]
    for tunnel in result.tunnels:
        for issue in tunnel.warnings:
            output.raw_stderr(f"{args.archive}: {issue.format()}")
        # The name passed the name rule (no '/'), so DIR/NAME.conf stays inside DIR.
        try:
            write_private(args.dir / f"{tunnel.name}.conf", tunnel.text, overwrite=args.force)
        except WgdroidError as exc:
            output.error(exc.message)
            codes.append(exc.exit_code)
            continue
        codes.append(ExitCode.OK)
    output.note(f"imported {codes.count(ExitCode.OK)} of {result.total} tunnels")
    return combined_exit(codes) if codes else ExitCode.INVALID
