"""The CLI's exit codes: a contract for scripts, documented in the README.

Numbers never change meaning; new ones are only added.
"""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    INVALID = 1  # invalid input: a config that fails validation, a bad key
    USAGE = 2  # bad flags or arguments (argparse's own code)
    DEVICE = 3  # no adb server, no device, several devices and no -s, unplugged, unauthorized
    NO_ROOT = 4  # the device has no su, or su denied the request
    ROOT_PENDING = 5  # su asked the user and nobody answered in time
    COMMAND_FAILED = 6  # a command on the device (wg-quick, wg, ...) failed
    NOT_FOUND = 7  # no such tunnel or file
    CONFLICT = 8  # ListenPort clash, tunnel already exists, tunnel up during rename
    MISSING_TOOLS = 9  # no wg/wg-quick or no usable backend on the device
    PARTIAL = 10  # --all: some devices failed, others succeeded
    ENVIRONMENT = 11  # this workstation lacks something (root for the simulator, a binary)
    TIMEOUT = 12  # an operation did not finish in time
    INTERNAL = 70  # a bug in wgdroid (EX_SOFTWARE)
    INTERRUPTED = 130  # Ctrl-C
