"""The phone scripts themselves: shellcheck on every file, then each
function run by mksh (with toybox) and dash against a scratch phone
(conftest.py's `sh_phone`). Through the simulated phone they run again in
tests/device/test_device_sim.py."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from phone_sh import Ran, ShPhone
from support import wait_until
from wg_dump import DUMP, PEER1, PEER2, PRIV, PSK, PUB

from wgdroid.device import script as sc
from wgdroid.device import store, tools
from wgdroid.device.failures import error_for
from wgdroid.device.status import parse_status_output
from wgdroid.errors import OperationTimeout

SH_DIR = Path(str(resources.files("wgdroid.device.sh")))
SH_FILES = sorted(SH_DIR.glob("*.sh"))


def test_every_file_is_shellcheck_clean() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None and os.environ.get("CI") != "true":
        pytest.skip("needs shellcheck (scripts/setup installs it)")
    assert shellcheck is not None and len(SH_FILES) >= 8
    res = subprocess.run([shellcheck, "-s", "sh", *map(str, SH_FILES)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_every_file_says_what_it_needs() -> None:
    names = {p.stem for p in SH_FILES}
    for path in SH_FILES:
        assert set(sc.needs(path.stem)) <= names, path.name
    assert sc.with_needs(["store"]) == ["lib", "android", "dialect", "tunnel", "net", "store"]


def test_scripts_stay_small_enough_for_one_adb_request() -> None:
    # adb's smart-socket request carries the command with a 4-hex-digit length:
    # the biggest request is a script wrapped in the root detector (quoted),
    # and it keeps a good margin under 0xFFFF.
    from wgdroid.device.rootshell import detecting_command

    biggest = max(
        len(detecting_command(sc.Script(m).render(), stdin=True))
        for m in ("store", "tools", "status", "doctor", "tunnel", "boot")
    )
    assert biggest < 40_000


def test_call_lines_quote_every_argument() -> None:
    text = sc.Script("store").call("op_pull", "a'b $(id)").render()
    assert text.endswith("op_pull 'a'\"'\"'b $(id)'\n")
    with pytest.raises(ValueError, match="no function"):
        sc.Script("store").call("op_nosuch")
    with pytest.raises(ValueError, match="no function"):
        sc.Script("store").call("rm -rf /")


# -- lib.sh -----------------------------------------------------------------------


def test_records_join_fields_with_tabs(sh_phone: ShPhone) -> None:
    ran = sh_phone.lines("lib", "rec tunnel 'a b' 10 '' 1 app 0", "rec nosuch x",
                         "step 'wg-quick up'")
    assert ran.returncode == 0, ran.err
    assert ran.kinds("tunnel") == [("a b", "10", "", "1", "app", "0")]
    assert [r.kind for r in ran.records] == ["tunnel"]  # unknown kinds are not ours
    assert ran.stderr.steps == ["wg-quick up"]


def test_fail_stops_with_a_kind_and_values(sh_phone: ShPhone) -> None:
    hostile = "it's $(touch pwned) `id` \"q\" \\ ;"
    ran = sh_phone.lines("lib", f"fail write {sc.q(hostile)} second", "echo unreachable")
    assert ran.returncode == sc.TAG_EXIT and "unreachable" not in ran.out
    assert ran.stderr.tags == [sc.Tag("write", (hostile, "second"))]
    assert ran.stderr.granted and ran.stderr.lines == []
    assert not (sh_phone.root / "pwned").exists()


def test_not_root_is_refused_before_anything(sh_phone: ShPhone) -> None:
    # A real uid other than 0 (as_root reads it from /proc, not from `id`):
    # a user namespace without a mapping runs the shell as 65534.
    sh_phone.prefix = ["unshare", "--user"]
    ran = sh_phone.lines("lib", "echo ran")
    assert ran.returncode == sc.NOT_ROOT_EXIT and "ran" not in ran.out
    assert sc.NOT_ROOT_TAG in ran.err and not ran.stderr.granted


def test_without_proc_the_uid_comes_from_id(sh_phone: ShPhone) -> None:
    # /proc/$$/status unreadable (a tmpfs over /proc in a mount namespace of
    # this run's own): as_root asks `id -u`, here a fake that logs its calls.
    log = sh_phone.ctl / "id.log"
    sh_phone.fake("id", f'echo "$*" >> {log}\ncat {sh_phone.ctl}/uid\n')
    sh_phone.knob("uid", "2000\n")
    ran = sh_phone.lines("lib", "echo ran")
    assert ran.returncode == 0 and "ran" in ran.out and ran.stderr.granted, ran.err
    assert not log.exists()  # /proc answered: no id process
    unshare, mount = shutil.which("unshare"), shutil.which("mount")
    if unshare is None or mount is None:
        pytest.skip("needs unshare and mount")
    outer = sh_phone.prefix or [unshare]
    sh_phone.prefix = [*outer, "--mount", "/bin/sh", "-c",
                       f'{mount} -t tmpfs none /proc && exec "$@"', "without-proc"]
    ran = sh_phone.lines("lib", "echo ran")
    assert ran.returncode == sc.NOT_ROOT_EXIT and "ran" not in ran.out, ran.err
    assert sc.NOT_ROOT_TAG in ran.err and not ran.stderr.granted
    sh_phone.knob("uid", "0\n")
    ran = sh_phone.lines("lib", "echo ran")
    assert ran.returncode == 0 and "ran" in ran.out and ran.stderr.granted, ran.err
    assert log.read_text() == "-u\n-u\n"


def test_epoch_is_the_clock_with_an_inherited_epochrealtime(sh_phone: ShPhone) -> None:
    # Only mksh's EPOCHREALTIME is its clock; dash would take an inherited
    # one as it is, frozen (remaining() would never go down).
    env = shutil.which("env")
    assert env is not None
    sh_phone.prefix = [*sh_phone.prefix, env, "EPOCHREALTIME=123.4"]
    before = int(time.time())
    ran = sh_phone.lines("lib", 'echo "inherited=$EPOCHREALTIME"', "epoch", 'echo "epoch=$EPOCH"')
    after = int(time.time())
    assert ran.returncode == 0, ran.err
    if sh_phone.flavour == "dash":  # the inheritance is real
        assert "inherited=123.4\n" in ran.out
    epoch = int(ran.out.split("epoch=")[1])
    assert before <= epoch <= after


@pytest.mark.parametrize("ending", ["exit 0", "fail write x", "kill -TERM $$", "kill -HUP $$",
                                    "kill -INT $$"])
def test_temp_files_go_however_the_script_ends(sh_phone: ShPhone, ending: str) -> None:
    tmp = sh_phone.root / "secret.tmp"
    ran = sh_phone.lines("lib", f"temp {tmp}", f"echo key > {tmp}", ending, "echo after")
    assert ran.returncode != 0 or ending == "exit 0"
    assert "after" not in ran.out
    assert not tmp.exists()


def test_bounded_stops_a_step_and_says_its_bound(sh_phone: ShPhone) -> None:
    start = time.monotonic()
    ran = sh_phone.lines("lib", 'bounded "sleepy step" sleep 30; echo "rc=$? bound=$BOUND"',
                         budget=10)  # a budget of 5 s: 2 s for the step, 3 kept for clean-up
    took = time.monotonic() - start
    # 1 when a second ticked over between `setup` and the step (date +%s)
    assert ran.out.strip() in ("rc=124 bound=2", "rc=124 bound=1"), ran.err
    assert ran.stderr.steps == ["sleepy step"] and took < 15
    spent = sh_phone.lines("lib", "DEADLINE=$(date +%s)", 'bounded late true; echo "rc=$?"')
    assert spent.failure == sc.Tag("timeout", ("late", "0")) and "rc=" not in spent.out


def test_sweep_removes_only_temp_files_of_dead_scripts(sh_phone: ShPhone) -> None:
    live = subprocess.Popen(["sleep", "30"])
    dead = subprocess.Popen(["true"])
    dead.wait()
    try:
        d = sh_phone.root / "d"
        d.mkdir()
        for suffix in (str(live.pid), str(dead.pid), "notapid"):
            (d / f".wg0.conf.tmp.{suffix}").write_text("key")
        ran = sh_phone.lines("lib", f"sweep {d} .wg0.conf.tmp.")
        assert ran.returncode == 0, ran.err
        left = sorted(p.name for p in d.iterdir())
        assert left == sorted([f".wg0.conf.tmp.{live.pid}", ".wg0.conf.tmp.notapid"])
    finally:
        live.kill()
        live.wait()


@contextlib.contextmanager
def held(sh_phone: ShPhone, name: str) -> Iterator[None]:
    """Another process holding NAME's lock (flock(2), as the scripts take it)."""
    lock_dir = Path(sh_phone.layout.state_dir) / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / f"{name}.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def test_locked_waits_bounded_then_says_busy(sh_phone: ShPhone) -> None:
    with held(sh_phone, "wg0"):
        start = time.monotonic()
        ran = sh_phone.lines("lib", "locked wg0 echo inside")
        assert ran.failure == sc.Tag("busy", ("wg0", "1")) and "inside" not in ran.out
        assert 0.9 < time.monotonic() - start < 10
        other = sh_phone.lines("lib", "locked wg1 echo inside")
        assert other.out == "inside\n", other.err  # one lock per tunnel
    again = sh_phone.lines("lib", "locked wg0 echo inside")
    assert again.out == "inside\n", again.err


