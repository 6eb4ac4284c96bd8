"""Entry point of the `wgdroid` command: builds the parser from the command
modules and reports every error in one place: one redacted line on stderr
(and its hint), a JSON error object on stdout under `--json`, and the exit
code of errors.EXIT_CODES."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from wgdroid import __version__
from wgdroid.cli import output
from wgdroid.cli.devices import HelpFormatter, add_device_options
from wgdroid.errors import OutputError, UsageError, WgdroidError
from wgdroid.exit_codes import ExitCode

TYPE_CHECKING = False  # typing itself is not imported: wgdroid.lean says why
if TYPE_CHECKING:
    from typing import Any

    from _typeshed import SupportsWrite

# Each module has `register(subparsers)`; its handlers take the parsed args
# and return an exit code. Heavy imports stay inside the handlers. A command
# imports only its own module (a phone command starts sooner); help and
# unknown commands build them all. tests/cli checks this table.
_CONFIG, _DEVICE = "wgdroid.cli.config_cmds", "wgdroid.cli.device_cmds"
_KEYS, _QR, _ZIP = "wgdroid.cli.keys_cmds", "wgdroid.cli.qr_cmds", "wgdroid.cli.archive_cmds"
COMMANDS: dict[str, str] = {
    "check": _CONFIG, "strip": _CONFIG, "new": _CONFIG,
    "genkey": _KEYS, "genpsk": _KEYS, "pubkey": _KEYS,
    "qr": _QR, "import-qr": _QR, "zip": _ZIP, "unzip": _ZIP,
    "tui": "wgdroid.cli.tui_cmds", "sim": "wgdroid.cli.sim_cmds",
    "list": _DEVICE, "push": _DEVICE, "pull": _DEVICE, "rm": _DEVICE, "rename": _DEVICE,
    "enable": _DEVICE, "disable": _DEVICE, "status": _DEVICE, "doctor": _DEVICE, "import": _DEVICE,
    "tools": "wgdroid.cli.tools_cmds",
}


class _Parser(argparse.ArgumentParser):
    """No abbreviated options anywhere (`--root 5` is not `--root-timeout 5`:
    an abbreviation that works today breaks when an option is added), and
    usage errors are a UsageError that main reports as every other error
    (exit USAGE; the JSON error object under --json)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        output.stderr_text(self.format_usage())
        raise UsageError(message)

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        """argparse's one writer: help and version go through output, so
        a stdout that cannot take them is an OutputError, not swallowed
        (exit 0 with nothing printed); and text for a closed stderr (None)
        is dropped, not sent to stdout as print_usage would."""
        if not message:
            return
        if file is None or file is sys.stdout:
            output.raw(message)
        elif file is sys.stderr:
            output.stderr_text(message)
        else:
            file.write(message)


def _top_parser(description: str | None = None, epilog: str | None = None,
                add_help: bool = True) -> _Parser:
    parser = _Parser(prog="wgdroid", description=description, epilog=epilog,
                     add_help=add_help)
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks of unexpected errors"
    )
    add_device_options(parser, top=True)  # `wgdroid -s SERIAL list`, as adb takes them
    return parser


def command_of(argv: Sequence[str]) -> str | None:
    """The command named in `argv`, past the global options (None if none is)."""
    # Without -h: `wgdroid push --help` is the command's help, printed by the
    # full parser once the command's module is loaded.
    _, rest = _top_parser(add_help=False).parse_known_args(list(argv))
    return next((a for a in rest if not a.startswith("-")), None)


class _Commands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """The command parsers. With `only` (the command named on the line), the
    other commands of its module are not built: they would cost ~1.5 ms of
    a `wgdroid status` for nothing."""

    only: str | None = None

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        if self.only is not None and name != self.only:
            return _NotBuilt()
        return super().add_parser(name, **kwargs)


class _NotBuilt:
    """Stands for a command parser that is not built: every call does nothing."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: self


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; with a known `command`, only that command's module is
    loaded, and only its parser built."""
    parser = _top_parser(
        description="WireGuard on rooted Android phones, driven over ADB.",
        epilog="With no command in a terminal, wgdroid opens its TUI.",
    )
    parser.add_argument("--version", action="version", version=f"wgdroid {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser,
                                action=_Commands)
    if command in COMMANDS:
        assert isinstance(sub, _Commands)
        sub.only = command
        modules = [COMMANDS[command]]
    else:
        modules = list(dict.fromkeys(COMMANDS.values()))
    for name in modules:
        importlib.import_module(name).register(sub)
    return parser


