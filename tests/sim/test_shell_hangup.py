"""What happens to a shell whose adb stream the host closes (e.g. the adb CLI
got SIGINT): adbd (packages/modules/adb daemon/shell_service.cpp) sends it
SIGHUP and closes its stdio, never SIGKILL; a trap runs, a shell ignoring
SIGHUP goes on."""

from __future__ import annotations

import signal
import subprocess
from typing import Any

import pytest
from support import wait_until

pytestmark = pytest.mark.sim

TMP = "/data/local/tmp"


def _file(sim_phone: Any, path: str) -> str | None:
    res = sim_phone.run_in_phone(["cat", path])
    return res.stdout.decode() if res.status == 0 else None


def _adb_shell(sim_phone: Any, script: str) -> subprocess.Popen[bytes]:
    """The adb CLI's `shell` (shell protocol v2, no pty: stdin is not a tty)."""
    sim_phone.run_in_phone(f"rm -f {TMP}/v1.* {TMP}/v2.* {TMP}/ign.*")
    return subprocess.Popen(
        [sim_phone.server.adb_path, "-s", sim_phone.serial, "shell", script],
        env=sim_phone.server.env,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _close_when_started(sim_phone: Any, proc: subprocess.Popen[bytes], tag: str) -> None:
    try:
        wait_until(lambda: _file(sim_phone, f"{TMP}/{tag}.started"), timeout=15,
                   what=f"the {tag} shell to start")
    finally:
        proc.send_signal(signal.SIGKILL)  # the adb server closes the stream
        proc.wait()


def test_a_closed_v2_stream_hangs_the_shell_up(sim_phone: Any) -> None:
    trap = (f"trap 'echo hup > {TMP}/v2.hup; exit 3' HUP; echo $$ > {TMP}/v2.started; "
            "while :; do sleep 0.2; done")
    _close_when_started(sim_phone, _adb_shell(sim_phone, trap), "v2")
    wait_until(lambda: _file(sim_phone, f"{TMP}/v2.hup"), timeout=10,
               what="the shell's HUP trap (SIGKILL would give it none)")
    # A shell that ignores SIGHUP is not killed: it finishes its work.
    ignore = (f"trap '' HUP; echo $$ > {TMP}/ign.started; sleep 1; "
              f"echo done > {TMP}/ign.done")
    _close_when_started(sim_phone, _adb_shell(sim_phone, ignore), "ign")
    assert wait_until(lambda: _file(sim_phone, f"{TMP}/ign.done"), timeout=10,
                      what="the shell ignoring SIGHUP to finish") == "done\n"


def test_a_closed_v1_stream_hangs_the_shell_up(sim_phone: Any) -> None:
    sim_phone.run_in_phone(f"rm -f {TMP}/v1.*")
    conn = sim_phone.adb.shell(
        f"trap 'echo hup > {TMP}/v1.hup; exit 3' HUP; echo $$ > {TMP}/v1.started; "
        "while :; do sleep 0.2; done", stream=True)
    try:
        wait_until(lambda: _file(sim_phone, f"{TMP}/v1.started"), timeout=15,
                   what="the v1 shell to start")
    finally:
        conn.close()
    wait_until(lambda: _file(sim_phone, f"{TMP}/v1.hup"), timeout=10,
               what="the v1 shell's HUP trap")
