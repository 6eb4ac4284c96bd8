"""The one error hierarchy of wgdroid, and its mapping to exit codes.

Every error the user may see derives from WgdroidError. Its message is one
line, safe to print: it never holds a private or preshared key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from wgdroid.exit_codes import ExitCode

if TYPE_CHECKING:
    from wgdroid.config.issues import ConfigIssue


class WgdroidError(Exception):
    """Base of every error wgdroid reports to the user."""

    exit_code: ClassVar[ExitCode] = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(WgdroidError):
    exit_code = ExitCode.USAGE


class ConfigError(WgdroidError):
    """A config failed validation; carries every issue found, each with file and line."""

    exit_code = ExitCode.INVALID

    def __init__(
        self, issues: Sequence[ConfigIssue], warnings: Sequence[ConfigIssue] = ()
    ) -> None:
        self.issues = list(issues)
        self.warnings = list(warnings)
        first = self.issues[0].format() if self.issues else "invalid config"
        more = len(self.issues) - 1
        super().__init__(first + (f" (and {more} more)" if more > 0 else ""))


class KeyFormatError(WgdroidError):
    """A WireGuard key that is not canonical base64 of 32 bytes. Never holds the key."""

    exit_code = ExitCode.INVALID


class InvalidInputError(WgdroidError):
    """Input that is not a config: a bad tunnel name, an unreadable image, a bad archive."""

    exit_code = ExitCode.INVALID


class DeviceError(WgdroidError):
    """The device can't be reached: no adb server, no device, unplugged, unauthorized."""

    exit_code = ExitCode.DEVICE


class RootError(WgdroidError):
    """No su on the device, or su denied the request."""

    exit_code = ExitCode.NO_ROOT


class RootPendingError(RootError):
    """su asked the user for permission and got no answer in time."""

    exit_code = ExitCode.ROOT_PENDING


class DeviceCommandError(WgdroidError):
    """A command on the device failed; message holds its own (trimmed) stderr."""

    exit_code = ExitCode.COMMAND_FAILED

    def __init__(
        self, message: str, *, returncode: int | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.returncode = returncode


class NotFoundError(WgdroidError):
    exit_code = ExitCode.NOT_FOUND


class ConflictError(WgdroidError):
    exit_code = ExitCode.CONFLICT


class MissingToolsError(WgdroidError):
    exit_code = ExitCode.MISSING_TOOLS


class PartialFailureError(WgdroidError):
    exit_code = ExitCode.PARTIAL


class EnvironmentProblem(WgdroidError):
    """The workstation lacks something: root, namespaces, a binary."""

    exit_code = ExitCode.ENVIRONMENT


class OperationTimeout(WgdroidError):
    exit_code = ExitCode.TIMEOUT


def exit_code_for(error: BaseException) -> ExitCode:
    """The one place that turns an exception into an exit code."""
    if isinstance(error, WgdroidError):
        return error.exit_code
    if isinstance(error, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    return ExitCode.INTERNAL