def test_locked_holds_the_lock_until_the_script_ends(sh_phone: ShPhone) -> None:
    mark = sh_phone.root / "first-inside"
    sh_phone.constants["LOCK_WAIT"] = "10"  # the second waits out the first's second
    first = subprocess.Popen(
        [*sh_phone.prefix, sh_phone.shell, "-c", sh_phone.script("lib").render()
         + f"locked wg0 sh -c ': > {mark}; sleep 1'\necho first-done\n"],
        env={"PATH": sh_phone.path}, stdout=subprocess.PIPE,
    )
    wait_until(mark.exists, timeout=10, interval=0.02, what=f"{mark} (the first holds the lock)")
    ran = sh_phone.lines("lib", "locked wg0 echo second")
    out, _ = first.communicate(timeout=20)
    assert out == b"first-done\n" and ran.out == "second\n", ran.err
    # two names are taken in order, so `rename a b` and `rename b a` can't deadlock
    both = sh_phone.lines("lib", "locked a locked b echo both")
    assert both.out == "both\n"


def test_mkdir_lock_where_there_is_no_flock(sh_phone: ShPhone) -> None:
    path = sh_phone.without("flock")
    lock = Path(sh_phone.layout.state_dir) / "locks" / "wg0.d"
    lock.mkdir(parents=True)
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        (lock / "pid").write_text(f"{sleeper.pid}\n")
        busy = sh_phone.lines("lib", "locked wg0 echo inside", path=path)
        assert busy.failure == sc.Tag("busy", ("wg0", "1"))
    finally:
        sleeper.kill()
        sleeper.wait()
    # its holder died: the lock is broken, taken, and gone with the script
    ran = sh_phone.lines("lib", "locked wg0 echo inside", path=path)
    assert ran.out == "inside\n", ran.err
    assert not lock.exists()


# -- dialect.sh -------------------------------------------------------------------


def test_wg_dialect(sh_phone: ShPhone) -> None:
    b = sh_phone.root / "system" / "bin"
    shutil.copy("/bin/true", b / "elf")
    (b / "ndc").write_text("#!/system/bin/sh\nndc network create x\n")
    (b / "bash").write_text("#!/bin/bash\nip link add x\n")
    cases = {"elf": "android", "ndc": "android", "bash": "linux", "missing": "none"}
    for name, want in cases.items():
        ran = sh_phone.lines("dialect", f"wg_dialect {b}/{name}")
        assert ran.out.strip() == want, (name, ran.err)
    assert sh_phone.lines("dialect", "wg_dialect ''").out.strip() == "linux"  # the fake's


def test_dialect_guard_reads_stdin_away_then_refuses(sh_phone: ShPhone) -> None:
    ran = sh_phone.lines("dialect", "dialect_guard 1 0", "echo after", stdin=b"x" * 300_000)
    assert ran.kinds("dialect") == [("linux",)] and "after" not in ran.out
    assert ran.failure == sc.Tag("dialect", ("linux",))
    ok = sh_phone.lines("dialect", "dialect_guard 0 1", "echo after")
    assert ok.out.endswith("after\n") and ok.failure is None


# -- tunnel.sh --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("conf", "port"),
    [
        ("[Interface]\nListenPort = 51820\n", "51820"),
        ("[Interface]\n  listenport=1234 # comment\n", "1234"),
        ("[Interface]\nLISTENPORT\t=\t7\nListenPort = 9\n", "9"),
        ("[Interface]\n#ListenPort = 5\n", ""),
        ("[Interface]\nPrivateKey = x\n", ""),
    ],
)
def test_listen_port(sh_phone: ShPhone, conf: str, port: str) -> None:
    path = sh_phone.conf("lp", conf)
    assert sh_phone.lines("tunnel", f"listen_port {path}").out.strip() == port


def test_port_user_and_sock_dir(sh_phone: ShPhone) -> None:
    sh_phone.bring_up("ta", 51001)
    sh_phone.bring_up("tb", 51002)
    ran = sh_phone.lines("tunnel", "port_user 51002", "port_user 51003", "port_user 051001",
                         'sock_dir "$(command -v wg)"', "sock_dir /nonexistent")
    assert ran.out.split() == ["tb", "ta", f"{sh_phone.root}/run/wireguard",
                               "/var/run/wireguard"], ran.err


def test_forget_socket_removes_only_a_stale_one(sh_phone: ShPhone) -> None:
    run = sh_phone.root / "run" / "wireguard"
    run.mkdir(parents=True)
    for name in ("gone", "alive"):
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(run / f"{name}.sock"))
        s.close()
    sh_phone.bring_up("alive")
    ran = sh_phone.lines("tunnel", "forget_socket gone", "forget_socket alive")
    assert ran.returncode == 0, ran.err
    assert sorted(p.name for p in run.iterdir()) == ["alive.sock"]


@pytest.mark.parametrize(
    ("have", "want", "result"),
    [
        ({"wireguard-go"}, "auto", ("wireguard-go", "wireguard-go")),
        ({"kmod", "wireguard-go"}, "auto", ("kernel", "")),
        ({sc.USERSPACE_TOOL}, "auto", ("userspace", "USERSPACE")),
        (set(), "auto", "no-backend"),
        ({"wireguard-go", "android"}, "auto", "android-wgquick"),
        ({"kmod", "wireguard-go"}, "wireguard-go", "kmod-wins"),
        (set(), "kernel", "no-kmod"),
        (set(), "wireguard-go", "no-wireguard-go"),
        (set(), "userspace", "no-userspace"),
    ],
)
def test_pick_backend(sh_phone: ShPhone, have: set[str], want: str,
                      result: tuple[str, str] | str) -> None:
    if "kmod" in have:
        (sh_phone.root / "sys" / "module" / "wireguard").mkdir()
    for tool in have & {"wireguard-go", sc.USERSPACE_TOOL}:
        sh_phone.fake(tool, "exit 0\n")
    if "android" in have:
        shutil.copy("/bin/true", sh_phone.fakes / "wg-quick")
    ran = sh_phone.lines("tunnel", f"pick_backend {want}",
                         'echo "$BACKEND $WG_QUICK_USERSPACE_IMPLEMENTATION"')
    if isinstance(result, str):
        assert ran.failure is not None and ran.failure.kind == result, ran.err
    else:
        impl = result[1].replace("USERSPACE", str(sh_phone.fakes / sc.USERSPACE_TOOL))
        assert ran.out.split() == [result[0], *([impl] if impl else [])], ran.err


