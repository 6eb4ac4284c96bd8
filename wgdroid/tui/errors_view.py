"""How a failed device operation is shown: a title per error class, the
device's own message, and its hint (pure; one place for every worker)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from wgdroid import errors as e
from wgdroid.config.issues import ConfigError

Severity = Literal["information", "warning", "error"]

# Most specific first: the first isinstance match wins.
_TITLES: tuple[tuple[type[BaseException], str, Severity], ...] = (
    (e.RootPendingError, "su is waiting for an answer on the phone", "warning"),
    (e.RootError, "Root access refused", "error"),
    (e.ConflictError, "Conflict", "error"),
    (ConfigError, "Invalid config", "error"),
    (e.MissingToolsError, "Missing on the phone", "error"),
    (e.DeviceCommandError, "Failed on the phone", "error"),
    (e.OperationTimeout, "The phone did not answer", "error"),
    (e.DeviceError, "Phone unreachable", "error"),
    (e.NotFoundError, "Not found", "error"),
    (e.InvalidInputError, "Invalid input", "error"),
    (e.EnvironmentProblem, "This computer lacks something", "error"),
    (e.PartialFailureError, "Partly failed", "warning"),
    (e.WgdroidError, "Error", "error"),
)


@dataclass(frozen=True)
class Shown:
    title: str
    message: str
    severity: Severity

    def line(self) -> str:
        return f"{self.title}: {self.message}"


def describe(error: BaseException, doing: str | None = None) -> Shown:
    """Never a traceback: unexpected errors show only their type (a repr might hold a key)."""
    match = next(((t, s) for cls, t, s in _TITLES if isinstance(error, cls)), None)
    if match is not None and isinstance(error, e.WgdroidError):
        title, severity = match
        message = error.message + (f"\n{error.hint}" if error.hint else "")
    else:
        title, severity = "Internal error", "error"
        message = f"{type(error).__name__} (rerun with WGDROID_DEBUG=1 for details)"
    if doing:
        title = f"{doing}: {title}"
    return Shown(title, message, severity)
