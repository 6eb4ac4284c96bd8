"""Which device(s) a command runs on, and how their results are reported.

One device argument group (`-s/-H/-P/--root-timeout`), accepted before the
command as adb does (`wgdroid -s SERIAL list`) or after it; `--all`; and the
one reporter of a command run on several devices (text lines, the JSON
document, error lines, and the exit code from errors.combined_exit).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Iterable

from wgdroid.cli import output
from wgdroid.errors import DeviceError, UsageError, combined_exit
from wgdroid.exit_codes import ExitCode

TYPE_CHECKING = False  # typing itself is not imported: wgdroid.lean says why
if TYPE_CHECKING:
    from typing import Any, TypeVar

    from wgdroid.device.connection import Device
    from wgdroid.device.fanout import Outcome

    T = TypeVar("T")
SCHEMA = 1
MAX_SECONDS = 3600.0


class HelpFormatter(argparse.HelpFormatter):
    """argparse's, with the terminal's width found without `shutil`: argparse
    makes a formatter for every parser and option (to check metavars), and
    its default width imports shutil (~2 ms of every command's start)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        if width is None:  # what shutil.get_terminal_size says: $COLUMNS, the terminal, 80
            width = _env_columns() or _terminal_columns() or 80
            width -= 2
        super().__init__(prog, indent_increment, max_help_position, width)


def _env_columns() -> int:
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() else 0


def _terminal_columns() -> int:
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 0


def seconds(text: str) -> float:
    """An argparse type: a finite number of seconds, > 0 and at most an hour."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or not 0 < value <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give seconds between 0 and {MAX_SECONDS:g} (more than 0)"
        )
    return value


def count(text: str) -> int:
    """An argparse type: a positive whole number."""
    if not text.isdigit() or len(text) > 9 or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def port(text: str) -> int:
    """An argparse type: a TCP port."""
    if not text.isdigit() or len(text) > 5 or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (1-65535)")
    return int(text)


def add_device_options(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """The device group. On the top-level parser (`top`) the defaults are None;
    on a command they are SUPPRESS, so a value given before the command stays
    unless the command repeats the option (then the later one wins)."""
    default: Any = None if top else argparse.SUPPRESS
    g = parser.add_argument_group("device options (before or after the command)")
    g.add_argument("-s", "--serial", metavar="SERIAL", default=default,
                   help="the device (else ANDROID_SERIAL, else the only one)")
    g.add_argument("-H", dest="adb_host", metavar="HOST", default=default,
                   help="adb server host (else ADB_SERVER_SOCKET, else localhost)")
    g.add_argument("-P", dest="adb_port", metavar="PORT", type=port, default=default,
                   help="adb server port (else ADB_SERVER_SOCKET, else 5037)")
    g.add_argument("--root-timeout", type=seconds, metavar="SECONDS", default=default,
                   help="how long to wait for the su prompt to be answered "
                   "(default 10, or WGDROID_ROOT_TIMEOUT)")


def device_parent(*, multi: bool = False, as_json: bool = False) -> argparse.ArgumentParser:
    """A parent parser with the device group, and `--all`/`--json` if asked."""
    parent = argparse.ArgumentParser(add_help=False, formatter_class=HelpFormatter)
    add_device_options(parent)
    if multi:
        parent.add_argument("--all", action="store_true",
                            help="every connected device, in parallel")
    if as_json:
        parent.add_argument("--json", action="store_true", help="print JSON on stdout")
    return parent


# -- choosing devices -----------------------------------------------------------


def one(args: argparse.Namespace) -> Device:
    from wgdroid.device.connection import connect

    return connect(args.serial, host=args.adb_host, port=args.adb_port)


def run_on_all(args: argparse.Namespace, op: Callable[[Device], T]) -> list[Outcome[T]]:
    """`op` on every attached device in parallel; devices in a bad state
    (unauthorized, offline) are failed outcomes of their own."""
    from wgdroid.device.connection import all_devices, check_state
    from wgdroid.device.fanout import Outcome, run_all

    if args.serial:
        raise UsageError("-s and --all exclude each other")
    usable, others = all_devices(host=args.adb_host, port=args.adb_port)
    bad: list[Outcome[T]] = []
    for info in others:
        try:
            check_state(info)
        except DeviceError as exc:
            bad.append(Outcome(info.serial, error=exc))
    return run_all(usable, op) + bad


# -- reporting ------------------------------------------------------------------


def report_errors(outcomes: Iterable[Outcome[Any]]) -> None:
    """Each failed device on its own stderr line (and its hint)."""
    for o in outcomes:
        if o.error is not None:
            output.error(f"{o.serial}: {o.error.message}")
            if o.error.hint:
                output.note(f"{o.serial}: {o.error.hint}")


def report(
    outcomes: list[Outcome[T]],
    *,
    as_json: bool,
    json_fields: Callable[[T | None], dict[str, Any]] = lambda value: {},
    text_lines: Callable[[T], Iterable[str]] = lambda value: ["ok"],
    code: Callable[[T], ExitCode] = lambda value: ExitCode.OK,
    indent: int | None = 2,
    tagged: bool = True,
) -> ExitCode:
    """The one reporter of a command over several devices.

    stdout: with `as_json`, `{"schema": 1, "devices": [{"serial", "error",
    **json_fields(value)}]}` in device order (`error` is the JSON error
    object or null; json_fields gets None for a failed device, and gives
    the same keys either way); else `SERIAL<TAB>line` for each text line of
    each device that succeeded (untagged: the lines as they are, for blocks
    that name their device). stderr: one line per failed device. The exit
    code combines each device's: its error's, or `code(value)` for a result
    that is itself a failure (doctor --check on a phone that is not ready).
    """
    if as_json:
        import json

        devices = [
            {"serial": o.serial, "error": o.error.to_json() if o.error else None,
             **json_fields(o.value if o.error is None else None)}
            for o in outcomes
        ]
        output.data(json.dumps({"schema": SCHEMA, "devices": devices}, indent=indent))
    else:
        for o in outcomes:
            if o.error is None and o.value is not None:
                for line in text_lines(o.value):
                    output.data(f"{o.serial}\t{line}" if tagged else line)
    report_errors(outcomes)
    return combined_exit(
        o.error.exit_code if o.error is not None
        else code(o.value) if o.value is not None else ExitCode.OK
        for o in outcomes
    )
