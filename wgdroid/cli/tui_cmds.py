"""`wgdroid tui [--sim] [-s SERIAL] [-H HOST] [-P PORT]`: open the terminal UI (Textual is imported
only inside the handler, so the CLI never loads it)."""

from __future__ import annotations

import argparse

from wgdroid.cli import output
from wgdroid.cli.devices import add_device_options
from wgdroid.exit_codes import ExitCode


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "tui",
        help="open the terminal UI (also: `wgdroid` with no command)",
        description="Open the terminal UI. With no phone attached it offers a simulated one.",
    )
    p.add_argument("--sim", action="store_true",
                   help="start a simulated phone right away (needs root)")
    add_device_options(p)
    p.set_defaults(func=_tui)


def _tui(args: argparse.Namespace) -> int:
    import sys

    from wgdroid.errors import UsageError

    if not (output.is_terminal(sys.stdin) and output.is_terminal(sys.stdout)):
        raise UsageError("the TUI needs a terminal", hint="use the scripting commands instead")
    return open_tui(args)


def open_tui(args: argparse.Namespace) -> int:
    """Run the TUI with the device options of `args` (also `wgdroid [-s SERIAL]`)."""
    from wgdroid.tui.app import run

    argv = ["--sim"] if getattr(args, "sim", False) else []
    for flag, value in (("-s", args.serial), ("-H", args.adb_host), ("-P", args.adb_port)):
        if value is not None:
            argv += [flag, str(value)]
    return ExitCode(run(argv))
