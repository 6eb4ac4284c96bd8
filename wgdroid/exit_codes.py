"""The CLI's exit codes: a contract for scripts.

Numbers never change meaning; new ones are only added. MEANINGS is the
README's exit-code table (tests/cli/test_cli_exit_table.py checks the README
against it); which error exits with which code is `wgdroid.errors.EXIT_CODES`.
"""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    INVALID = 1
    USAGE = 2
    DEVICE = 3
    NO_ROOT = 4
    ROOT_PENDING = 5
    COMMAND_FAILED = 6
    NOT_FOUND = 7
    CONFLICT = 8
    MISSING_TOOLS = 9
    PARTIAL = 10
    ENVIRONMENT = 11
    TIMEOUT = 12
    ALL_FAILED = 13
    INTERNAL = 70  # EX_SOFTWARE
    INTERRUPTED = 130  # 128 + SIGINT


MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success",
    ExitCode.INVALID: "invalid input: a config that fails validation, a bad key, name or "
    "number; an output file that exists (without `--force`) or is not a regular file; "
    "output that cannot be written (a full disk, a closed stdout)",
    ExitCode.USAGE: "usage: bad flags or arguments",
    ExitCode.DEVICE: "device unreachable: no adb server, no device, several and no `-s`, "
    "unplugged, unauthorized; a connection lost mid-operation (the change may have happened)",
    ExitCode.NO_ROOT: "no root: the device has no `su`, or `su` denied the request",
    ExitCode.ROOT_PENDING: "root pending: `su` asked the user and nobody answered in time",
    ExitCode.COMMAND_FAILED: "a command on the device (`wg-quick`, `wg`, ...) failed; "
    "its stderr is shown",
    ExitCode.NOT_FOUND: "no such tunnel or file (a missing input file, everywhere)",
    ExitCode.CONFLICT: "conflict: ListenPort clash, tunnel exists, tunnel up during rename, "
    "tunnel busy, a name one of the phone's own interfaces has (`eth0`, `wlan0`)",
    ExitCode.MISSING_TOOLS: "missing tools: no `wg`/`wg-quick` or no usable backend on the "
    "device (`doctor --check`: not ready)",
    ExitCode.PARTIAL: "several items (`--all`'s devices, a zip's entries): some failed, "
    "some succeeded (an import cut off mid-way: the rest are not known)",
    ExitCode.ENVIRONMENT: "this workstation lacks something (root for the simulator, a binary)",
    ExitCode.TIMEOUT: "timeout",
    ExitCode.ALL_FAILED: "several items: all failed, not all for the same reason (each says "
    "why; when they agree, their shared code is used instead)",
    ExitCode.INTERNAL: "internal error (a bug; rerun with `--debug`)",
    ExitCode.INTERRUPTED: "interrupted",
}