# `locks` is also the lock directory's name: its note used to be written onto
# that directory (and status guessed the backend).
@pytest.mark.parametrize("name", ["wg0", "locks"])
def test_enable_brings_up_and_notes_the_backend(sh_phone: ShPhone, name: str) -> None:
    sh_phone.fake("wireguard-go", "exit 0\n")
    sh_phone.conf(name, "[Interface]\nListenPort = 51820\n")
    ran = sh_phone.call("tunnel", "op_enable", name, "auto")
    assert ran.returncode == 0, ran.err
    assert ran.kinds("up") == [(name, "wireguard-go")] and sh_phone.is_up(name)
    note = (Path(sh_phone.layout.note_dir) / name).read_text().split()
    assert note[1:] == ["wireguard-go", "7"] and note[0].isdigit()
    assert f"[#] ip link add {name}" in ran.err  # wg-quick's stdout went to stderr
    again = sh_phone.call("tunnel", "op_enable", name, "auto")
    assert again.failure == sc.Tag("already-up", (name,)) and sh_phone.is_up(name)


def test_enable_refusals_run_nothing(sh_phone: ShPhone) -> None:
    sh_phone.fake("wireguard-go", "exit 0\n")
    sh_phone.bring_up("ta", 51001)
    sh_phone.conf("tc", "[Interface]\nListenPort = 51001\n")
    clash = sh_phone.call("tunnel", "op_enable", "tc", "auto")
    assert clash.failure == sc.Tag("port-clash", ("51001", "ta"))
    assert not sh_phone.is_up("tc") and "[#]" not in clash.err
    missing = sh_phone.call("tunnel", "op_enable", "nosuch", "auto")
    assert missing.failure == sc.Tag("not-found", ("nosuch",))
    (sh_phone.fakes / "wg-quick").unlink()
    tool = sh_phone.call("tunnel", "op_enable", "tc", "auto")
    assert tool.failure == sc.Tag("no-tool", ("wg-quick",))


@pytest.mark.parametrize(("lines", "bad"), [
    ("PrivateKey = IP/xe3A2Yl3MqImyTzqhzhf", ("3", "PrivateKey")),  # 23 chars of a real key
    (f"  presharedkey={PSK[:-2]}B=", ("3", "presharedkey")),  # 44 chars, not 32 bytes
    (f"PrivateKey = {PRIV}\n[Peer]\nPublicKey = {PEER1[:20]} {PEER1[20:]}", ("5", "PublicKey")),
    (f"PrivateKey\t=\t{PRIV}\r\n[Peer]\nPUBLICKEY = {PEER1} # ok\nPublicKey =",
     ("6", "PublicKey")),
])
def test_a_stored_key_that_wg_would_quote_is_refused_before_wg_runs(
        sh_phone: ShPhone, lines: str, bad: tuple[str, str]) -> None:
    """wg echoed the value it could not take (a part of a private key) in its error."""
    sh_phone.fake("wireguard-go", "exit 0\n")
    sh_phone.conf("bk", f"[Interface]\nListenPort = 1\n{lines}\n")
    ran = sh_phone.call("tunnel", "op_enable", "bk", "auto")
    assert ran.failure == sc.Tag("bad-key", ("bk", *bad)), ran.err
    assert "[#]" not in ran.err and not sh_phone.is_up("bk")  # wg-quick never ran
    for secret in ("IP/xe3A2Yl3MqImyTzqhzhf", PSK[:-2], PEER1[:20]):
        assert secret not in ran.err


def test_stored_keys_wg_takes_pass_the_check(sh_phone: ShPhone) -> None:
    sh_phone.fake("wireguard-go", "exit 0\n")
    sh_phone.conf("gk", f"[Interface]\n  privatekey={PRIV}  # mine\r\n[Peer]\n"
                        f"PublicKey\t=\t{PEER1}\nPresharedKey = {PSK}\n")
    ran = sh_phone.call("tunnel", "op_enable", "gk", "auto")
    assert ran.returncode == 0 and sh_phone.is_up("gk"), ran.err


def test_failed_up_removes_what_it_created_and_says_why(sh_phone: ShPhone) -> None:
    sh_phone.fake("wireguard-go", "exit 0\n")
    sh_phone.conf("boom")
    sh_phone.knob("up_fail", "hook-says-boom\n")
    run = sh_phone.root / "run" / "wireguard"
    run.mkdir(parents=True)
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(run / "boom.sock"))  # what a killed backend leaves
    s.close()
    ran = sh_phone.call("tunnel", "op_enable", "boom", "auto")
    assert ran.failure == sc.Tag("up-failed", ("boom",))
    assert "hook-says-boom" in sc.trimmed(ran.stderr.lines)
    assert not (sh_phone.net / "boom").exists() and not (run / "boom.sock").exists()


def test_up_that_hangs_is_bounded_and_cleaned_up(sh_phone: ShPhone) -> None:
    sh_phone.fake("wireguard-go", "exit 0\n")
    sh_phone.conf("slow")
    sh_phone.knob("up_sleep", "60")
    start = time.monotonic()
    ran = sh_phone.call("tunnel", "op_enable", "slow", "auto", budget=10)
    assert ran.failure is not None and ran.failure.kind == "timeout", ran.err
    assert ran.failure.values[0] == "wg-quick up" and ran.failure.values[1] in ("1", "2")
    assert time.monotonic() - start < 20
    assert not (sh_phone.net / "slow").exists()


def test_disable(sh_phone: ShPhone) -> None:
    sh_phone.conf("wg0")
    sh_phone.bring_up("wg0")
    (Path(sh_phone.layout.note_dir)).mkdir(parents=True)
    (Path(sh_phone.layout.note_dir) / "wg0").write_text("1 kernel 7\n")
    ran = sh_phone.call("tunnel", "op_disable", "wg0")
    assert ran.kinds("down") == [("wg0",)] and not sh_phone.is_up("wg0"), ran.err
    assert not (Path(sh_phone.layout.note_dir) / "wg0").exists()
    noop = sh_phone.call("tunnel", "op_disable", "wg0")
    assert noop.returncode == 0 and noop.kinds("down") == []
    nosuch = sh_phone.call("tunnel", "op_disable", "nosuch")
    assert nosuch.failure == sc.Tag("not-found", ("nosuch",))
    sh_phone.bring_up("orphan")  # up without a config: still taken down
    orphan = sh_phone.call("tunnel", "op_disable", "orphan")
    assert orphan.kinds("down") == [("orphan",)] and not sh_phone.is_up("orphan")


def test_an_interface_that_is_no_tunnel_is_never_taken_down(sh_phone: ShPhone) -> None:
    """A tunnel name that is also one of the phone's own interfaces (wlan0,
    rmnet_data0, another VPN's tun0) is not a tunnel that is up: push, enable,
    disable and rename refuse it by name (`iface-taken`) and never delete it
    (`push --name eth0` used to delete a simulated phone's uplink)."""
    sh_phone.fake("wireguard-go", "exit 0\n")
    (sh_phone.net / "wlan0").mkdir()  # the kernel has it; wg does not know it
    sh_phone.conf("wlan0")  # e.g. in the store from before, or the app's folder
    sh_phone.conf("other")
    data = b"[Interface]\nPrivateKey = k\n"
    refused = {
        "disable": sh_phone.call("tunnel", "op_disable", "wlan0"),
        "enable": sh_phone.call("tunnel", "op_enable", "wlan0", "auto"),
        "push": _push(sh_phone, "wlan0", data),
        "push --enable": _push(sh_phone, "wlan0", data, enable="auto"),
        "push --restart": _push(sh_phone, "wlan0", data, restart=True),
        "rename": sh_phone.call("store", "op_rename", "other", "wlan0", 1),
    }
    for what, ran in refused.items():
        assert ran.failure == sc.Tag("iface-taken", ("wlan0",)), (what, ran.err)
    assert (sh_phone.net / "wlan0").is_dir()
    ip_log = sh_phone.ctl / "ip.log"
    assert "wlan0" not in (ip_log.read_text() if ip_log.exists() else "")
    assert (sh_phone.store / "wlan0.conf").read_text() != data.decode()  # the old one kept
    assert (sh_phone.store / "other.conf").exists()


