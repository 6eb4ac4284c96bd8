"""`wgdroid qr` and `wgdroid import-qr`: tunnel configs to and from QR codes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wgdroid.cli import output
from wgdroid.errors import InvalidInputError, NotFoundError
from wgdroid.exit_codes import ExitCode


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "qr",
        help="show a config as a QR code (terminal or PNG)",
        description="Print the QR code of a tunnel config on stdout, for the WireGuard "
        "app's camera scan, or write it as a PNG image (mode 0600: it holds the private key).",
    )
    p.add_argument("file", type=Path, metavar="FILE", help="the tunnel config (NAME.conf)")
    p.add_argument("--png", type=Path, metavar="OUT", help="write a PNG image instead")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")
    p.add_argument(
        "--format",
        choices=("utf8", "ansi", "ascii"),
        default=None,
        help="terminal style: half blocks (utf8), half blocks in black and white (ansi, the "
        "default on a terminal), or ## per module (ascii)",
    )
    p.add_argument(
        "--invert", action="store_true", help="swap light and dark (utf8/ascii on a light theme)"
    )
    p.set_defaults(func=_qr)

    p = sub.add_parser(
        "import-qr",
        help="read a config from a QR code photo or screenshot",
        description="Decode the WireGuard config in a QR code image (PNG, JPEG, ...) and "
        "print it on stdout, or write it to FILE with mode 0600.",
    )
    p.add_argument("image", type=Path, metavar="IMAGE")
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="write the config here")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")
    p.set_defaults(func=_import_qr)


def _qr(args: argparse.Namespace) -> int:
    from wgdroid.config import qr
    from wgdroid.config.archive import check_imported_text
    from wgdroid.config.parser import read_config_bytes
    from wgdroid.fileio import write_private

    data = read_config_bytes(args.file)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError(f"{args.file}: not UTF-8 text") from None
    parsed = check_imported_text(text, source=str(args.file))
    for issue in parsed.warnings:  # e.g. Linux-only keys the phone would refuse
        output.raw_stderr(issue.format())
    if args.png is not None:
        write_private(args.png, qr.png_bytes(text), overwrite=args.force)
        output.note(f"wrote {args.png} (it holds the private key: delete it after scanning)")
        return ExitCode.OK
    style: qr.Style = args.format or ("ansi" if output.is_terminal(sys.stdout) else "utf8")
    output.raw(qr.render_text(text, style, invert=args.invert))
    return ExitCode.OK


def _import_qr(args: argparse.Namespace) -> int:
    from wgdroid.config import qr
    from wgdroid.fileio import check_target, write_private

    if not args.image.exists():
        raise NotFoundError(f"{args.image}: no such file")
    if args.output is not None:  # refused before the image is decoded
        check_target(args.output, overwrite=args.force)
    text, parsed = qr.import_image(args.image)
    for issue in parsed.warnings:
        output.raw_stderr(issue.format())
    if args.output is None:
        output.raw(text)
    else:
        write_private(args.output, text.encode("utf-8"), overwrite=args.force)
        output.note(f"wrote {args.output}")
    return ExitCode.OK
