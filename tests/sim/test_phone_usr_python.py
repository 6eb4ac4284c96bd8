"""An Android phone run by an interpreter under /usr (Debian's /usr/bin/python3,
what the README's test command uses on a fresh Debian or Ubuntu machine)
hides the host's tree as any Android phone does: no /usr, /lib*, /sbin or
/var on its root (it kept them all), while that interpreter, its venv and
the shims it runs still work from /system/usr."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from wgdroid.sim.phone.node import Node
from wgdroid.sim.phone.phone import python_paths
from wgdroid.sim.phone.spec import PHONE_USR, NodeSpec

pytestmark = pytest.mark.sim

USR_PYTHON = os.path.realpath("/usr/bin/python3")


@pytest.mark.skipif(not USR_PYTHON.startswith("/usr/bin/python3."),
                    reason="needs the distribution's /usr/bin/python3")
def test_a_usr_interpreter_runs_from_system_usr(tmp_path: Path) -> None:
    venv = tmp_path / "venv"  # a venv as `python3 -m venv` makes it on Debian
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(venv)], check=True)
    assert os.readlink(venv / "bin/python3") == "/usr/bin/python3"
    (tmp_path / "data").mkdir()
    spec = NodeSpec(kind="phone", name="usrpy", data_dir=str(tmp_path / "data"),
                    tools=["wg-quick-android"], base_python=USR_PYTHON,
                    venv_python=str(venv / "bin/python"),
                    ro_binds=[*python_paths()[2], str(venv)], android_net=True)

    async def probe() -> list[tuple[int, str, str]]:
        node = Node(spec, str(tmp_path / "log"))
        await node.start()
        try:
            results = []
            for argv in (
                ["/system/bin/ls", "/"],
                ["/system/bin/ls", "-d", "/usr", "/lib", "/lib64", "/sbin", "/var"],
                [spec.phone_venv_python, "-c", "import sys, ssl, json, sqlite3; "
                 "print(sys.prefix, sys.base_prefix, sys.executable)"],
                ["/system/bin/wg-quick"],  # the shims' #! is the interpreter's copy
            ):
                res = await node.run(argv, env={"PATH": "/system/bin"})
                results.append((res.status, res.stdout.decode(), res.stderr.decode()))
            return results
        finally:
            await node.stop()

    (_, ls, _), (_, _, gone), (py_status, py, py_err), (wgq_status, _, wgq_err) = asyncio.run(
        probe())
    assert "system" in ls.split(), ls
    assert not set(ls.split()) & {"usr", "lib", "lib64", "lib32", "libx32", "sbin", "var"}, ls
    for path in ("/usr", "/lib", "/lib64", "/sbin", "/var"):
        assert f"{path}: No such file or directory" in gone, gone
    assert py_status == 0, py_err
    on_phone = spec.on_phone(str(venv))  # under /system, as every host tree the phone runs
    assert py.split() == [on_phone, PHONE_USR, f"{on_phone}/bin/python"], py
    # wg-quick's usage, from Python: not `not found` (a #! to /usr/bin/python3.X).
    assert wgq_status == 1 and "Usage: " in wgq_err, (wgq_status, wgq_err)
