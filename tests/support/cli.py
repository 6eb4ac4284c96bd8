"""The CLI run in the test's own process: `wgdroid.cli.main.main(argv)` as a
user's `wgdroid ARGS...` runs it (the same entry point, stdin empty, stdout and
stderr captured apart), without a new interpreter's ~0.2 s of imports.

For commands that need no device: a test about the process itself (its
imports, signals, a file that could block) keeps starting one.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path


def wgdroid_main(*args: str, cwd: Path | str | None = None
                 ) -> subprocess.CompletedProcess[str]:
    """Run `wgdroid ARGS...` in-process; the result reads like `subprocess.run`'s
    (returncode: main's return value or the SystemExit code argparse raises)."""
    from wgdroid.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.ExitStack() as stack:
        if cwd is not None:
            stack.enter_context(contextlib.chdir(cwd))
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        saved_stdin, sys.stdin = sys.stdin, io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
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
    return subprocess.CompletedProcess(["wgdroid", *args], code, out.getvalue(),
                                       err.getvalue())