def test_disable_waits_for_a_slow_interface_to_go(sh_phone: ShPhone) -> None:
    """wg-quick down of a userspace tunnel with thousands of peers can fail
    or return before the interface is gone: the state decides, not its exit."""
    sh_phone.conf("many")
    sh_phone.bring_up("many")
    sh_phone.knob("down_lag", "0.5")
    ran = sh_phone.call("tunnel", "op_disable", "many")
    assert ran.returncode == 0 and ran.kinds("down") == [("many",)], ran.err
    assert not sh_phone.is_up("many")
    sh_phone.knob("down_lag", None)
    sh_phone.bring_up("stuck")
    sh_phone.conf("stuck")
    sh_phone.knob("down_stuck", "")
    stuck = sh_phone.call("tunnel", "op_disable", "stuck")
    assert stuck.failure == sc.Tag("down-failed", ("stuck", "2")) and sh_phone.is_up("stuck")


# -- store.sh ---------------------------------------------------------------------


def test_list_and_pull(sh_phone: ShPhone) -> None:
    sh_phone.conf("wg0", "[Interface]\n")
    sh_phone.conf("b")
    (sh_phone.store / "notes.txt").write_text("x")
    sh_phone.bring_up("wg0")
    ran = sh_phone.call("store", "op_list")
    listed = {t.name: (t.size, t.up) for t in store.parse_list(ran.out)}
    b_size = (sh_phone.store / "b.conf").stat().st_size
    assert listed == {"wg0": (12, True), "b": (b_size, False)}, ran.err
    assert all(t.mtime for t in store.parse_list(ran.out))
    assert sh_phone.call("store", "op_pull", "wg0").out == "[Interface]\n"
    assert sh_phone.call("store", "op_pull", "x").failure == sc.Tag("not-found", ("x",))
    empty = ShPhone(sh_phone.root / "empty", sh_phone.flavour, Path(sh_phone.tools_path))
    assert empty.call("store", "op_list").out == ""


def _push(sh_phone: ShPhone, name: str, data: bytes, *, enable: str = "-",
          accepts: tuple[str, str] = ("-", "-"), size: int | None = None,
          digest: str | None = None, restart: bool = False, budget: float = 30) -> Ran:
    return sh_phone.call(
        "store", "op_push", name, len(data) if size is None else size,
        digest or hashlib.sha256(data).hexdigest(), *accepts, enable, int(restart),
        stdin=data, budget=budget,
    )


def test_push_stores_atomically_private_and_root_owned(sh_phone: ShPhone) -> None:
    data = b"[Interface]\nPrivateKey = k\n"
    ran = _push(sh_phone, "wg0", data)
    assert ran.returncode == 0 and ran.kinds("stored") == [("wg0",)], ran.err
    path = sh_phone.store / "wg0.conf"
    st = path.stat()
    assert path.read_bytes() == data and stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == sh_phone.root_uid
    assert stat.S_IMODE(sh_phone.store.stat().st_mode) == 0o700
    assert sorted(p.name for p in sh_phone.store.iterdir()) == [".wgdroid", "wg0.conf"]


@pytest.mark.parametrize(("size", "digest", "kind"),
                         [(10_000, None, "truncated"), (None, "0" * 64, "corrupt")])
def test_a_damaged_push_leaves_the_old_config_and_no_temp(
    sh_phone: ShPhone, size: int | None, digest: str | None, kind: str
) -> None:
    sh_phone.conf("wg0", "old\n")
    ran = _push(sh_phone, "wg0", b"new config\n", size=size, digest=digest)
    assert ran.failure == sc.Tag(kind, ("wg0",))
    assert (sh_phone.store / "wg0.conf").read_text() == "old\n"
    assert not list(sh_phone.store.glob(".wg0.conf.tmp.*"))


def test_push_guard_refuses_before_writing(sh_phone: ShPhone) -> None:
    ran = _push(sh_phone, "wg0", b"x" * 100, accepts=("1", "0"))
    assert ran.failure == sc.Tag("dialect", ("linux",))
    assert ran.kinds("dialect") == [("linux",)]
    assert not sh_phone.store.exists() or not list(sh_phone.store.iterdir())


def test_push_sweeps_temp_files_of_killed_pushes(sh_phone: ShPhone) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = sh_phone.conf("x").parent / f".wg0.conf.tmp.{dead.pid}"
    stale.write_text("PrivateKey = left by a killed push\n")
    ran = _push(sh_phone, "wg0", b"[Interface]\n")
    assert ran.returncode == 0 and not stale.exists()
    stale.write_text("again\n")
    rm = sh_phone.call("store", "op_rm", "wg0", 0)
    assert rm.returncode == 0 and not stale.exists(), rm.err
    stale.write_text("and once more\n")
    assert sh_phone.call("store", "op_rm", "wg0", 0).failure == sc.Tag("not-found", ("wg0",))
    assert not stale.exists()  # `rm NAME` sweeps even when NAME.conf is gone
    # Any locked operation sweeps every name's: a killed push to a name never
    # used again kept its file (and key) on the phone for ever.
    other = stale.with_name(f".gone.conf.tmp.{dead.pid}")
    other.write_text("PrivateKey = of a name nobody uses again\n")
    assert sh_phone.call("store", "op_rm", "wg0", 0).failure == sc.Tag("not-found", ("wg0",))
    assert not other.exists()


def test_push_enable_starts_or_restarts(sh_phone: ShPhone) -> None:
    sh_phone.fake("wireguard-go", "exit 0\n")
    first = _push(sh_phone, "wg0", b"[Interface]\n", enable="auto")
    assert first.kinds("up") == [("wg0", "wireguard-go")]
    assert first.kinds("restarted") == [] and first.kinds("applied") == []
    second = _push(sh_phone, "wg0", b"[Interface]\n# v2\n", enable="auto", restart=True)
    assert second.kinds("down") == [("wg0",)]
    assert second.kinds("restarted") == [("wg0", "asked")] and sh_phone.is_up("wg0")


MARK = "9f" * 16


def _push_many(sh_phone: ShPhone, entries: list[tuple[str, bytes]], *, overwrite: bool = False,
               bent: str = "", cut: int = 0, accepts: tuple[str, str] = ("1", "1"),
               budget: float = 30) -> tuple[Ran, dict[str, Ran]]:
    """op_push_many as store.push_many calls it; each entry's part as a Ran of
    its own. BENT: an entry whose digest is claimed wrong; CUT: bytes lost off
    the end of stdin."""
    ok = (accepts[0] == "1", accepts[1] == "1")
    listed = store.push_list([(n, d, ok) for n, d in entries])
    if bent:  # the digest claimed for that entry is not its data's
        real = hashlib.sha256(dict(entries)[bent]).hexdigest().encode()
        listed = listed.replace(real, b"0" * 64)
    stdin = listed + b"".join(d for _, d in entries)
    ran = sh_phone.call("store", "op_push_many", MARK, int(overwrite), len(listed),
                        hashlib.sha256(listed).hexdigest(), stdin=stdin[:len(stdin) - cut],
                        budget=budget)
    head, parts = store.split_pushed(ran.out.encode(), MARK.encode(), [n for n, _ in entries])
    assert ran.out.endswith(f"\n{MARK}\tend\n") and head.startswith(b"dialect\t"), ran.err
    return ran, {n: Ran(rc, body.decode(), body.decode()) for n, (rc, body) in parts.items()}


def test_push_many_stores_each_entry_as_push_does(sh_phone: ShPhone) -> None:
    """Several configs in one script: each checked, written and renamed into
    place as op_push does (0600, root's, no temp file left), in order."""
    entries = [("a", b"[Interface]\nPrivateKey = a\n"), ("b", b"no newline at the end"),
               ("c", b"[Interface]\n" + b"# long\n" * 5000)]
    dead = subprocess.Popen(["true"])
    dead.wait()
    sh_phone.store.mkdir(parents=True)
    left = [sh_phone.store / f"..{f}.conf.tmp.{dead.pid}" for f in ("batch", "list")]
    for path in left:  # what a batch killed without its traps left: swept
        path.write_text("PrivateKey = of a killed batch\n")
    ran, parts = _push_many(sh_phone, entries)
    assert ran.returncode == 0, ran.err
    assert [(n, p.returncode, p.kinds("stored")) for n, p in parts.items()] == [
        (n, 0, [(n,)]) for n, _ in entries]
    for name, data in entries:
        st = (sh_phone.store / f"{name}.conf").stat()
        assert (sh_phone.store / f"{name}.conf").read_bytes() == data
        assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == sh_phone.root_uid
    assert sorted(p.name for p in sh_phone.store.iterdir()) == [
        ".wgdroid", "a.conf", "b.conf", "c.conf"]


