"""A batch cut off mid-way on a simulated phone: store.push_many (and
`wgdroid import`) when the host stops waiting or the adb link drops while
an entry waits for its tunnel's lock (held by another root process, as a
second wgdroid would). The entries whose answer came say what they did, and
it holds on the phone; the rest are not known, never "stored" nor "not
stored"."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sim_phone_io import demo_config, on_phone, tunnel_config
from support import wait_until
from support import wgdroid as cli

from wgdroid.device import script as sc
from wgdroid.device import store
from wgdroid.device.connection import connect
from wgdroid.device.rootshell import run_root
from wgdroid.errors import OperationTimeout

pytestmark = pytest.mark.sim

STORE = "/data/misc/wireguard"
LOCKS = f"{STORE}/.wgdroid/locks"  # sh/lib.sh `locked`: LOCK_DIR/NAME.lock


@contextmanager
def holding_lock(phone: Any, name: str) -> Iterator[None]:
    """NAME's tunnel lock held by another root process on the phone (flock on
    its lock file, as `locked` takes it) until the block ends (60 s at most)."""
    held = f"{STORE}/.wgdroid/held-{name}"
    holder = threading.Thread(target=phone.run_in_phone, args=(
        f"mkdir -p {LOCKS} && {{ flock -x 8; : > {held}; i=0; "
        f"while [ -e {held} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done; }} "
        f"8>>{LOCKS}/{name}.lock",), kwargs={"timeout": 90})
    holder.start()
    try:
        wait_until(lambda: on_phone(phone, f"ls {held} 2>/dev/null"), check=bool, timeout=10,
                   what=f"another process holding {name}'s lock")
        yield
    finally:
        on_phone(phone, f"rm -f {held}")
        holder.join(30)


def waiting_for_a_lock(phone: Any) -> str:
    """A script waiting for a tunnel's lock: its `timeout ... flock -x 8` (toybox
    runs flock in the timeout's child without an exec: both show that line;
    the anchor keeps out the holder's and this probe's own shells)."""
    return on_phone(phone, "pgrep -f '^timeout --foreground [0-9]+ flock -x 8$' || true").strip()


def five(phone: Any, tmp_path: Path, base: int) -> list[tuple[str, bytes, str]]:
    demo = demo_config(phone, tmp_path)
    return [(f"cut{i}", *tunnel_config(demo, 52400 + base + i, base + i)) for i in range(1, 6)]


def test_a_host_timeout_mid_batch_keeps_what_the_entries_before_said(
        sim_phone: Any, tmp_path: Path) -> None:
    """The user taps Grant 10 s into a 14 s deadline: the script's own budget
    starts at the grant, so the host's deadline comes first, while the third
    entry waits for its lock. It used to raise OperationTimeout and lose the
    two stored before; they say stored now (and are), the three after are
    not known, exiting as a timeout does (12)."""
    device = connect(sim_phone.serial)
    tunnels = five(sim_phone, tmp_path, 100)
    stop = threading.Event()

    def tap_late() -> None:  # the user, at the su prompt
        if stop.wait(10):
            return
        while not stop.is_set() and not sim_phone.answer_su(True):
            stop.wait(0.05)

    with holding_lock(sim_phone, "cut3"):
        sim_phone.set_su_policy("pending", timeout=120)
        tapper = threading.Thread(target=tap_late, daemon=True)
        tapper.start()
        start = time.monotonic()
        try:
            outcomes = store.push_many(device, [(n, data) for n, data, _ in tunnels],
                                       root_timeout=30, timeout=14)
        finally:
            took = time.monotonic() - start
            stop.set()
            tapper.join(10)
            sim_phone.set_su_policy("grant")
    print(f"\npush_many cut off by the host's deadline after {took:.1f} s")
    assert [(o.name, o.known, o.error is None) for o in outcomes] == [
        ("cut1", True, True), ("cut2", True, True), ("cut3", False, False),
        ("cut4", False, False), ("cut5", False, False)]
    for o in outcomes[2:]:
        assert isinstance(o.error, OperationTimeout) and o.error.exit_code == 12
        assert o.error.message == (f"{o.name}: not known whether it is stored: the batch was "
                                   "cut off (timeout) before this entry answered")
    for o in outcomes:
        said = f"{o.error} {o.error.hint}" if o.error else repr(o.result)
        assert not any(private in said for _, _, private in tunnels)
    assert 13.5 < took < 20
    assert store.pull_many(device, ["cut1", "cut2"]) == {n: d for n, d, _ in tunnels[:2]}


def test_cli_import_cut_by_a_dropped_link_reports_each_tunnel(
        sim_phone: Any, adb_server: Any, tmp_path: Path) -> None:
    """`wgdroid import` of five files; the adb link drops while the third
    waits for its lock. It used to end in one "connection broke" error (exit
    3) with no word of the two stored: now the JSON has those two stored and
    the other three `stored` null (not known, exit code 3 each), stderr says
    each of the three is not known, once how to look, and the exit is 10
    (some stored, the rest not known)."""
    from wgdroid.sim import hostadb

    serial = sim_phone.serial
    tunnels = five(sim_phone, tmp_path, 110)
    files = []
    for name, data, _ in tunnels:
        path = tmp_path / f"{name}.conf"
        path.write_bytes(data)
        path.chmod(0o600)
        files.append(str(path))
    ran: dict[str, Any] = {}
    with holding_lock(sim_phone, "cut3"):
        importer = threading.Thread(
            target=lambda: ran.update(res=cli("import", "-s", serial, *files, "--json")))
        importer.start()
        wait_until(lambda: waiting_for_a_lock(sim_phone), timeout=30,
                   what="the third entry waiting for its lock")
        # The two answers before it were written on the phone before that
        # wait began; this lets them cross adb to the host.
        time.sleep(1.0)
        adb_server.adb("disconnect", serial)
        importer.join(60)
    hostadb.connect(serial, adb_server.port)
    res = ran["res"]
    assert res.returncode == 10, res.stderr
    doc = json.loads(res.stdout)
    assert [(t["name"], t["stored"], t["error"] and t["error"]["exit_code"])
            for t in doc["tunnels"]] == [("cut1", True, None), ("cut2", True, None),
                                         ("cut3", None, 3), ("cut4", None, 3), ("cut5", None, 3)]
    for name in ("cut3", "cut4", "cut5"):
        assert (f"wgdroid: error: {name}: not known whether it is stored: the batch was cut "
                "off (the adb connection broke) before this entry answered") in res.stderr
    assert res.stderr.count("`wgdroid list` shows what the phone stores") == 1
    assert res.stderr.rstrip().endswith("imported 2 of 5 tunnels, 3 not known (cut off)")
    assert not any(private in res.stdout + res.stderr for _, _, private in tunnels)
    device = connect(serial)
    assert store.pull_many(device, ["cut1", "cut2"]) == {n: d for n, d, _ in tunnels[:2]}


def test_a_root_script_cut_off_keeps_its_answer_only_when_asked(sim_phone: Any) -> None:
    """rootshell.run_root: what the script had printed when the host stopped
    waiting comes with the error as `partial_stdout` when the caller asks
    (push_many's records), never in its message; otherwise (a pull's stdout
    is a config) it is not kept at all."""
    device = connect(sim_phone.serial)
    script = sc.Script().render() + "out 'PrivateKey = sofar'\nsleep 8\n"
    for keep in (True, False):
        with pytest.raises(OperationTimeout) as caught:
            run_root(device, script, timeout=3, keep_partial=keep)
        assert caught.value.partial_stdout == (b"PrivateKey = sofar\n" if keep else None)
        assert "sofar" not in f"{caught.value} {caught.value!r} {caught.value.hint}"
