"""su on the simulated phone: each root solution's syntax, and the policy,
driven through the real adb CLI (and the pure argv parser as a unit)."""

from __future__ import annotations

import time

import pytest
from support import wait_until

from wgdroid.sim.phone.android_ids import getpwnam, getpwuid
from wgdroid.sim.phone.su_variants import SuReply, SuRun, parse


# -- the argv parser (pure) ---------------------------------------------------
def test_magisk_joins_everything_after_c() -> None:
    assert parse("magisk", ["-c", "echo", "a", "b"]) == SuRun(("/system/bin/sh", "-c", "echo a b"))


def test_magisk_ignores_args_after_user_and_reads_stdin() -> None:
    assert parse("magisk", ["0", "id"]) == SuRun(("/system/bin/sh",), 0)


def test_magisk_version() -> None:
    assert parse("magisk", ["-v"]) == SuReply(stdout="28.1:MAGISKSU\n")
    assert parse("magisk", ["-V"]) == SuReply(stdout="28100\n")


def test_kernelsu_joins_everything_after_c() -> None:
    # ksud su.rs root_shell joins every word after the first -c with spaces
    # (as Magisk does): `su -c echo arg` prints "arg". (This replaces an older
    # assertion that the later words became $0..., which ksud never did.)
    assert parse("kernelsu", ["-c", "echo", "arg"]) == SuRun(
        ("/system/bin/sh", "-c", "echo arg"), 0, needs_grant=False
    )
    assert parse("kernelsu", ["-v"]) == SuReply(stdout="v1.0.5:KernelSU\n")
    assert parse("kernelsu", ["-V"]) == SuReply(stdout="12081\n")


def test_kernelsu_users_and_usage_errors() -> None:
    # getpwnam (bionic's names, u0_aNNN apps), else a number, else root.
    assert parse("kernelsu", ["shell", "-c", "id"]).uid == 2000  # type: ignore[union-attr]
    assert parse("kernelsu", ["u0_a123", "-c", "id"]).uid == 10123  # type: ignore[union-attr]
    assert parse("kernelsu", ["-", "10166"]) == SuRun(("/system/bin/sh",), 10166,
                                                      needs_grant=False)
    assert parse("kernelsu", ["nosuchuser", "-c", "id"]).uid == 0  # type: ignore[union-attr]
    # getopts failures: the message and the usage on stdout, exit(-1).
    for argv, first in ((["-x"], "Unrecognized option: 'x'"),
                        (["-c"], "Argument to option 'c' missing"),
                        (["-s", "a", "-s", "b"], "Option 'shell' given more than once")):
        reply = parse("kernelsu", argv)
        assert isinstance(reply, SuReply) and reply.status == 255, reply
        assert reply.stdout.splitlines()[:2] == [first, "KernelSU"], reply
        assert reply.stderr == ""


def test_kernelsu_has_no_pending_policy() -> None:
    from wgdroid.errors import UsageError
    from wgdroid.sim.profiles import resolve

    with pytest.raises(UsageError, match="KernelSU has no su prompt"):
        resolve("pixel", root="kernelsu", su_policy="pending")
    assert resolve("pixel", root="kernelsu", su_policy="deny").su_policy == "deny"
    assert resolve("pixel", su_policy="pending").su_policy == "pending"  # Magisk prompts


def test_aosp_syntax() -> None:
    assert parse("aosp", ["0", "id", "-u"]) == SuRun(("id", "-u"), 0, needs_grant=False)
    assert parse("aosp", ["root"]) == SuRun(("/system/bin/sh",), 0, needs_grant=False)
    assert parse("aosp", ["-c", "id"]) == SuReply(stderr="su: invalid uid/gid '-c'\n", status=1)