def test_push_many_one_failing_entry_costs_only_itself(sh_phone: ShPhone) -> None:
    """An entry's `fail` (a taken name, bytes damaged on the way, a disk error
    on its rename, its tunnel busy, the stream cut short in it) ends that
    entry, not the script: the entries before and after it are stored, the
    old configs stay as they were."""
    sh_phone.conf("old", "old config\n")
    real = sh_phone.tools_path
    sh_phone.fake("mv", f"""case "$*" in
  *"/full.conf") echo "mv: No space left on device" >&2; exit 1 ;;
esac
PATH={real}; exec mv "$@"
""")
    entries = [("first", b"1\n"), ("old", b"new config\n"), ("bent", b"3\n"),
               ("full", b"4\n"), ("locked", b"5\n"), ("next", b"6\n"), ("short", b"7\n")]
    with held(sh_phone, "locked"):
        ran, parts = _push_many(sh_phone, entries, bent="bent", cut=1)
    assert ran.returncode == 0, ran.err
    assert {n: p.failure for n, p in parts.items()} == {
        "first": None, "old": sc.Tag("exists", ("old",)), "bent": sc.Tag("corrupt", ("bent",)),
        "full": sc.Tag("write", (f"{sh_phone.store}/full.conf",)),
        "locked": sc.Tag("busy", ("locked", "1")), "next": None,
        "short": sc.Tag("truncated", ("short",))}
    assert "No space left on device" in parts["full"].err
    assert [n for n, p in parts.items() if p.returncode == 0] == ["first", "next"]
    assert sorted(p.name for p in sh_phone.store.iterdir()) == [
        ".wgdroid", "first.conf", "next.conf", "old.conf"]
    assert (sh_phone.store / "old.conf").read_text() == "old config\n"
    assert (sh_phone.store / "next.conf").read_text() == "6\n"


def test_push_many_with_its_budget_spent_times_out_the_rest_not_busy(sh_phone: ShPhone) -> None:
    """The batch's budget is shared: once the entries before (waiting for
    held locks) spent it, a later entry fails `timeout`, not `busy 0`: nobody
    holds its lock, and it is not waited for."""
    names = [f"t{i}" for i in range(6)]
    with held(sh_phone, "t0"), held(sh_phone, "t1"):
        # a budget of 5 s: after two 1 s waits at most 3 s are left, 3 of them kept for clean-up
        ran, parts = _push_many(sh_phone, [(n, b"x\n") for n in names], budget=10)
    assert ran.returncode == 0, ran.err
    failures = {n: p.failure for n, p in parts.items()}
    assert list(failures) == names
    for name in ("t0", "t1"):  # waited for (busy) unless the budget was already gone
        assert failures[name] in (sc.Tag("busy", (name, "1")),
                                  sc.Tag("timeout", (f"lock {name}", "5")))
    assert {n: failures[n] for n in names[2:]} == {
        n: sc.Tag("timeout", (f"lock {n}", "5")) for n in names[2:]}
    assert sorted(p.name for p in sh_phone.store.iterdir()) == [".wgdroid"]
    error = error_for(failures["t2"], [], 99, "pushing t2")
    assert isinstance(error, OperationTimeout) and "busy" not in error.message


def test_push_many_refuses_a_damaged_list_before_any_entry(sh_phone: ShPhone) -> None:
    """The list of configs (names, sizes, digests) comes first on stdin, with
    its own size and digest on the command line: damaged, nothing is stored."""
    listed = store.push_list([("a", b"A\n", (True, True))])
    for size, digest, kind in ((len(listed), "0" * 64, "corrupt"),
                               (len(listed) + 9, hashlib.sha256(listed).hexdigest(),
                                "truncated")):
        ran = sh_phone.call("store", "op_push_many", MARK, 0, size, digest,
                            stdin=listed + b"A\n")
        assert ran.failure == sc.Tag(kind, ("list",)), ran.err
        assert f"{MARK}\tentry" not in ran.out
        assert list(sh_phone.store.iterdir()) == []  # no config, no temp file


def test_push_many_overwrites_only_when_asked_and_refuses_for_the_phones_wg_quick(
        sh_phone: ShPhone) -> None:
    sh_phone.conf("wg0", "old\n")
    Path(sh_phone.layout.app_files).mkdir(parents=True)
    (Path(sh_phone.layout.app_files) / "app.conf").write_text("the app's\n")
    _, parts = _push_many(sh_phone, [("wg0", b"new\n"), ("app", b"mine\n")])
    assert [p.failure for p in parts.values()] == [sc.Tag("exists", ("wg0",)),
                                                   sc.Tag("exists", ("app",))]
    _, parts = _push_many(sh_phone, [("wg0", b"new\n")], overwrite=True)
    assert parts["wg0"].kinds("stored") == [("wg0",)]
    assert (sh_phone.store / "wg0.conf").read_text() == "new\n"
    # This phone's wg-quick is the Linux one: a config only Android's takes is refused.
    _, parts = _push_many(sh_phone, [("wg1", b"x\n")], accepts=("1", "0"))
    assert parts["wg1"].failure == sc.Tag("dialect", ("linux",))
    assert not (sh_phone.store / "wg1.conf").exists()


def test_rm(sh_phone: ShPhone) -> None:
    sh_phone.conf("wg0")
    sh_phone.bring_up("wg0")
    assert sh_phone.call("store", "op_rm", "wg0", 0).failure == sc.Tag("is-up", ("wg0",))
    forced = sh_phone.call("store", "op_rm", "wg0", 1)
    assert forced.returncode == 0 and not sh_phone.is_up("wg0"), forced.err
    assert not (sh_phone.store / "wg0.conf").exists()


def test_rename(sh_phone: ShPhone) -> None:
    sh_phone.fake("wireguard-go", "exit 0\n")
    sh_phone.conf("a")
    sh_phone.conf("b")
    assert sh_phone.call("store", "op_rename", "x", "c", 0).failure == sc.Tag("not-found", ("x",))
    assert sh_phone.call("store", "op_rename", "a", "b", 0).failure == sc.Tag("exists", ("b",))
    up = sh_phone.call("tunnel", "op_enable", "a", "wireguard-go")
    assert up.returncode == 0, up.err
    assert sh_phone.call("store", "op_rename", "a", "c", 0).failure == sc.Tag("is-up", ("a",))
    moved = sh_phone.call("store", "op_rename", "a", "c", 1)
    assert moved.kinds("restarted") == [("c", "renamed")]
    assert moved.kinds("up") == [("c", "wireguard-go")]
    assert sh_phone.is_up("c") and not sh_phone.is_up("a")
    assert sorted(p.name for p in sh_phone.store.glob("*.conf")) == ["b.conf", "c.conf"]
    # Renamed, then the up failed: the script says the rename was made.
    sh_phone.knob("up_fail", "boom\n")
    failed = sh_phone.call("store", "op_rename", "c", "d", 1)
    assert failed.failure == sc.Tag("up-failed", ("d",)) and failed.kinds("stored") == [("d",)]
    assert sorted(p.name for p in sh_phone.store.glob("*.conf")) == ["b.conf", "d.conf"]


# -- net.sh: a push onto a running tunnel ------------------------------------------

CONF = """[Interface]
PrivateKey = {key}
ListenPort = 51820
  address = 10.0.0.2/32, fd00::2/128   # two
DNS = 1.1.1.1
MTU = 1380
PostUp = echo up

[Peer]
PublicKey = {peer}
AllowedIPs = 10.0.0.0/24,fd00::/64
Endpoint = 192.0.2.1:51820
"""
KEY = "cGhvbmVwcml2YXRla2V5cGhvbmVwcml2YXRla2V5MDA="


