"""PhoneRuntime as the ADB side sees it, in-process (no adb, no daemon):
spawn with fds, uid, env, cwd, exit status, kill, controlling tty, reboot."""

from __future__ import annotations

import asyncio
import os
import pty
from pathlib import Path

import pytest
from support import wait_until_async

from wgdroid.sim.profiles import resolve
from wgdroid.sim.runtime_api import PhoneRuntime
from wgdroid.sim.simulator import Simulator

pytestmark = pytest.mark.sim


async def _spawn(phone: PhoneRuntime, argv: list[str], **kw: object) -> tuple[int, bytes]:
    out_r, out_w = os.pipe()
    null = os.open(os.devnull, os.O_RDONLY)
    proc = await phone.spawn(argv, stdin=null, stdout=out_w, stderr=out_w,
                             **{"uid": 2000, "env": {"HOME": "/"}, **kw})  # type: ignore[arg-type]
    os.close(out_w)
    os.close(null)
    status = await asyncio.wait_for(proc.wait(), 20)
    data = await asyncio.to_thread(_read_all, out_r)
    return status, data


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


@pytest.fixture
def loop_phone(tmp_path: Path):  # type: ignore[no-untyped-def]
    loop = asyncio.new_event_loop()
    sim = Simulator(tmp_path / "sim", adb=False)
    loop.run_until_complete(sim.start())
    try:
        # Its own wg-quick (the Android one) brings tunnels up on its "module".
        (p,) = loop.run_until_complete(sim.add_phones(1, resolve("android-wgquick")))
        yield loop, p
    finally:
        loop.run_until_complete(sim.close())
        loop.close()
    assert not (tmp_path / "sim" / "phones").exists()


def test_spawn_uid_env_cwd_and_status(loop_phone) -> None:  # type: ignore[no-untyped-def]
    loop, phone = loop_phone
    status, out = loop.run_until_complete(_spawn(
        phone, ["sh", "-c", "id -u; pwd; echo $HOME $WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD;"
                "echo $PATH; exit 5"], cwd="/data/local/tmp"))
    assert status == 5
    lines = out.decode().splitlines()
    assert lines[:3] == ["2000", "/data/local/tmp", "/ 1"]
    assert lines[3].startswith("/product/bin:")
    # A signal comes back as 128 + signo, as a shell reports it.
    status, _ = loop.run_until_complete(_spawn(phone, ["sh", "-c", "kill -TERM $$"], uid=0))
    assert status == 128 + 15
    status, out = loop.run_until_complete(_spawn(phone, ["no-such-tool"]))
    assert status == 127 and b"not found" in out


def test_kill_ends_the_process_group(loop_phone) -> None:  # type: ignore[no-untyped-def]
    loop, phone = loop_phone

    async def go() -> int:
        null = os.open(os.devnull, os.O_RDWR)
        proc = await phone.spawn(["sh", "-c", "sleep 4321 & sleep 4321; wait"], uid=2000,
                                 env={}, stdin=null, stdout=null, stderr=null)
        os.close(null)
        res = await wait_until_async(lambda: phone.run(["pgrep", "-fc", "^sleep 4321"]),
                                     check=lambda res: res.stdout.strip() == b"2",
                                     timeout=10, interval=0.05, what="both sleeps to start")
        assert res.stdout.strip() == b"2"
        proc.kill()
        status = await asyncio.wait_for(proc.wait(), 10)
        left = await wait_until_async(
            lambda: phone.run(["sh", "-c", "pgrep -f '^sleep 4321' || true"]),
            check=lambda res: res.stdout == b"", timeout=10, interval=0.05,
            what="the background sleep to die with its process group")
        assert left.stdout == b""
        return status

    assert loop.run_until_complete(go()) == 128 + 9


def test_controlling_tty(loop_phone) -> None:  # type: ignore[no-untyped-def]
    loop, phone = loop_phone
    master, slave = pty.openpty()

    async def go() -> int:
        proc = await phone.spawn(["sh", "-c", "tty; [ -t 0 ] && echo isatty"], uid=2000,
                                 env={}, stdin=slave, stdout=slave, stderr=slave,
                                 setsid_ctty=True)
        os.close(slave)
        return await asyncio.wait_for(proc.wait(), 10)

    assert loop.run_until_complete(go()) == 0
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert b"/dev/pts/" in out and b"isatty" in out


def test_reboot_kills_processes_and_keeps_data(loop_phone) -> None:  # type: ignore[no-untyped-def]
    loop, phone = loop_phone

    async def go() -> None:
        null = os.open(os.devnull, os.O_RDWR)
        proc = await phone.spawn(["sleep", "999"], uid=0, env={}, stdin=null, stdout=null,
                                 stderr=null)
        os.close(null)
        up = await phone.run(["sh", "-c", "wg-quick up demo && touch /data/local/tmp/k"])
        assert up.status == 0, up.stderr
        await phone.reboot()
        assert await asyncio.wait_for(proc.wait(), 10) == 128 + 9
        after = await phone.run(["sh", "-c", "ls /sys/class/net; ls /data/local/tmp; "
                                 "pgrep wireguard-go || echo no-wg"])
        text = after.stdout.decode().split()
        assert "demo" not in text and "k" in text and "no-wg" in text

    loop.run_until_complete(go())