def test_every_su_names_users_as_bionics_getpwnam() -> None:
    """Magisk (su.cpp), AOSP (su/su.cpp pwtoid) and KernelSU (su.rs) all ask
    bionic's getpwnam: any android_filesystem_config.h name, oem_NNNN, and the
    per-user names u<user>_a<n> / u<user>_i<n> / u<user>_<platform id>. (Magisk
    and AOSP knew only root, system and shell.)"""
    names = {"radio": 1001, "nfc": 1027, "vpn": 1016, "inet": 3003, "u0_a123": 10123,
             "u10_a5": 1010005, "u0_i7": 90007, "u10_system": 1001000, "oem_2901": 2901}
    for variant in ("magisk", "kernelsu"):
        for name, uid in names.items():
            assert parse(variant, [name, "-c", "id"]).uid == uid, (variant, name)  # type: ignore[union-attr]
    for name, uid in names.items():
        assert parse("aosp", [name, "id"]).uid == uid, name  # type: ignore[union-attr]
        assert parse("aosp", [f"{name},1000", "id"]).uid == uid, name  # type: ignore[union-attr]


def test_the_id_table_is_android_14s() -> None:
    # android_filesystem_config.h on API 34: the ids up to 1092 and 3012 (a su to
    # one the table lacked ran as root under Magisk); 1081 was renamed from
    # virtmanager; nothing of API 35 (uprobestats 1093, virtualmachine 3013).
    for name, uid in (("virtualizationservice", 1081), ("thread_network", 1084),
                      ("diced", 1085), ("sdk_sandbox", 1090), ("prng_seeder", 1092),
                      ("readtracefs", 3012)):
        assert getpwnam(name) == uid and getpwuid(uid) == name, name
        assert parse("magisk", [name, "-c", "id"]).uid == uid  # type: ignore[union-attr]
    for name in ("virtmanager", "uprobestats", "virtualmachine"):
        assert getpwnam(name) is None, name
    assert getpwuid(1093) is None and getpwuid(3013) is None


def test_names_bionic_does_not_know() -> None:
    # app_id_to_passwd takes only ids from AID_APP_START up (u0_system is not
    # a user), u<n>_<name> only for the secondary-user platform ids, users up
    # to 1000, the app ranges (u0_a10000 is past AID_APP_END), oem_ in its ranges.
    for name in ("u0_system", "u10_audio", "u1001_a1", "u0_a10000", "oem_3000", "nosuch"):
        assert getpwnam(name) is None, name
    assert [getpwuid(u) for u in (0, 2000, 10123, 1010005, 90007, 1001000, 5000, 4000)] == [
        "root", "shell", "u0_a123", "u10_a5", "u0_i7", "u10_system", "oem_5000", None]
    # What each su makes of a name getpwnam refuses: Magisk's parse_int gives -1
    # and setresuid(-1) keeps root; ksud's su falls back to 0; AOSP refuses it.
    assert parse("magisk", ["nosuch", "-c", "id"]).uid == 0  # type: ignore[union-attr]
    assert parse("kernelsu", ["nosuch", "-c", "id"]).uid == 0  # type: ignore[union-attr]
    assert parse("aosp", ["nosuch", "id"]) == SuReply(
        stderr="su: invalid uid/gid 'nosuch'\n", status=1)


# -- through adb --------------------------------------------------------------
pytestmark_sim = pytest.mark.sim


@pytest.mark.sim
def test_shell_is_uid_2000_and_magisk_su_gives_root(sim_phone) -> None:  # type: ignore[no-untyped-def]
    out = sim_phone.shell("id")
    assert out.returncode == 0
    assert out.stdout.startswith("uid=2000(shell) gid=2000(shell)")
    out = sim_phone.shell("su -c id </dev/null")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("uid=0(root)")
    assert sim_phone.shell("su -v").stdout.strip() == "28.1:MAGISKSU"
    # Magisk joins argv after -c; its exit status comes back through adb.
    out = sim_phone.shell("su -c exit 7 </dev/null")
    assert out.returncode == 7
    # `su 0 CMD` ignores CMD and runs a shell on stdin.
    out = sim_phone.shell("echo 'id -u' | su 0 echo ignored")
    assert out.stdout.strip() == "0"


@pytest.mark.sim
@pytest.mark.parametrize("sim_phone", [{}, {"root": "aosp"}, {"root": "kernelsu"}],
                         indirect=True)
