"""stdout is for data, stderr for messages: the only writers the CLI uses.

Every message passes the redaction point (wgdroid.redact): it may quote a
config or a device's stderr. Data is written as given (`status` prints
public keys on purpose).

Either stream may be closed (`wgdroid list >&-`: Python's sys.stdout is then
None) or fail (`> /dev/full`). Data that cannot be written is an OutputError
(one line on stderr, exit 1, as a file that cannot be written); a message
that cannot be written is dropped: nothing can say it, and a closed stderr
must not turn a success into a failure. A reader that went away (`| head`)
stays a BrokenPipeError, which main ends quietly."""

from __future__ import annotations

import os
import sys

from wgdroid.errors import InvalidInputError, OutputError
from wgdroid.redact import redact

TYPE_CHECKING = False  # typing itself is not imported: wgdroid.lean says why
if TYPE_CHECKING:
    from typing import IO, Any, BinaryIO

PROG = "wgdroid"


def is_terminal(stream: IO[Any] | None) -> bool:
    """Whether `stream` (sys.stdin/sys.stdout, None when closed) is a terminal."""
    return stream is not None and stream.isatty()


def stdin_bytes() -> BinaryIO:
    """stdin as bytes; a closed one is said as such, not as an internal error."""
    if sys.stdin is None:
        raise InvalidInputError("stdin is closed")
    return sys.stdin.buffer


def raw(payload: str | bytes) -> None:
    """Write `payload` to stdout exactly as given, flushed."""
    stream = sys.stdout
    if stream is None:
        raise OutputError("cannot write to stdout: it is closed")
    try:
        if isinstance(payload, bytes):
            stream.buffer.write(payload)
        else:
            stream.write(payload)
        stream.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        discard_stdout()
        raise OutputError(f"cannot write to stdout: {exc.strerror or exc}") from None


def data(text: str) -> None:
    """Write data to stdout (one line or a block; a newline is added if missing)."""
    raw(text if text.endswith("\n") or not text else text + "\n")


def emit_json(obj: Any, *, indent: int | None = 2) -> None:
    """`obj` as JSON on stdout; indent None: on one line (a stream of documents)."""
    import json

    raw(json.dumps(obj, indent=indent, sort_keys=False) + "\n")


def discard_stdout() -> None:
    """Point fd 1 at /dev/null: what stays in the failed stream's buffer is
    flushed again when the interpreter exits, which would print an ignored
    exception and exit 120."""
    try:
        fd = sys.stdout.fileno()
        null = os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError, AttributeError):  # no real fd: nothing will retry
        return
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)


def _written(stream: IO[str] | None, text: str = "") -> bool:
    """`text` written to `stream` and flushed; False if it is closed or fails."""
    if stream is None:
        return False
    try:
        if text:
            stream.write(text)
        stream.flush()
    except OSError:
        return False
    return True


def _message(prefix: str, text: str) -> None:
    # stdout first: data and messages stay in order when both go to one
    # terminal (a stdout failure is data()'s or finish()'s to say).
    _written(sys.stdout)
    _written(sys.stderr, f"{prefix}{redact(text)}\n")


def error(text: str) -> None:
    _message(f"{PROG}: error: ", text)


def warning(text: str) -> None:
    _message(f"{PROG}: warning: ", text)


def note(text: str) -> None:
    _message(f"{PROG}: note: ", text)


def stderr_text(text: str) -> None:
    """Text for stderr exactly as given (argparse's usage and help)."""
    _written(sys.stderr, text)


def raw_stderr(text: str) -> None:
    """A message already in its final form, e.g. `FILE:LINE: message`."""
    _message("", text)


# A file that is no config at all (`wgdroid push README.md`) has a problem per
# line: the first ones say what is wrong; `--json` lists them all.
ISSUES_SHOWN = 20


def issue_lines(lines: list[str], source: str) -> None:
    """A config's problems (`FILE:LINE: ...`), the first ISSUES_SHOWN, then how many more."""
    for line in lines[:ISSUES_SHOWN]:
        raw_stderr(line)
    if len(lines) > ISSUES_SHOWN:
        note(f"{source}: {len(lines) - ISSUES_SHOWN} more problems not shown")


def finish(code: int) -> int:
    """The exit code once stdout is flushed: what argparse or a handler left
    in its buffer and cannot be written turns a success into OutputError's
    code (the reason on stderr); stderr's own failure changes nothing."""
    if sys.stdout is not None:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            discard_stdout()
        except OSError as exc:
            discard_stdout()
            if code == 0:
                failure = OutputError(f"cannot write to stdout: {exc.strerror or exc}")
                error(failure.message)
                code = failure.exit_code
    _written(sys.stderr)
    return code
