"""The CLI run in the test's own process: `wgdroid.cli.main.main(argv)` as a
user's `wgdroid ARGS...` runs it (the same entry point; stdin, stdout and
stderr are pipes' worth of bytes, not terminals), without a new interpreter's
~0.2 s of imports.

For commands that need no device. A test about the process itself (its imports,
a file descriptor it checks, a FIFO that could block it) keeps starting one.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal, overload


def _stream(data: bytes = b"") -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", write_through=True)


def _text(data: bytes) -> str:
    """As subprocess.run(text=True) reads a pipe: decoded, universal newlines."""
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


@overload
def wgdroid_main(*args: str, cwd: Path | str | None = ..., stdin: bytes = ...,
                 text: Literal[True] = ...) -> subprocess.CompletedProcess[str]: ...


@overload
def wgdroid_main(*args: str, cwd: Path | str | None = ..., stdin: bytes = ...,
                 text: Literal[False]) -> subprocess.CompletedProcess[bytes]: ...


def wgdroid_main(*args: str, cwd: Path | str | None = None, stdin: bytes = b"",
                 text: bool = True) -> subprocess.CompletedProcess[Any]:
    """Run `wgdroid ARGS...` in-process; the result reads like `subprocess.run`'s
    (returncode: main's return value or the code of the SystemExit argparse raises)."""
    from wgdroid.cli.main import main

    out, err, given = _stream(), _stream(), _stream(stdin)
    with contextlib.ExitStack() as stack:
        if cwd is not None:
            stack.enter_context(contextlib.chdir(cwd))
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        saved_stdin, sys.stdin = sys.stdin, given
        stack.callback(setattr, sys, "stdin", saved_stdin)
        try:
            code: object = main(list(args))
        except SystemExit as e:
            code = e.code
    if code is None:
        code = 0
    elif not isinstance(code, int):  # SystemExit("message"): printed, exit 1
        err.write(f"{code}\n")
        code = 1
    raw_out, raw_err = (s.buffer.getvalue() for s in (out, err))  # type: ignore[attr-defined]
    if text:
        return subprocess.CompletedProcess(["wgdroid", *args], code, _text(raw_out),
                                           _text(raw_err))
    return subprocess.CompletedProcess(["wgdroid", *args], code, raw_out, raw_err)