def test_su_to_named_users(sim_phone) -> None:  # type: ignore[no-untyped-def]
    """`su NAME` as each root solution does it on the phone (Magisk's and
    AOSP's su knew only root, system and shell): Android's ids, apps by
    u0_aNNN, and who the command then is."""
    aosp = sim_phone.shell("su --help").stdout.startswith("usage: su [WHO")
    for name, uid in (("radio", 1001), ("vpn", 1016), ("u0_a145", 10145), ("u0_i3", 90003)):
        cmd = f"su {name} id -u" if aosp else f"su {name} -c 'id -u'"
        out = sim_phone.shell(cmd + " </dev/null")
        assert (out.returncode, out.stdout.strip()) == (0, str(uid)), (name, out)
    # The app's uid is the app's: its name in bionic's form, as `id` shows it.
    cmd = "su u0_a145 id -un" if aosp else "su u0_a145 -c 'id -un'"
    assert sim_phone.shell(cmd + " </dev/null").stdout.strip() == "u0_a145"


@pytest.mark.sim
@pytest.mark.parametrize("sim_phone", [{"root": "kernelsu"}], indirect=True)
def test_kernelsu(sim_phone) -> None:  # type: ignore[no-untyped-def]
    out = sim_phone.shell("su -c 'id -u' </dev/null")
    assert (out.returncode, out.stdout.strip()) == (0, "0")
    assert sim_phone.shell("su -v").stdout.strip() == "v1.0.5:KernelSU"
    # Every word after -c is the command (ksud joins them).
    assert sim_phone.shell("su -c echo joined words </dev/null").stdout == "joined words\n"
    # The kernel's su path is /system/bin/su; there is no /system/xbin/su.
    out = sim_phone.shell("command -v su; ls /system/xbin/su")
    assert out.stdout.strip() == "/system/bin/su" and out.returncode != 0


@pytest.mark.sim
@pytest.mark.parametrize("sim_phone", [{"root": "kernelsu", "su_policy": "deny"}],
                         indirect=True)
def test_kernelsu_denied_shell_has_no_su(sim_phone) -> None:  # type: ignore[no-untyped-def]
    # kernel/feature/sucompat.c: for a uid not on the allow list the original
    # execve/stat run, and no su file exists: no prompt, no "Permission denied".
    start = time.monotonic()
    out = sim_phone.shell("command -v su; ls /system/bin/su /system/xbin/su; su -v")
    assert out.returncode == 127, (out.stdout, out.stderr)
    assert out.stdout == "" and "KernelSU" not in out.stderr
    assert "Permission denied" not in out.stderr
    out = sim_phone.shell("su -c id </dev/null")
    assert out.returncode == 127 and "uid=0" not in out.stdout
    assert time.monotonic() - start < 5  # nothing waits on a prompt
    # The manager app grants the shell: su is there at once; revoked, gone again.
    sim_phone.set_su_policy("grant")
    assert sim_phone.shell("su -c 'id -u' </dev/null").stdout.strip() == "0"
    sim_phone.set_su_policy("deny")
    assert sim_phone.shell("command -v su").returncode != 0
    with pytest.raises(Exception, match="KernelSU has no su prompt"):
        sim_phone.set_su_policy("pending")


@pytest.mark.sim
@pytest.mark.parametrize("sim_phone", [{"root": "kernelsu", "su_policy": "deny"}],
                         indirect=True)