def _failed(error: WgdroidError, *, json: bool, stream: bool = False) -> int:
    """The one way a failed command ends: stderr line(s), JSON under --json
    (on one line after a `stream` of one-line documents: `status --watch`).
    A config that fails validation is said as one `FILE:LINE: ...` line per issue."""
    issues = getattr(error, "issues", None) if _is_config_error(error) else None
    if issues:
        output.issue_lines([issue.format() for issue in issues], issues[0].file)
    else:
        output.error(error.message)
    if error.hint:
        output.note(error.hint)
    if json and not isinstance(error, OutputError):
        try:
            output.emit_json({"schema": 1, "error": error.to_json()},
                             indent=None if stream else 2)
        except OutputError as exc:  # stdout fails too: the error above still stands
            output.error(exc.message)
    return error.exit_code


def _asks_json(argv: list[str]) -> bool:
    """Whether --json is on a command line argparse refused (options end at `--`)."""
    options = argv[: argv.index("--")] if "--" in argv else argv
    return "--json" in options


def _is_config_error(error: WgdroidError) -> bool:
    # Not imported for every command: only a config command can raise one.
    config_issues = sys.modules.get("wgdroid.config.issues")
    return config_issues is not None and isinstance(error, config_issues.ConfigError)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser(command_of(args_list))
        args = parser.parse_args(args_list)
    except UsageError as exc:  # argparse's: bad flags or arguments
        return _failed(exc, json=_asks_json(args_list))
    except OutputError as exc:  # --help or --version to a full or closed stdout
        output.error(exc.message)
        return exc.exit_code
    except BrokenPipeError:  # `wgdroid --help | head -1`
        output.discard_stdout()
        return ExitCode.OK
    handler = getattr(args, "func", None)
    if handler is None:
        if output.is_terminal(sys.stdin) and output.is_terminal(sys.stdout):  # the TUI
            from wgdroid.cli.tui_cmds import open_tui

            return open_tui(args)
        output.stderr_text(parser.format_help())
        return ExitCode.USAGE
    # --json, and one line per document under `status --watch`
    as_json = {"json": getattr(args, "json", False), "stream": getattr(args, "watch", False)}
    try:
        return int(handler(args))
    except WgdroidError as exc:
        return _failed(exc, **as_json)
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # stdout went away (e.g. `| head`): not an error of ours.
        output.discard_stdout()
        return ExitCode.OK
    except Exception as exc:  # last resort: one line, no traceback (it might hold secrets)
        if args.debug or os.environ.get("WGDROID_DEBUG"):
            raise
        return _failed(WgdroidError(
            f"internal error: {type(exc).__name__} (rerun with --debug for details)"), **as_json)


# Loaded by code that may leave work for the interpreter's clean-up: threads
# to join, logging handlers to flush, temp files that finalizers remove.
_NEEDS_CLEAN_EXIT = ("threading", "logging", "tempfile", "multiprocessing")


def run() -> None:
    """The `wgdroid` command (the console script). A command that loaded
    nothing of _NEEDS_CLEAN_EXIT ends with os._exit once stdout and stderr
    are flushed: the interpreter's own clean-up (every module torn down, a
    last garbage collection) cost ~6 ms of a ~100 ms `status`, and no such
    command registers anything for it (atexit, finalizers)."""
    _fill_closed_stdio()
    try:
        code = main()
    except SystemExit as exc:  # argparse (usage, --help, --version)
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            raise
    code = output.finish(code)
    if any(name in sys.modules for name in _NEEDS_CLEAN_EXIT):
        raise SystemExit(code)
    os._exit(code)


def _fill_closed_stdio() -> None:
    """Open /dev/null on a closed fd 0, 1 or 2 (`wgdroid list >&-`), so the
    next socket or file wgdroid opens does not become "stdout" for a child
    process or a C library. Python already made sys.stdout (etc.) None for
    it, which is how output knows that stream is closed."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            # The lowest free fd: this one, as the lower ones are open now.
            os.open(os.devnull, os.O_RDWR)


if __name__ == "__main__":
    run()
