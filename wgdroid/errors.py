"""The one error hierarchy of wgdroid, and the one table that maps errors, and
the outcomes of a command over several items (`--all`), to exit codes.

Every error the user may see derives from WgdroidError. Its message and hint
are one line each and pass through the redaction point at construction, so
they never hold anything shaped like a key, whatever device or parser text
they quote. Config errors (ConfigError, with file and line) live in
`wgdroid.config.issues`, beside the issues they carry; this module is below
config and imports nothing of it.
"""

from __future__ import annotations

from collections.abc import Iterable

from wgdroid.exit_codes import ExitCode
from wgdroid.redact import redact

TYPE_CHECKING = False  # typing itself is not imported: wgdroid.lean says why
if TYPE_CHECKING:
    from typing import Any


class WgdroidError(Exception):
    """Base of every error wgdroid reports to the user."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.hint = redact(hint) if hint else None

    def __str__(self) -> str:
        return self.message

    @property
    def exit_code(self) -> ExitCode:
        return exit_code_for(self)

    def to_json(self) -> dict[str, Any]:
        """The JSON error object of `--json` output (fields are only ever added)."""
        return {"message": self.message, "exit_code": int(self.exit_code), "hint": self.hint}


class UsageError(WgdroidError):
    """Bad flags or arguments (argparse's own errors exit with the same code)."""


class InvalidInputError(WgdroidError):
    """Input that can't be used: a bad tunnel name, an unreadable image, a bad
    archive; config.issues.ConfigError (a config that fails validation) is one."""


class OutputError(InvalidInputError):
    """stdout cannot be written (closed, a full disk): exits as a file that
    cannot be written does."""


class KeyFormatError(InvalidInputError):
    """A WireGuard key that is not canonical base64 of 32 bytes. Never holds the key."""


class DeviceError(WgdroidError):
    """The device can't be reached: no adb server, no device, unplugged, unauthorized."""

    # Cut off while a root script ran: the stdout it had sent (only where the
    # caller asked for it: rootshell.run_root `keep_partial`). Never shown.
    partial_stdout: bytes | None = None


class RootError(WgdroidError):
    """No su on the device, or su denied the request."""


class RootPendingError(RootError):
    """su asked the user for permission and got no answer in time."""


class DeviceCommandError(WgdroidError):
    """A command on the device failed; message holds its own (trimmed) stderr."""

    def __init__(
        self, message: str, *, returncode: int | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.returncode = returncode


class NotFoundError(WgdroidError):
    """No such tunnel on the device, or no such local file."""


class ConflictError(WgdroidError):
    """ListenPort clash, tunnel exists, tunnel up during rename, tunnel busy."""


class MissingToolsError(WgdroidError):
    """No wg/wg-quick, or no usable backend, on the device."""


class PartialFailureError(WgdroidError):
    """Some items of one command failed, others succeeded."""


class EnvironmentProblem(WgdroidError):
    """The workstation lacks something: root, namespaces, a binary."""


class OperationTimeout(WgdroidError):
    """An operation did not finish in time."""

    partial_stdout: bytes | None = None  # as DeviceError's


# The one table. Looked up along the class's MRO, so a subclass exits like its
# nearest listed ancestor; anything unlisted is a bug (INTERNAL).
EXIT_CODES: dict[type[BaseException], ExitCode] = {
    UsageError: ExitCode.USAGE,
    InvalidInputError: ExitCode.INVALID,
    DeviceError: ExitCode.DEVICE,
    RootError: ExitCode.NO_ROOT,
    RootPendingError: ExitCode.ROOT_PENDING,
    DeviceCommandError: ExitCode.COMMAND_FAILED,
    NotFoundError: ExitCode.NOT_FOUND,
    ConflictError: ExitCode.CONFLICT,
    MissingToolsError: ExitCode.MISSING_TOOLS,
    PartialFailureError: ExitCode.PARTIAL,
    EnvironmentProblem: ExitCode.ENVIRONMENT,
    OperationTimeout: ExitCode.TIMEOUT,
    KeyboardInterrupt: ExitCode.INTERRUPTED,
}


def exit_code_for(error: BaseException) -> ExitCode:
    """The one place that turns an exception into an exit code."""
    for cls in type(error).__mro__:
        code = EXIT_CODES.get(cls)
        if code is not None:
            return code
    return ExitCode.INTERNAL


def combined_exit(codes: Iterable[ExitCode | int]) -> ExitCode:
    """The exit code of one command over several items (`--all`'s devices, an
    archive's entries): OK if all succeeded; PARTIAL only when some succeeded
    and some failed; when all failed, their shared code if they agree, else
    ALL_FAILED. No items at all is OK (nothing failed)."""
    results = {ExitCode(c) for c in codes}
    failed = results - {ExitCode.OK}
    if not failed:
        return ExitCode.OK
    if ExitCode.OK in results:
        return ExitCode.PARTIAL
    return failed.pop() if len(failed) == 1 else ExitCode.ALL_FAILED
