"""stdout is for data, stderr for messages: the only writers the CLI uses.

Every message passes the redaction point (wgdroid.redact): it may quote a
config or a device's stderr. Data is written as given (`status` prints
public keys on purpose)."""

from __future__ import annotations

import sys

from wgdroid.redact import redact

TYPE_CHECKING = False  # typing itself is not imported: wgdroid.lean says why
if TYPE_CHECKING:
    from typing import Any

PROG = "wgdroid"


def data(text: str) -> None:
    """Write data to stdout (one line or a block; a newline is added if missing)."""
    sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    sys.stdout.flush()


def emit_json(obj: Any) -> None:
    import json

    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=False) + "\n")
    sys.stdout.flush()


def _message(prefix: str, text: str) -> None:
    sys.stdout.flush()  # keep data and messages in order when both go to one terminal
    sys.stderr.write(f"{prefix}{redact(text)}\n")
    sys.stderr.flush()


def error(text: str) -> None:
    _message(f"{PROG}: error: ", text)


def warning(text: str) -> None:
    _message(f"{PROG}: warning: ", text)


def note(text: str) -> None:
    _message(f"{PROG}: note: ", text)


def raw_stderr(text: str) -> None:
    """A message already in its final form, e.g. `FILE:LINE: message`."""
    _message("", text)