def _conf(**changes: str) -> str:
    text = CONF.format(key=KEY, peer=PEER1)
    for old, new in changes.items():
        text = text.replace(old.replace("_", " "), new)
    return text


def test_strip_and_facts_match_wg_quick(sh_phone: ShPhone) -> None:
    from wgdroid.config.dialect import Dialect
    from wgdroid.config.render import strip_text

    path = sh_phone.conf("wg0", _conf())
    ran = sh_phone.lines("net", f"conf_strip {path}", "echo ===", f"net_facts {path}")
    stripped, facts = ran.out.split("===\n")
    def lines(text: str) -> list[str]:
        return [ln.split("#")[0].strip() for ln in text.splitlines() if ln.split("#")[0].strip()]
    host = strip_text(strip_text(_conf(), Dialect.LINUX), Dialect.ANDROID)
    assert lines(stripped) == lines(host) and "PrivateKey" in stripped
    assert facts.splitlines() == [
        "addr 10.0.0.2/32", "addr fd00::2/128", "dns 1.1.1.1", "mtu 1380",
        "route 10.0.0.0/24", "route fd00::/64",
    ]


def _running(sh_phone: ShPhone, text: str) -> None:
    sh_phone.fake("wireguard-go", "exit 0\n")
    ran = _push(sh_phone, "wg0", text.encode(), enable="auto")
    assert ran.kinds("up") == [("wg0", "wireguard-go")], ran.err
    sh_phone.knob("ip.log", None)


def test_push_to_a_running_tunnel_changes_it_in_place(sh_phone: ShPhone) -> None:
    _running(sh_phone, _conf())
    new = _conf(**{"10.0.0.2/32": "10.0.0.3/32", "10.0.0.0/24,": "10.0.0.0/24, 10.9.0.0/16,",
                   "MTU = 1380": "MTU = 1300"}) + "PersistentKeepalive = 25\n"
    ran = _push(sh_phone, "wg0", new.encode())
    assert ran.kinds("applied") == [("wg0", "peers addresses routes mtu")], ran.err
    assert ran.kinds("restarted") == [] and ran.kinds("down") == []
    synced = (sh_phone.ctl / "synced.wg0").read_text()
    assert "PersistentKeepalive = 25" in synced and "address" not in synced.lower()
    assert "DNS" not in synced and "PostUp" not in synced
    assert (sh_phone.ctl / "ip.log").read_text().splitlines() == [
        "address del 10.0.0.2/32 dev wg0", "address add 10.0.0.3/32 dev wg0",
        "route replace 10.9.0.0/16 dev wg0", "link set mtu 1300 dev wg0",
    ]
    sh_phone.knob("ip.log", None)
    peers_only = _push(sh_phone, "wg0", (new + "# just a comment\n").encode())
    assert peers_only.kinds("applied") == [("wg0", "peers")]
    assert not (sh_phone.ctl / "ip.log").exists()
    fewer = _push(sh_phone, "wg0", new.replace(" 10.9.0.0/16,", "").encode())
    assert fewer.kinds("applied") == [("wg0", "peers routes")], fewer.err
    assert (sh_phone.ctl / "ip.log").read_text().splitlines() == ["route del 10.9.0.0/16 dev wg0"]


def test_push_many_onto_a_running_tunnel_is_a_push_of_it(sh_phone: ShPhone) -> None:
    """A running tunnel's name is taken (refused unless overwrite, even with no
    config stored); with overwrite, its entry does what op_push does: the new
    config in place, said in that entry's part."""
    _running(sh_phone, _conf())
    (sh_phone.store / "wg0.conf").unlink()  # up, but nothing stored under its name
    new = _conf() + "PersistentKeepalive = 25\n"
    _, parts = _push_many(sh_phone, [("wg0", new.encode())])
    assert parts["wg0"].failure == sc.Tag("exists", ("wg0",))
    _push(sh_phone, "wg0", _conf().encode())
    _, parts = _push_many(sh_phone, [("wg0", new.encode()), ("wg1", b"[Interface]\n")],
                          overwrite=True)
    assert parts["wg0"].kinds("applied") == [("wg0", "peers")], parts["wg0"].err
    assert parts["wg0"].kinds("stored") == [("wg0",)] and parts["wg1"].kinds("applied") == []
    assert (sh_phone.store / "wg0.conf").read_text() == new and sh_phone.is_up("wg0")


@pytest.mark.parametrize(("change", "why"), [
    ({"DNS = 1.1.1.1": "DNS = 9.9.9.9"}, "dns"),
    ({"10.0.0.0/24,": "0.0.0.0/0,"}, "default-route"),
    ({"MTU = 1380": ""}, "mtu"),
    ({"PostUp = echo up": "Table = off"}, "table"),
])
def test_push_restarts_what_cannot_change_in_place(sh_phone: ShPhone, change: dict[str, str],
                                                   why: str) -> None:
    _running(sh_phone, _conf())
    ran = _push(sh_phone, "wg0", _conf(**change).encode())
    assert ran.kinds("restarted") == [("wg0", why)], ran.err
    assert ran.kinds("applied") == [] and sh_phone.is_up("wg0")
    assert (sh_phone.net / "wg0" / "impl").read_text().strip() == "wireguard-go"  # as before


def test_push_onto_a_tunnel_the_android_wg_quick_brought_up(sh_phone: ShPhone) -> None:
    linux = sh_phone.fakes / "wg-quick.linux"
    (sh_phone.fakes / "wg-quick").rename(linux)
    sh_phone.fake("wg-quick", f'# drives netd: ndc network create ...\nexec {linux} "$@"\n')
    (sh_phone.root / "sys" / "module" / "wireguard").mkdir()
    up = _push(sh_phone, "wg0", _conf().encode(), enable="auto")
    assert up.kinds("up") == [("wg0", "kernel")], up.err
    moved = _conf(**{"10.0.0.2/32": "10.0.0.3/32"})
    ran = _push(sh_phone, "wg0", moved.encode())
    assert ran.kinds("restarted") == [("wg0", "android-net")], ran.err
    peers = _push(sh_phone, "wg0", (moved + "#\n").encode())
    assert peers.kinds("applied") == [("wg0", "peers")], peers.err


def test_a_failed_syncconf_stores_nothing(sh_phone: ShPhone) -> None:
    """A push the running tunnel refuses leaves the old config stored (it once
    replaced it all the same: the brief's "a failed push leaves the old
    config intact")."""
    _running(sh_phone, _conf())
    (sh_phone.fakes / "wg").rename(sh_phone.fakes / "wg.real")
    sh_phone.fake("wg", f"""if [ "$1" = syncconf ]; then
  echo "Line unrecognized: 'Junk'" >&2; exit 1
fi
exec {sh_phone.fakes}/wg.real "$@"
""")
    ran = _push(sh_phone, "wg0", (_conf() + "# v2\n").encode())
    assert ran.failure == sc.Tag("live-refused", ("wg0",))
    assert "Line unrecognized" in sc.trimmed(ran.stderr.lines)
    assert (sh_phone.store / "wg0.conf").read_text() == _conf()
    assert ran.kinds("stored") == [] and sh_phone.is_up("wg0")
    assert not [p for p in sh_phone.store.iterdir() if p.name.startswith(".wg0.conf.tmp")]


