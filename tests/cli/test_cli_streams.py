"""stdout and stderr that are closed (`>&-`) or full (`> /dev/full`): one
line on stderr and exit 1 (an output that cannot be written, as a file that
cannot be), never a traceback; a closed stderr does not turn a success into a
failure. Real processes: the point is the process's own file descriptors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import wgdroid_main

from wgdroid.exit_codes import ExitCode

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
GOOD = str(CONFIGS / "full-tunnel.conf")


def sh(redirect: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`wgdroid ARGS REDIRECT` through sh, so the redirection (`>&-`, `>
    /dev/full`, `2>&-`, `<&-`) is the child's own; what a stream still open
    says is captured."""
    script = f'exec "$@" {redirect}'
    return subprocess.run(["sh", "-c", script, "sh", sys.executable, "-m", "wgdroid", *args],
                          capture_output=True, text=True, timeout=60, cwd=cwd,
                          env=dict(os.environ))


def says_output_error(res: subprocess.CompletedProcess[str], reason: str) -> None:
    assert res.returncode == ExitCode.INVALID, res.stderr
    assert res.stderr == f"wgdroid: error: cannot write to stdout: {reason}\n", res.stderr


def test_a_closed_or_full_stdout_is_one_line_and_exit_1() -> None:
    assert wgdroid_main("check", GOOD).returncode == 0
    for args in (("genkey",), ("check", GOOD, "--json"), ("--version",),
                 ("--help",), ("strip", GOOD), ("qr", GOOD)):
        says_output_error(sh(">&-", *args), "it is closed")
        says_output_error(sh(">/dev/full", *args), "No space left on device")


def test_a_closed_stderr_or_stdin() -> None:
    ok = sh("2>&-", "check", GOOD, "--json")
    assert ok.returncode == 0 and '"valid": true' in ok.stdout
    usage = sh("2>&-", "check", GOOD, "--no-such-flag")
    assert (usage.returncode, usage.stdout) == (ExitCode.USAGE, "")  # usage not moved to stdout
    missing = sh("2>&-", "check", "nope.conf")
    assert missing.returncode == ExitCode.NOT_FOUND
    closed = sh("<&-", "pubkey")
    assert (closed.returncode, closed.stderr) == (ExitCode.INVALID,
                                                  "wgdroid: error: stdin is closed\n")


def test_a_reader_that_went_away_is_not_an_error() -> None:
    """`wgdroid ... | head`: as before, exit 0 and nothing said (help too)."""
    for args in (("--help",), ("genkey",)):
        proc = subprocess.Popen([sys.executable, "-m", "wgdroid", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        proc.stdout.close()  # gone before wgdroid writes anything
        _, err = proc.communicate(timeout=60)
        assert (proc.returncode, err) == (0, ""), args


@pytest.mark.sim
def test_list_to_a_closed_or_full_stdout_and_a_closed_stderr(sim_phone: Any) -> None:
    serial = sim_phone.serial
    for args in (("list",), ("list", "--json")):
        says_output_error(sh(">&-", *args, "-s", serial), "it is closed")
        says_output_error(sh(">/dev/full", *args, "-s", serial), "No space left on device")
    quiet = sh("2>&-", "list", "-s", serial)
    assert (quiet.returncode, quiet.stdout) == (0, "demo\tdown\n")


@pytest.mark.parametrize("command", ["check", "strip", "push"])
def test_a_file_that_is_no_config_at_all_is_not_a_flood(tmp_path: Path, command: str) -> None:
    """`wgdroid push README.md` printed one line per line of the file: 20001
    lines for 128 KiB of text. The first problems, then how many more (--json
    lists them all)."""
    notes = tmp_path / "notes.conf"
    notes.write_text("".join(f"line {i}\n" for i in range(20000)))
    res = wgdroid_main(command, str(notes), "-s", "nosuch") if command == "push" else (
        wgdroid_main(command, str(notes)))
    assert res.returncode == ExitCode.INVALID
    lines = res.stderr.splitlines()
    assert len(lines) == 21, lines[-3:]
    assert lines[0].startswith(f"{notes}:1: ")
    assert lines[-1] == f"wgdroid: note: {notes}: 19981 more problems not shown", lines[-1]
    if command == "check":
        full = wgdroid_main(command, "--json", str(notes))
        assert len(full.stdout.split('"severity"')) == 20002  # every one
