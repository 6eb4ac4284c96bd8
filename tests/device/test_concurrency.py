"""Issue 13 item 1: two wgdroid operations on one tunnel never undo each
other's work. 20 rounds each of enable||enable, push||push, enable||disable
and rename||enable against a simulated phone (real adb, su, wg-quick and
wireguard-go); after each round the phone's state is what the two outcomes
say, and an operation that succeeded (exit 0) left the state it claims."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sim_phone_io import demo_config, on_phone

from wgdroid.errors import WgdroidError, exit_code_for

pytestmark = pytest.mark.sim

ROUNDS = int(os.environ.get("WGDROID_CONCURRENCY_ROUNDS", "20"))
STORE = "/data/misc/wireguard"


def together(*ops: Callable[[], Any]) -> list[tuple[int, Any]]:
    """Run OPS at once (released by one barrier); (exit code, value or error) each."""
    barrier = threading.Barrier(len(ops))
    results: list[tuple[int, Any]] = [(-1, None)] * len(ops)

    def run(i: int, op: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[i] = (0, op())
        except WgdroidError as exc:
            results[i] = (int(exit_code_for(exc)), exc)

    threads = [threading.Thread(target=run, args=(i, op)) for i, op in enumerate(ops)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


class Phone:
    def __init__(self, sim_phone: Any) -> None:
        from wgdroid.device.connection import connect

        self.sim = sim_phone
        self.device = connect(sim_phone.serial)

    def sh(self, cmd: str) -> str:
        return on_phone(self.sim, cmd)

    def up(self, name: str) -> bool:
        return self.sim.run_in_phone(f"wg show {name} >/dev/null 2>&1").status == 0

    def stored(self) -> set[str]:
        return set(self.sh(f"ls -a {STORE}").split())

    def port(self, name: str) -> str:
        return self.sh(f"wg show {name} listen-port").strip()


@pytest.fixture
def phone(sim_phone: Any) -> Phone:
    return Phone(sim_phone)


def demo(phone: Phone, tmp_path: Path) -> str:
    return demo_config(phone.sim, tmp_path).decode()


def test_enable_and_enable(phone: Phone) -> None:
    from wgdroid.device.control import disable, enable

    for n in range(ROUNDS):
        (a, ra), (b, rb) = together(lambda: enable(phone.device, "demo"),
                                    lambda: enable(phone.device, "demo"))
        assert sorted([a, b]) == [0, 8], (n, ra, rb)  # one brings it up; the other: already up
        assert phone.up("demo"), n
        disable(phone.device, "demo")
        assert not phone.up("demo")


def test_push_and_push(phone: Phone, tmp_path: Path) -> None:
    from wgdroid.config.parser import parse
    from wgdroid.device import store
    from wgdroid.device.control import Backend, disable

    text = re.sub(r"ListenPort = .*\n", "", demo(phone, tmp_path))
    ports = ("51101", "51102")
    confs = [text.replace("[Interface]\n", f"[Interface]\nListenPort = {p}\n").encode()
             for p in ports]
    for conf in confs:
        parse(conf)  # both valid
    for n in range(ROUNDS):
        if n % 2:  # every other round onto a running tunnel (changed in place)
            assert phone.up("pp") or store.push(phone.device, confs[0], "pp",
                                                enable=Backend.AUTO).backend
        (a, ra), (b, rb) = together(
            lambda: store.push(phone.device, confs[0], "pp", enable=Backend.AUTO),
            lambda: store.push(phone.device, confs[1], "pp", enable=Backend.AUTO))
        assert (a, b) == (0, 0), (n, ra, rb)
        stored = phone.sh(f"sed -n 's/^ListenPort = //p' {STORE}/pp.conf").strip()
        assert stored in ports and phone.port("pp") == stored, n  # what runs is what is stored
        assert not [f for f in phone.stored() if ".tmp." in f], n
        if n % 2 == 0:
            disable(phone.device, "pp")
    store.remove(phone.device, "pp", force=True)


def test_enable_and_disable(phone: Phone) -> None:
    from wgdroid.device.control import disable, enable

    orders = {"disable first": 0, "enable first": 0}
    for n in range(ROUNDS):
        (a, ra), (b, rb) = together(lambda: enable(phone.device, "demo"),
                                    lambda: disable(phone.device, "demo"))
        assert (a, b) == (0, 0), (n, ra, rb)
        # The disable that found it up ran second: down. One that found nothing ran first.
        assert phone.up("demo") == (rb.action == "noop"), (n, rb.action)
        orders["disable first" if rb.action == "noop" else "enable first"] += 1
        if phone.up("demo"):
            disable(phone.device, "demo")
    print(f"\nenable||disable, {ROUNDS} rounds: {orders}")


def test_rename_and_enable(phone: Phone, tmp_path: Path) -> None:
    from wgdroid.device import store
    from wgdroid.device.control import disable, enable

    store.push(phone.device, demo(phone, tmp_path).encode(), "ra")
    orders = {"rename first": 0, "enable first": 0}
    for n in range(ROUNDS):
        (a, ra), (b, rb) = together(lambda: store.rename(phone.device, "ra", "rb"),
                                    lambda: enable(phone.device, "ra"))
        files = phone.stored()
        if a == 0:  # renamed first: there was no ra to enable
            assert b == 7 and {"rb.conf"} <= files and "ra.conf" not in files, (n, rb)
            assert not phone.up("ra") and not phone.up("rb")
            store.rename(phone.device, "rb", "ra")
            orders["rename first"] += 1
        else:  # enabled first: ra is up, so it was not renamed
            assert (a, b) == (8, 0) and "ra.conf" in files and "rb.conf" not in files, (n, ra)
            assert phone.up("ra")
            disable(phone.device, "ra")
            orders["enable first"] += 1
    print(f"\nrename||enable, {ROUNDS} rounds: {orders}")
    store.remove(phone.device, "ra", force=True)


def test_a_tunnel_held_too_long_is_busy(phone: Phone) -> None:
    """Another operation that does not let go: a bounded wait, then exit 8."""
    import time

    from wgdroid.device.control import enable

    locks = f"{STORE}/.wgdroid/locks"
    phone.sh(f"mkdir -p {locks}")
    # toybox's flock (Android's) takes a file descriptor, not a file and a command.
    holder = threading.Thread(target=phone.sh, daemon=True, args=(
        f"sh -c '{{ flock -x 9 && echo $$ > {locks}/holder && exec sleep 20; }} "
        f"9>>{locks}/demo.lock'",))
    holder.start()
    try:
        from support import wait_until

        wait_until(lambda: phone.sh(f"cat {locks}/holder 2>/dev/null").strip(),
                   what="the lock to be held on the phone")
        start = time.monotonic()
        ((code, err),) = together(lambda: enable(phone.device, "demo", timeout=12))
        assert code == 8 and "tunnel 'demo' is busy" in err.message, err
        assert time.monotonic() - start < 12 and not phone.up("demo")
    finally:
        phone.sh(f"kill $(cat {locks}/holder); rm -f {locks}/holder")
        holder.join(30)
    assert enable(phone.device, "demo").action == "up"  # let go: the next one goes through