@pytest.mark.parametrize("old_comes_up", [True, False])
def test_a_restart_onto_a_config_that_fails_puts_the_old_one_back(sh_phone: ShPhone,
                                                                 old_comes_up: bool) -> None:
    """`push --restart` stored the new config before the restart, so a config
    that did not come up replaced the old one ("stored, but bringing it up
    failed"). Now the old file goes back and up again; the failure says
    whether it runs."""
    _running(sh_phone, _conf())
    real = sh_phone.fakes / "wg-quick.real"
    (sh_phone.fakes / "wg-quick").rename(real)
    sh_phone.fake("wg-quick", f"""if [ "$1" = up ] && grep -q '^# v2' "$2"; then
  echo "the new one fails" >&2; exit 1
fi
exec {real} "$@"
""")
    if not old_comes_up:
        sh_phone.knob("up_fail", "the old one fails too\n")
    ran = _push(sh_phone, "wg0", (_conf() + "# v2\n").encode(), restart=True)
    kind = "push-reverted" if old_comes_up else "push-reverted-down"
    failed = sc.Tag("up-failed", ("wg0",))
    ups = [failed] if old_comes_up else [failed, failed]
    assert ran.stderr.tags == [*ups, sc.Tag(kind, ("wg0",))], ran.err
    assert "the new one fails" in ran.err
    assert ran.kinds("stored") == [] and ran.kinds("restarted") == []
    assert (sh_phone.store / "wg0.conf").read_text() == _conf()
    assert sh_phone.is_up("wg0") is old_comes_up
    assert not [p for p in sh_phone.store.iterdir() if p.name.startswith(".wg0.conf.tmp")]


# -- status.sh --------------------------------------------------------------------



def test_status_hides_keys_before_printing(sh_phone: ShPhone) -> None:
    sh_phone.bring_up("wg0", 51820)
    (sh_phone.net / "wg0" / "tun_flags").write_text("0x1001\n")
    sh_phone.knob("dump", "\n".join(DUMP[:3]) + "\n")
    sh_phone.knob("transfer", f"wg0\t{PEER1}\t1000\t1000\n")
    ran = sh_phone.call("status", "op_status", "0.2")
    assert ran.returncode == 0, ran.err
    assert PRIV not in ran.out and PSK not in ran.out
    dump = [r[0] for r in ran.kinds("dump")]
    assert dump[0] == f"wg0\t(hidden)\t{PUB}\t51820\toff"
    assert dump[1].split("\t")[2] == "(hidden)" and dump[2] == DUMP[2]
    st = parse_status_output("S", ran.out, 0.2)
    (wg0,) = st.interfaces
    assert wg0.public_key == PUB and wg0.backend == "userspace"
    assert wg0.peers[0].preshared_key and wg0.peers[0].rx_rate == pytest.approx(372 / 0.2)
    assert st.device_time is not None


def test_status_takes_the_interfaces_from_its_dump(sh_phone: ShPhone) -> None:
    # wg0 (a peer's preshared key hidden too: not an interface line) is ours
    # on wireguard-go; wg1 someone else's in the kernel (no note).
    for name in ("wg0", "wg1"):
        sh_phone.bring_up(name)
    (sh_phone.net / "wg0" / "tun_flags").write_text("0x1001\n")
    note_dir = Path(sh_phone.layout.note_dir)
    note_dir.mkdir(parents=True)
    (note_dir / "wg0").write_text("1700000000 wireguard-go 7\n")
    sh_phone.knob("dump", "\n".join(DUMP) + "\n")
    ran = sh_phone.call("status", "op_status")
    assert ran.returncode == 0, ran.err
    assert ran.kinds("iface") == [("wg0", "tun", "7", "1700000000 wireguard-go 7"),
                                  ("wg1", "kernel", "7", "")]
    st = parse_status_output("S", ran.out)
    assert [(i.name, i.backend, i.up_since) for i in st.interfaces] == [
        ("wg0", "wireguard-go", 1700000000), ("wg1", "kernel", None)]
    assert len(st.interfaces[0].peers) == 2


def test_status_of_a_dump_larger_than_an_argument_may_be(sh_phone: ShPhone) -> None:
    # 2000 peers: ~300 KB, more than one exec argument may hold (128 KiB), in case
    # the one write went through an external printf.
    sh_phone.bring_up("wg0")
    peer = DUMP[1].split("\t", 1)[1]
    sh_phone.knob("dump", "\n".join([DUMP[0], *[f"wg0\t{peer}"] * 2000]) + "\n")
    ran = sh_phone.call("status", "op_status")
    assert ran.returncode == 0, ran.err[-500:]
    assert len(ran.kinds("dump")) == 2001 and PSK not in ran.out and PRIV not in ran.out
    assert [r[0] for r in ran.kinds("iface")] == ["wg0"]


def test_status_with_nothing_up_and_with_a_failing_wg(sh_phone: ShPhone) -> None:
    sh_phone.knob("dump", "")
    ran = sh_phone.call("status", "op_status")
    assert ran.returncode == 0 and ran.kinds("dump") == [] and ran.kinds("iface") == []
    sh_phone.fake("wg", "echo 'Unable to list interfaces: Permission denied' >&2; exit 1\n")
    ran = sh_phone.call("status", "op_status")
    assert ran.failure == sc.Tag("wg-failed", ("wg show all dump",))
    assert "Unable to list interfaces" in sc.trimmed(ran.stderr.lines)
    assert ran.kinds("now") == []  # nothing reported but the failure


def test_status_reports_what_a_racing_dump_printed(sh_phone: ShPhone) -> None:
    # wg show lists the interfaces, then reads each; one that went in between
    # (another wgdroid's `disable`: status takes no lock) is "Unable to
    # access interface" and wg exits 1. What it printed is what is up.
    sh_phone.bring_up("wg0")
    (sh_phone.fakes / "wg").rename(sh_phone.fakes / "wg.real")
    sh_phone.fake("wg", f"""if [ "$*" = "show all dump" ]; then
  cat {sh_phone.ctl}/dump
  echo "Unable to access interface $(cat {sh_phone.ctl}/gone): No such device" >&2
  exit 1
fi
exec {sh_phone.fakes}/wg.real "$@"
""")
    sh_phone.knob("dump", "\n".join(DUMP[:3]) + "\n")
    sh_phone.knob("gone", "wg1")
    ran = sh_phone.call("status", "op_status")
    assert ran.returncode == 0 and ran.failure is None, ran.err
    assert ran.kinds("iface") == [("wg0", "kernel", "7", "")]
    assert [r[0].split("\t")[1] for r in ran.kinds("dump")] == ["(hidden)", PEER1, PEER2]
    assert PRIV not in ran.out and PSK not in ran.out
    assert "Unable to access interface wg1" in sc.trimmed(ran.stderr.lines)
    assert [i.name for i in parse_status_output("S", ran.out).interfaces] == ["wg0"]
    # The only tunnel went: wg printed nothing and exits 1, but it could list.
    shutil.rmtree(sh_phone.net / "wg0")
    sh_phone.knob("dump", "")
    sh_phone.knob("gone", "wg0")
    ran = sh_phone.call("status", "op_status")
    assert ran.returncode == 0 and ran.failure is None, ran.err
    assert ran.kinds("iface") == [] and ran.kinds("dump") == [] and len(ran.kinds("now")) == 1
    st = parse_status_output("S", ran.out)
    assert st.interfaces == [] and st.device_time is not None


# -- doctor.sh --------------------------------------------------------------------


def test_doctor_facts_as_root_and_as_the_shell_user(sh_phone: ShPhone) -> None:
    from wgdroid.device.doctor import parse_doctor_output

    (sh_phone.root / "system" / "bin" / "wireguard-go").write_text("#!/bin/sh\necho v0.0.2\n")
    (sh_phone.root / "system" / "bin" / "wireguard-go").chmod(0o755)
    for as_root in (True, False):
        ran = sh_phone.call("doctor", "op_doctor", root=as_root)
        assert ran.returncode == 0, ran.err
        caps = parse_doctor_output("S", ran.out)
        assert (caps.model, caps.sdk, caps.abi) == ("Pixel 8", 34, "arm64-v8a")
        assert caps.tools["wg"] == str(sh_phone.fakes / "wg")
        assert caps.tools["wireguard-go"] == str(sh_phone.root / "system/bin/wireguard-go")
        assert caps.versions["wg"].startswith("wireguard-tools v1.0")
        assert caps.wg_quick_variant == "linux" and not caps.kernel_module and not caps.tun


# -- tools.sh ---------------------------------------------------------------------


def _payload(parts: dict[str, bytes]) -> tuple[bytes, dict[str, tuple[int, int, str]]]:
    off, specs, data = 0, {}, b""
    for name, blob in parts.items():
        specs[name] = (off, len(blob), hashlib.sha256(blob).hexdigest())
        data += blob
        off += len(blob)
    return data, specs


