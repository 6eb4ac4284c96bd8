"""CLI promises that need a phone: keys in device stderr never reach the user,
`status --watch` ends cleanly when the adb server dies, global options before
the command, and `sim su --policy/--answer` as the README documents them."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import wait_until, wgdroid

from wgdroid.config import keys
from wgdroid.exit_codes import ExitCode

STORE = "/data/misc/wireguard"
pytestmark = pytest.mark.sim


def key_shaped() -> list[str]:
    """Tokens shaped like keys that are not valid keys: wg quotes them back."""
    b64 = keys.encode(secrets.token_bytes(32))
    return [b64[:-2] + "!=", secrets.token_hex(32), b64.replace("=", "") + "A="]


def no_leak(res: subprocess.CompletedProcess[str], token: str) -> None:
    for stream in (res.stdout, res.stderr):
        assert token not in stream and token[:40] not in stream, stream


# The hook below runs only where the Linux wg-quick does: a phone whose rules
# still look up `main` (the simulator's kinder one; Android's refuse hooks).
@pytest.mark.parametrize("sim_phone", [{"android_net": False}], indirect=True)
def test_keys_in_device_stderr_never_reach_the_user(sim_phone: Any, tmp_path: Path) -> None:
    serial = sim_phone.serial
    demo = sim_phone.run_in_phone(f"cat {STORE}/demo.conf").stdout.decode()
    for token in key_shaped():
        # A stored config with a damaged PrivateKey: wg's own error quotes it.
        broken = "\n".join(f"PrivateKey = {token}" if line.startswith("PrivateKey") else line
                           for line in demo.splitlines()) + "\n"
        put = sim_phone.run_in_phone(f"cat > {STORE}/leak.conf && chmod 600 {STORE}/leak.conf",
                                     input=broken.encode())
        assert put.status == 0
        for argv in (["enable", "leak"], ["enable", "leak", "--json"], ["pull", "leak", "-o",
                     str(tmp_path / "leak.conf"), "--force"], ["status"], ["list", "--json"]):
            res = wgdroid(*argv, "-s", serial)
            no_leak(res, token)
        assert res.returncode == 0  # list still works
        # A hook that prints a key on stderr, then fails (the Linux wg-quick runs it).
        hooked = tmp_path / "hooked.conf"
        hooked.write_text(demo.replace("[Peer]", f"PostUp = echo {token} >&2; false\n\n[Peer]"))
        for extra in ([], ["--json"]):
            res = wgdroid("push", str(hooked), "--enable", "--allow-hooks", "-s", serial, *extra)
            assert res.returncode == ExitCode.COMMAND_FAILED, res.stderr
            no_leak(res, token)
            if extra:
                assert json.loads(res.stdout)["error"]["exit_code"] == ExitCode.COMMAND_FAILED
    assert sim_phone.run_in_phone("ip link show hooked").status != 0


def test_options_before_the_command_as_adb(sim_phone: Any) -> None:
    before = wgdroid("-s", sim_phone.serial, "list")
    after = wgdroid("list", "-s", sim_phone.serial)
    assert before.returncode == after.returncode == 0, before.stderr + after.stderr
    assert before.stdout == after.stdout == "demo\tdown\n"
    port = os.environ["ANDROID_ADB_SERVER_PORT"]
    env_free = dict(os.environ, ANDROID_ADB_SERVER_PORT="1")  # only -P can find the server
    res = subprocess.run([sys.executable, "-m", "wgdroid", "-P", port, "-H", "127.0.0.1",
                          "-s", sim_phone.serial, "list"], env=env_free, capture_output=True,
                         text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert res.returncode == 0 and res.stdout == "demo\tdown\n", res.stderr


def test_bad_root_timeout_from_the_environment(sim_phone: Any) -> None:
    env = dict(os.environ, WGDROID_ROOT_TIMEOUT="nan")
    res = subprocess.run([sys.executable, "-m", "wgdroid", "list", "-s", sim_phone.serial],
                         env=env, capture_output=True, text=True, timeout=60,
                         stdin=subprocess.DEVNULL)
    assert res.returncode == ExitCode.USAGE and "WGDROID_ROOT_TIMEOUT" in res.stderr, res.stderr


def test_sim_su_policy_and_answer(sim_phone: Any) -> None:
    serial = sim_phone.serial
    assert wgdroid("sim", "su", serial, "--policy", "pending", "--timeout", "30").returncode == 0
    waiting = subprocess.Popen([sys.executable, "-m", "wgdroid", "list", "-s", serial,
                                "--root-timeout", "30"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        # Tap Grant once the prompt is there (answering earlier answers nothing).
        wait_until(lambda: wgdroid("sim", "su", serial, "--answer", "grant").stderr,
                   check=lambda said: "answered 1 pending prompt" in said, timeout=30,
                   what="a pending su prompt to answer")
        out, err = waiting.communicate(timeout=60)
    finally:
        waiting.kill()
    assert waiting.returncode == 0, err
    assert out == "demo\tdown\n"
    assert wgdroid("sim", "su", serial, "--policy", "deny").returncode == 0
    assert wgdroid("list", "-s", serial).returncode == ExitCode.NO_ROOT
    assert wgdroid("sim", "su", serial, "--policy", "grant").returncode == 0
    assert wgdroid("sim", "su", serial).returncode == ExitCode.USAGE  # one of the two


def _watch_until_adb_dies(serial: str, *options: str) -> tuple[int, str, str, str]:
    """`status --watch` (with OPTIONS) through a private adb server that is
    killed once the first poll is out: (exit code, first line, the rest of
    stdout, stderr)."""
    adb = shutil.which("adb") or "adb"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    env = dict(os.environ, ANDROID_ADB_SERVER_PORT=port)
    subprocess.run([adb, "start-server"], env=env, capture_output=True, check=True, timeout=30)
    try:
        subprocess.run([adb, "connect", serial], env=env, capture_output=True,
                       check=True, timeout=30)
        watch = subprocess.Popen(
            [sys.executable, "-m", "wgdroid", "status", "--watch", *options, "--interval",
             "0.3", "-s", serial], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
        assert watch.stdout is not None
        first = watch.stdout.readline()  # the first poll went through
        subprocess.run([adb, "kill-server"], env=env, capture_output=True, timeout=30)
        rest, err = watch.communicate(timeout=60)
    finally:
        subprocess.run([adb, "kill-server"], env=env, capture_output=True, timeout=30)
    return watch.returncode, first, rest, err


def test_status_watch_ends_cleanly_when_the_adb_server_dies(sim_phone: Any) -> None:
    code, first, _, err = _watch_until_adb_dies(sim_phone.serial)
    assert first.startswith("no tunnel is up"), first
    assert code == ExitCode.DEVICE, err
    lines = err.strip().splitlines()
    assert lines and all(line.startswith("wgdroid: ") for line in lines), err
    assert "daemon" not in err and "Traceback" not in err


def test_status_watch_json_is_one_document_a_line_to_its_error(sim_phone: Any) -> None:
    """`status --watch --json` writes a JSON document a line; the error that
    ends it came as an indented document over nine lines, which a reader of
    the stream (`| while read -r line`) could not parse."""
    code, first, rest, err = _watch_until_adb_dies(sim_phone.serial, "--json")
    assert code == ExitCode.DEVICE, err
    docs = [json.loads(line) for line in (first + rest).splitlines()]
    assert docs[0]["devices"][0]["serial"] == sim_phone.serial
    assert docs[-1]["error"]["exit_code"] == ExitCode.DEVICE


def test_a_tunnel_named_as_the_phones_own_interface_leaves_it_alone(
        sim_phone: Any, tmp_path: Path) -> None:
    """`push FILE --name eth0` took the phone's uplink for a running tunnel
    and restarted it: eth0 was deleted. An interface that is no tunnel is
    refused by name (exit 8, nothing stored) and stays."""
    serial = sim_phone.serial
    conf = tmp_path / "x.conf"
    conf.write_text(sim_phone.run_in_phone(f"cat {STORE}/demo.conf").stdout.decode())
    for argv in (["push", str(conf), "--name", "eth0"],
                 ["push", str(conf), "--name", "eth0", "--enable", "--json"],
                 ["rename", "demo", "eth0"]):
        res = wgdroid(*argv, "-s", serial)
        assert res.returncode == ExitCode.CONFLICT, (argv, res.stderr)
        assert "network interface named 'eth0'" in res.stderr, res.stderr
    assert wgdroid("disable", "eth0", "-s", serial).returncode == ExitCode.NOT_FOUND
    assert sim_phone.run_in_phone("ip link show eth0").status == 0
    assert wgdroid("list", "-s", serial).stdout == "demo\tdown\n"
