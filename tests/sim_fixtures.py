"""Fixtures for tests against simulated phones (a pytest plugin loaded by conftest).

Everything here is real: a private adb server (the system adb), the simulator
daemon (`wgdroid sim`'s), phones in their own namespaces. Mark such tests
`@pytest.mark.sim` (they are skipped without root; never in CI).

Fixtures
--------
``adb_server`` (session) -> AdbServer
    A private adb server: ``ANDROID_ADB_SERVER_PORT`` = a free port and
    ``HOME`` = a temp dir (so ~/.android/adbkey is private), both exported to
    ``os.environ`` for the session (adbutils and the adb CLI follow them);
    ``ADBUTILS_ADB_PATH`` = the system adb. ``adb kill-server`` at teardown.
    ``.port``, ``.client`` (adbutils.AdbClient), ``.adb(*args)`` runs the adb
    CLI against it (CompletedProcess, text, no check).

``sim_state`` (session) -> SimClient
    The simulator daemon's client, with ``WGDROID_SIM_DIR`` = a private temp
    dir. The daemon starts on first use and exits when its last phone stops;
    teardown stops whatever is left.

``sim_phones`` -> callable
    ``sim_phones(n=1, profile="pixel", root=None, su_policy=None,
    su_timeout=None, userns=None)`` boots n phones concurrently, `adb connect`s them to the
    private server, waits for state `device`, and returns a list of SimPhone.
    Phones started through it are stopped (and disconnected) at teardown.

``sim_phone`` -> SimPhone
    One phone; parametrise it indirectly with the same keywords::

        @pytest.mark.parametrize("sim_phone", [{"root": "aosp"}], indirect=True)
        def test_x(sim_phone): ...

SimPhone
    ``.serial`` ("127.0.0.1:15555"), ``.port``, ``.info`` (the daemon's dict:
    profile, root, su_policy, tunnel_ip, server_tunnel_ip, pid, counters...),
    ``.adb`` (adbutils AdbDevice on the private server),
    ``.shell(cmd)`` -> CompletedProcess of ``adb -s SERIAL shell CMD`` (real CLI,
    exit status and separate stderr), ``.run_in_phone(cmd, uid=0, input=b"",
    timeout=60)`` -> RunResult(status, stdout, stderr) run inside the phone's
    namespaces without adb (a str goes through ``sh -c``), ``.set_su_policy(p,
    timeout=None)``, ``.answer_su(allow)`` (tap Grant/Deny on pending prompts),
    ``.counters()`` (streams served, fresh from the daemon).
    The phone has /data/misc/wireguard/demo.conf (0600, root) whose peer is the
    simulator's wireguard-go server at ``info["server_tunnel_ip"]`` (10.99.0.1),
    reachable only through the tunnel (``wg-quick up demo`` as root, then ping);
    ``info["tunnel_ip"]`` is the phone's address in it, ``info["uplink"]`` its
    eth0 address. ``sim_state.request("iperf")`` starts ``iperf3 -s`` there.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from wgdroid.sim.client import SimClient
from wgdroid.sim.phone.node import RunResult


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class AdbServer:
    port: int
    adb_path: str
    env: dict[str, str]

    def adb(self, *args: str, timeout: float = 60, input: str | None = None
            ) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.adb_path, *args], capture_output=True, text=True,
                              timeout=timeout, env=self.env, input=input,
                              stdin=None if input is not None else subprocess.DEVNULL)

    @property
    def client(self) -> Any:
        import adbutils

        return adbutils.AdbClient(host="127.0.0.1", port=self.port, socket_timeout=30)


@dataclass
class SimPhone:
    serial: str
    port: int
    info: dict[str, Any]
    server: AdbServer
    sim: SimClient = field(repr=False)

    @property
    def adb(self) -> Any:
        return self.server.client.device(serial=self.serial)

    def shell(self, cmd: str, timeout: float = 60, input: str | None = None
              ) -> subprocess.CompletedProcess[str]:
        return self.server.adb("-s", self.serial, "shell", cmd, timeout=timeout, input=input)

    def run_in_phone(self, cmd: str | list[str], *, uid: int = 0, input: bytes = b"",
                     timeout: float = 60) -> RunResult:
        argv = ["sh", "-c", cmd] if isinstance(cmd, str) else cmd
        return self.sim.run(self.serial, argv, uid=uid, input=input, timeout=timeout)

    def set_su_policy(self, policy: str, timeout: float | None = None) -> None:
        self.sim.request("su_policy", serial=self.serial, policy=policy, timeout=timeout)

    def answer_su(self, allow: bool) -> int:
        return int(self.sim.request("su_answer", serial=self.serial, allow=allow)["answered"])

    def counters(self) -> dict[str, int]:
        for p in self.sim.phones():
            if p["serial"] == self.serial:
                return dict(p["counters"])
        return {}


@pytest.fixture(scope="session")
def adb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdbServer]:
    adb_path = os.environ.get("ADBUTILS_ADB_PATH") or shutil.which("adb")
    if not adb_path:
        pytest.skip("needs adb")
    home = tmp_path_factory.mktemp("adb-home")
    port = free_port()
    saved = {k: os.environ.get(k) for k in ("ANDROID_ADB_SERVER_PORT", "HOME",
                                           "ADBUTILS_ADB_PATH")}
    os.environ.update(ANDROID_ADB_SERVER_PORT=str(port), HOME=str(home),
                      ADBUTILS_ADB_PATH=adb_path)
    server = AdbServer(port, adb_path, dict(os.environ))
    server.adb("start-server")
    try:
        yield server
    finally:
        server.adb("kill-server")
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="session")
def sim_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimClient]:
    state = Path(tmp_path_factory.mktemp("wgsim")) / "state"
    saved = os.environ.get("WGDROID_SIM_DIR")
    os.environ["WGDROID_SIM_DIR"] = str(state)
    client = SimClient(state)
    try:
        yield client
    finally:
        if client.running():
            client.request("shutdown")
            client.wait_gone()
        if saved is None:
            os.environ.pop("WGDROID_SIM_DIR", None)
        else:
            os.environ["WGDROID_SIM_DIR"] = saved


@pytest.fixture
def sim_phones(
    adb_server: AdbServer, sim_state: SimClient
) -> Iterator[Callable[..., list[SimPhone]]]:
    from wgdroid.sim import hostadb

    started: list[SimPhone] = []

    def start(n: int = 1, profile: str = "pixel", **opts: Any) -> list[SimPhone]:
        infos = sim_state.start(n, profile, **opts)
        phones = [SimPhone(i["serial"], i["port"], i, adb_server, sim_state) for i in infos]
        started.extend(phones)
        for phone in phones:
            hostadb.connect(phone.serial, adb_server.port)
        return phones

    yield start
    for phone in started:
        adb_server.adb("disconnect", phone.serial)
    if started and sim_state.running():
        live = {p["serial"] for p in sim_state.phones()}
        mine = [p.serial for p in started if p.serial in live]
        if mine:
            sim_state.stop(mine)


@pytest.fixture
def sim_phone(request: pytest.FixtureRequest, sim_phones: Callable[..., list[SimPhone]]
              ) -> SimPhone:
    opts = dict(getattr(request, "param", None) or {})
    return sim_phones(1, **opts)[0]