def test_kernelsu_su_is_there_by_the_callers_uid(sim_phone) -> None:  # type: ignore[no-untyped-def]
    """sucompat.c answers execve/faccessat/stat of /system/bin/su per caller
    (allowlist.c __ksu_is_allow_uid_for_current): root in KernelSU's domain
    always, uids below 2000 but system never, the shell and apps as the allow
    list says. (The file used to follow the phone's one policy: under deny
    root found no su either, under grant every uid found it.)"""
    probe = "command -v su; test -e /system/bin/su && echo exists; true"
    found = "/system/bin/su\nexists\n"

    def as_uid(uid: int) -> str:
        out = sim_phone.run_in_phone(probe, uid=uid)
        return bytes(out.stdout).decode()

    # deny: root finds su and it works; the shell and an app find nothing,
    # nor does what root runs as them.
    assert as_uid(0) == found
    assert sim_phone.run_in_phone("su -c 'id -u' </dev/null").stdout.strip() == b"0"
    assert as_uid(2000) == "" and as_uid(10145) == ""
    out = sim_phone.run_in_phone(f"su 10145 -c '{probe}' </dev/null")
    assert (out.status, out.stdout) == (0, b""), out
    assert "su" not in sim_phone.shell("ls /system/bin").stdout.split()
    # grant: the shell and apps find it; radio (1001) and bluetooth never do.
    sim_phone.set_su_policy("grant")
    assert as_uid(2000) == found and as_uid(10145) == found and as_uid(0) == found
    assert as_uid(1001) == "" and as_uid(1002) == ""
    out = sim_phone.run_in_phone(f"su radio -c '{probe}' </dev/null")
    assert (out.status, out.stdout) == (0, b""), out
    out = sim_phone.shell("su radio -c 'su -c id' </dev/null")
    assert out.returncode == 127 and "uid=0" not in out.stdout, out


@pytest.mark.sim
@pytest.mark.parametrize("sim_phone", [{"root": "aosp"}], indirect=True)
def test_aosp_su(sim_phone) -> None:  # type: ignore[no-untyped-def]
    out = sim_phone.shell("su 0 id </dev/null")
    assert out.returncode == 0 and out.stdout.startswith("uid=0(root)")
    out = sim_phone.shell("su root id -u </dev/null")
    assert out.stdout.strip() == "0"
    out = sim_phone.shell("su -c id </dev/null")
    assert out.returncode == 1
    assert "su: invalid uid/gid '-c'" in out.stderr
    assert "invalid uid/gid '-v'" in sim_phone.shell("su -v").stderr
    assert sim_phone.shell("getprop ro.debuggable").stdout.strip() == "1"


@pytest.mark.sim
@pytest.mark.parametrize("sim_phone", [{"su_policy": "deny"}], indirect=True)
def test_denied(sim_phone) -> None:  # type: ignore[no-untyped-def]
    out = sim_phone.shell("su -c id </dev/null")
    assert out.returncode == 13
    assert "Permission denied" in out.stderr
    assert "uid=0" not in out.stdout


@pytest.mark.sim
@pytest.mark.parametrize("sim_phone", [{"su_policy": "pending", "su_timeout": 1.5}], indirect=True)
def test_pending_times_out_then_a_tap_grants(sim_phone) -> None:  # type: ignore[no-untyped-def]
    start = time.monotonic()
    out = sim_phone.shell("su -c id </dev/null")
    elapsed = time.monotonic() - start
    assert out.returncode == 13 and "Permission denied" in out.stderr
    assert 1.4 <= elapsed < 6, elapsed
    # With a long timeout, a tap on Grant lets the waiting su through.
    sim_phone.set_su_policy("pending", timeout=30)
    import threading

    result: dict[str, object] = {}
    thread = threading.Thread(
        target=lambda: result.update(out=sim_phone.shell("su -c 'id -u' </dev/null"))
    )
    thread.start()
    answered = wait_until(lambda: sim_phone.answer_su(True), timeout=10,
                          what="a pending su prompt to tap Grant on")
    thread.join(15)
    assert answered == 1
    assert result["out"].stdout.strip() == "0"  # type: ignore[attr-defined]


@pytest.mark.sim
@pytest.mark.parametrize("sim_phone", [{"root": "adb-root"}], indirect=True)
def test_adb_root_profile(sim_phone, adb_server) -> None:  # type: ignore[no-untyped-def]
    assert sim_phone.shell("id -u").stdout.strip() == "0"
    out = adb_server.adb("-s", sim_phone.serial, "root")
    assert "already running as root" in out.stdout + out.stderr


