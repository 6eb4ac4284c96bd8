"""What is wrong with a config, where: file, line, section and key.

Reasons follow the official Android app's taxonomy (BadConfigException), so
messages read the same whichever tool a user came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from wgdroid.errors import InvalidInputError
from wgdroid.redact import redact


class Reason(StrEnum):
    INVALID_KEY = "invalid_key"
    INVALID_NUMBER = "invalid_number"
    INVALID_VALUE = "invalid_value"
    MISSING_ATTRIBUTE = "missing_attribute"
    MISSING_SECTION = "missing_section"
    SYNTAX_ERROR = "syntax_error"
    UNKNOWN_ATTRIBUTE = "unknown_attribute"
    UNKNOWN_SECTION = "unknown_section"
    DUPLICATE = "duplicate"
    DIALECT = "dialect"  # valid somewhere, not for the chosen wg-quick
    NOT_TEXT = "not_text"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class ConfigIssue:
    file: str
    line: int
    message: str
    reason: Reason
    section: str | None = None  # "Interface" or "Peer"
    key: str | None = None
    severity: Severity = Severity.ERROR

    def __post_init__(self) -> None:
        # Parser messages quote the file: the redaction point sees them first.
        object.__setattr__(self, "message", redact(self.message))

    def format(self) -> str:
        """`wg0.conf:7: [Peer] AllowedIPs: '10.0.0.300/32' is not an IP network`."""
        where = f"{self.file}:{self.line}: "
        if self.severity is Severity.WARNING:
            where += "warning: "
        if self.section:
            where += f"[{self.section}] "
        if self.key:
            where += f"{self.key}: "
        return where + self.message

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "section": self.section,
            "key": self.key,
            "severity": self.severity.value,
            "reason": self.reason.value,
            "message": self.message,
        }


class ConfigError(InvalidInputError):
    """A config failed validation; carries every issue found, each with file and line."""

    def __init__(
        self, issues: Sequence[ConfigIssue], warnings: Sequence[ConfigIssue] = ()
    ) -> None:
        self.issues = list(issues)
        self.warnings = list(warnings)
        first = self.issues[0].format() if self.issues else "invalid config"
        more = len(self.issues) - 1
        super().__init__(first + (f" (and {more} more)" if more > 0 else ""))

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "issues": [i.to_json() for i in self.issues]}
