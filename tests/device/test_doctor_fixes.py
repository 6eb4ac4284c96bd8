"""Issue 13 item 10: on every simulated phone, doctor says only what it saw,
and every fix it prints as a wgdroid command works there: each one is run,
then doctor asked again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from host_tools import host_tools
from support import wgdroid as cli

from wgdroid.sim.profiles import PROFILES

pytestmark = pytest.mark.sim


def doctor(phone: Any) -> dict[str, Any]:
    res = cli("doctor", "-s", phone.serial, "--json")
    assert res.returncode == 0, res.stderr
    return dict(json.loads(res.stdout)["devices"][0])


def as_phone_build(tools: Path) -> None:
    """The host's wg and wireguard-go keep UAPI sockets in /var/run/wireguard,
    which a phone's read-only root can't have; a build for a phone names a dir
    it can make (wg's RUNSTATEDIR, wireguard-go's ipc.socketDirectory): one
    on /data, patched in at the same length."""
    for name in ("wg", "wireguard-go"):
        binary = tools / name
        data = binary.read_bytes()
        assert b"/var/run/wireguard" in data, name
        binary.write_bytes(data.replace(b"/var/run/wireguard", b"/data/wg/wireguard"))


@pytest.mark.parametrize("sim_phone", [{"profile": p} for p in sorted(PROFILES)],
                         indirect=True, ids=sorted(PROFILES))
def test_every_fix_doctor_prints_works_on_that_phone(sim_phone: Any, tmp_path: Path) -> None:
    caps = doctor(sim_phone)
    ran: list[tuple[str, ...]] = []
    for advice in caps["advice"]:
        command = advice["command"]
        assert advice["fix"], advice
        if command is None or tuple(command) in ran:
            continue
        if "DIR" in command:  # tools built for the phone: the host's, made so here
            tools = host_tools(tmp_path / str(len(ran)), ("wg", "wg-quick", "wireguard-go"), None)
            as_phone_build(tools)
            command = [str(tools) if c == "DIR" else c for c in command]
        res = cli(*command, "-s", sim_phone.serial, timeout=180)
        assert res.returncode == 0, f"doctor's fix `wgdroid {' '.join(command)}`: {res.stderr}"
        ran.append(tuple(advice["command"]))
    after = doctor(sim_phone)
    print(f"\n{sim_phone.info['profile']}: fixes run {ran}; ready {caps['ready']} -> "
          f"{after['ready']}; left: {[a['problem'] for a in after['advice']]}")
    if ran:
        assert after["ready"], after["advice"]
    if after["ready"]:
        assert after["advice"] == []  # a ready phone has no problems (no kernel module or not)
    else:  # what no wgdroid command can fix: the kernel, or root
        assert all(a["command"] is None for a in after["advice"]), after["advice"]
    check = cli("doctor", "-s", sim_phone.serial, "--check")
    assert check.returncode == (0 if after["ready"] else 9), check.stderr


@pytest.mark.parametrize("sim_phone", [{"su_policy": "deny"}], indirect=True)
def test_with_root_denied_doctor_says_it_could_not_look(sim_phone: Any) -> None:
    """It used to report the tools it could not see as missing, with fixes for them."""
    caps = doctor(sim_phone)
    assert caps["root_method"] is None and caps["looked_as_root"] is False
    assert [a["problem"] for a in caps["advice"]] == [
        f"could not look: root was denied ({caps['root_error']})"]
    assert caps["sdk"] == 34  # what the shell user can see is still said