@pytest.mark.sim
@pytest.mark.parametrize("sim_phone", [{"root": "none"}], indirect=True)
def test_no_su_at_all(sim_phone) -> None:  # type: ignore[no-untyped-def]
    assert sim_phone.shell("command -v su").stdout.strip() == ""
    assert sim_phone.shell("su -c id").returncode == 127
    assert (
        sim_phone.run_in_phone("ls /system/xbin /system/bin | grep -cx su").stdout.strip() == b"0"
    )


@pytest.mark.sim
def test_magisk_root_child_outlives_its_client(sim_phone, adb_server) -> None:  # type: ignore[no-untyped-def]
    """Closing the adb stream hangs up the shell, which had exec'd su's client;
    Magisk's daemon only waits for the root child (su_daemon.cpp
    su_daemon_handler), so it runs on. (This test used to assert the child was
    killed with its client, which Magisk never did.)"""
    import subprocess

    def sleepers() -> bytes:
        return bytes(sim_phone.run_in_phone("pgrep -f '^sleep 1234' || true").stdout.strip())

    def clients() -> bytes:
        found = sim_phone.run_in_phone("pgrep -f 'xbin/s[u] -c sleep 1234' || true")
        return bytes(found.stdout.strip())

    cli = subprocess.Popen(
        [adb_server.adb_path, "-s", sim_phone.serial, "shell", "su -c 'sleep 1234' </dev/null"],
        env=adb_server.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(sleepers, timeout=10, what="the root child (sleep 1234) to start")
        uid = sim_phone.run_in_phone("ps -o uid= -p $(pgrep -f '^sleep 1234')").stdout
        assert uid.strip() == b"0"
    finally:
        cli.kill()
        cli.wait()
    try:
        wait_until(clients, check=lambda pids: pids == b"", timeout=10, interval=0.2,
                   what="su's client to die with the hung-up shell")
        assert sleepers() != b"", "the root child died with its client"
    finally:
        sim_phone.run_in_phone("pkill -f '^sleep 1234'; true")
    wait_until(sleepers, check=lambda pids: pids == b"", timeout=10, interval=0.2,
               what="the root sleep to be stopped")


@pytest.mark.sim
def test_interactive_su_in_a_pty(sim_phone, adb_server) -> None:  # type: ignore[no-untyped-def]
    """`adb shell` in a terminal (a login mksh with Android's PATH), `su`, and back,
    typed one line at a time after each prompt, as a person would."""
    import os
    import pty
    import select

    pid, fd = pty.fork()
    if pid == 0:  # the child: the adb CLI on a real terminal
        os.execve(adb_server.adb_path, [adb_server.adb_path, "-s", sim_phone.serial, "shell"],
                  adb_server.env)
    seen = b""
    transcript = []

    def read() -> bytes:
        """What the terminal showed so far (a read of what is there, if anything)."""
        nonlocal seen
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError as e:
                raise AssertionError(f"the terminal closed ({e}); it showed {seen!r}") from e
            seen += chunk
            transcript.append(chunk)
        return seen

    def expect(token: bytes, timeout: float = 15) -> None:
        nonlocal seen
        wait_until(read, check=lambda shown: token in shown, timeout=timeout, interval=0.001,
                   what=f"{token!r} on the terminal")
        assert token in seen, seen
        seen = seen[seen.index(token) + len(token):]

    try:
        expect(b" $ ")
        os.write(fd, b"echo $PATH\n")
        expect(b"/product/bin:/apex/com.android.runtime/bin")
        expect(b" $ ")
        os.write(fd, b"su\n")
        expect(b" # ")
        os.write(fd, b"id -u; tty\n")
        expect(b"0\r\n/dev/pts/")
        expect(b" # ")
        os.write(fd, b"exit\n")
        expect(b" $ ")
        os.write(fd, b"echo back $(id -u)\n")
        expect(b"back 2000")
        os.write(fd, b"exit\n")
        # The root shell had a terminal of its own (relayed, as Magisk does).
        assert b"job control" not in b"".join(transcript)
    finally:
        os.close(fd)
        os.waitpid(pid, 0)