def _install(sh_phone: ShPhone, pushed: dict[str, bytes], *, reuse: bool = True,
             userspace: bytes | None = None, magisk: bool = False) -> Ran:
    data, specs = _payload({**pushed, **({"zip": userspace} if userspace else {})})
    us = specs.pop("zip", None)
    args = [f"{t}:{o}:{n}:{h}" for t, (o, n, h) in sorted(specs.items())]
    spec = f"{us[0]}:{us[1]}:{us[2]}" if us else "-"
    return sh_phone.call("tools", "op_tools_install", int(reuse), int(magisk), spec, *args,
                         stdin=data)


def test_tools_install_from_the_payload_then_status(sh_phone: ShPhone) -> None:
    bin_dir = Path(sh_phone.layout.wgdroid_bin)
    wg = b"#!/bin/sh\necho 'wireguard-tools v9 (pushed)'\n"
    ran = _install(sh_phone, {"wg": wg, "wireguard-go": b"#!/bin/sh\necho wg-go\n"},
                   reuse=False)
    assert ran.returncode == 0, ran.err
    placed = ran.kinds("placed")
    assert placed == [("wg", f"{bin_dir}/wg", "local"),
                      ("wireguard-go", f"{bin_dir}/wireguard-go", "local")]
    assert (bin_dir / "wg").read_bytes() == wg
    assert stat.S_IMODE((bin_dir / "wg").stat().st_mode) == 0o755
    assert not [p for p in bin_dir.iterdir() if ".tmp." in p.name]
    assert not list(Path(sh_phone.layout.wgdroid_dir).glob(".payload.*"))
    status = tools.parse_status("S", sh_phone.call("tools", "op_tools_status").out)
    assert status.tools["wg"].active == f"{bin_dir}/wg"
    assert status.tools["wg"].version == "wireguard-tools v9 (pushed)"
    sources = {loc.source for loc in status.tools["wg"].locations}
    assert {"wgdroid", "path"} <= sources  # ours, and the fake on PATH
    assert status.abilist == ["arm64-v8a", "armeabi-v7a"]


def test_tools_install_checks_what_arrives(sh_phone: ShPhone) -> None:
    data = b"#!/bin/sh\n"
    bad = sh_phone.call("tools", "op_tools_install", 0, 0, "-",
                        f"wg:0:{len(data)}:{'0' * 64}", stdin=data)
    assert bad.failure == sc.Tag("corrupt", ("wg",))
    assert not Path(sh_phone.layout.wgdroid_dir).exists()  # tidied: it held nothing
    script = b"#!/nonexistent/bash\n"
    interp = _install(sh_phone, {"wg-quick": script})
    assert interp.failure == sc.Tag("no-interpreter", ("/nonexistent/bash",))


def test_tools_install_copies_the_apps_tools(sh_phone: ShPhone) -> None:
    for fake in ("wg", "wg-quick"):
        (sh_phone.fakes / fake).unlink()
    apk_dir = Path(sh_phone.layout.data) / "app" / "x" / "com.wireguard.android-1"
    (apk_dir / "lib" / "arm64").mkdir(parents=True)
    (apk_dir / "base.apk").write_text("")
    for lib in ("libwg.so", "libwg-quick.so"):
        shutil.copy("/bin/true", apk_dir / "lib" / "arm64" / lib)
    nothing = _install(sh_phone, {})
    assert nothing.failure == sc.Tag("no-tools", ())
    sh_phone.knob("apk", str(apk_dir / "base.apk"))
    ran = _install(sh_phone, {}, magisk=False)
    assert [(t, s) for t, _, s in ran.kinds("placed")] == [
        ("wg", "app-lib"), ("wg-quick", "app-lib")]
    kept = _install(sh_phone, {})
    assert [s for _, _, s in kept.kinds("placed")] == ["kept", "kept"]


def test_tools_install_magisk_module_and_remove(sh_phone: ShPhone) -> None:
    nomagisk = _install(sh_phone, {"wg": b"x"}, magisk=True)
    assert nomagisk.failure == sc.Tag("not-magisk", ())
    Path(sh_phone.layout.modules_dir).mkdir(parents=True)
    other = Path(sh_phone.layout.modules_dir) / "someone-else"
    other.mkdir()
    (other / "module.prop").write_text("id=someone-else\n")
    ran = _install(sh_phone, {"wg": b"x"}, magisk=True)
    module = Path(sh_phone.layout.magisk_module)
    assert ran.returncode == 0, ran.err
    assert "id=wgdroid-tools" in (module / "module.prop").read_text()
    assert (module / "system" / "bin" / "wg").read_bytes() == b"x"
    sh_phone.bring_up("wg0")
    busy = sh_phone.call("tools", "op_tools_remove", 0)
    assert busy.failure == sc.Tag("in-use", ("wg0",))
    assert not Path(sh_phone.layout.wgdroid_dir).exists()  # held nothing: tidied away
    gone = sh_phone.call("tools", "op_tools_remove", 1)
    assert gone.kinds("removed") == [(str(module),)], gone.err
    assert other.exists() and not module.exists()


def test_tools_install_userspace(sh_phone: ShPhone) -> None:
    (sh_phone.fakes / "python3").symlink_to(sys.executable)
    run = sh_phone.root / "run" / "wireguard"
    ran = _install(sh_phone, {}, userspace=b"PK-zip-bytes")
    assert ran.returncode == 0, ran.err
    assert ran.kinds("sockdir") == [(str(run),)] and run.is_dir()
    launcher = Path(sh_phone.layout.wgdroid_bin) / sc.USERSPACE_TOOL
    lines = launcher.read_text().splitlines()
    assert lines[1].startswith(f"# {sc.USERSPACE_TOOL} ")
    assert f"export WGDROID_UAPI_DIR='{run}'" in lines
    assert Path(sh_phone.layout.userspace_zip).read_bytes() == b"PK-zip-bytes"
    status = tools.parse_status("S", sh_phone.call("tools", "op_tools_status").out)
    assert status.userspace_version == lines[1].split()[-1] and status.cryptography


# -- detect.sh --------------------------------------------------------------------


@pytest.mark.parametrize(("version", "method"), [
    ("28.1:MAGISKSU", "magisk"), ("v1.0.5:KernelSU", "kernelsu"),
    ("su: invalid uid/gid '-v'", "aosp"), ("2.82:SUPERSU", "su-c"),
])
def test_detect_finds_the_su_form_and_runs_once(sh_phone: ShPhone, version: str,
                                                method: str) -> None:
    from wgdroid.device.rootshell import detecting_command

    sh_phone.fake("id", "echo 2000\n")
    log = sh_phone.root / "su.log"
    sh_phone.fake("su", f"""echo "$*" >> {log}
case $1 in
  -v) echo {sc.q(version)}; exit 0 ;;
  -c) shift; exec sh -c "$1" ;;
  0) [ {sc.q(method)} = aosp ] || {{ echo 'su: bad'; exit 1; }}; shift 3; exec sh -c "$1" ;;
esac
""")
    ran = sh_phone.run_text(detecting_command("echo hi from $(echo root)", stdin=False))
    assert ran.out == "hi from root\n", ran.err
    assert f"{sc.METHOD_TAG}{method}" in ran.err
    forms = log.read_text().splitlines()
    assert forms[0] == "-v" and len(forms) == 2
    assert forms[1].startswith("0 sh -c" if method == "aosp" else "-c ")


def test_detect_without_su_and_as_adb_root(sh_phone: ShPhone) -> None:
    from wgdroid.device.rootshell import detecting_command

    root = sh_phone.run_text(detecting_command("echo as root", stdin=False))
    assert root.out == "as root\n" and f"{sc.METHOD_TAG}adb-root" in root.err
    sh_phone.fake("id", "echo 2000\n")
    none = sh_phone.run_text(detecting_command("echo x", stdin=False),
                             path=sh_phone.without("su"))
    assert none.returncode == 127 and f"{sc.METHOD_TAG}none" in none.err
