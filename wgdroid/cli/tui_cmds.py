"""`wgdroid tui [--sim] [-s SERIAL]`: open the terminal UI (Textual is imported
only inside the handler, so the CLI never loads it)."""

from __future__ import annotations

import argparse

from wgdroid.exit_codes import ExitCode


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "tui",
        help="open the terminal UI (also: `wgdroid` with no command)",
        description="Open the terminal UI. With no phone attached it offers a simulated one.",
    )
    p.add_argument("--sim", action="store_true",
                   help="start a simulated phone right away (needs root)")
    p.add_argument("-s", "--serial", metavar="SERIAL", help="the phone to show first")
    p.set_defaults(func=_tui)


def _tui(args: argparse.Namespace) -> int:
    import sys

    from wgdroid.errors import UsageError

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("the TUI needs a terminal", hint="use the scripting commands instead")
    from wgdroid.tui.app import run

    argv = (["--sim"] if args.sim else []) + (["-s", args.serial] if args.serial else [])
    return ExitCode(run(argv))
