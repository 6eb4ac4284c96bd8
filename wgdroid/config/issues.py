"""What is wrong with a config, where: file, line, section and key.

Reasons follow the official Android app's taxonomy (BadConfigException), so
messages read the same whichever tool a user came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


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
