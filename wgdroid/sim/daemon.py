"""The background simulator: one Simulator behind a control socket.

Started by `wgdroid sim start` (python -m wgdroid.sim.daemon STATE_DIR); it
exits, removing everything it made, when its last phone is stopped or on
SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

from wgdroid.errors import UsageError, WgdroidError
from wgdroid.sim.control import REQUEST_LIMIT, SERIALS_FILE, socket_path
from wgdroid.sim.phone.phone import Phone
from wgdroid.sim.profiles import resolve
from wgdroid.sim.simulator import Simulator
from wgdroid.sim.vm.phones import PHONE_OPS, VmPhones


def describe(phone: Phone) -> dict[str, Any]:
    from wgdroid.sim.network import Uplink

    uplink = Uplink(phone.index)
    return {
        "serial": phone.serial,
        "port": phone.port,
        "index": phone.index,
        "profile": phone.profile.name,
        "model": phone.profile.model,
        "root": phone.profile.root,
        "su_policy": phone.su_policy,
        "su_timeout": phone.su_timeout,
        "pid": phone.pid,
        "adbd_root": phone.adbd_root,
        "userns": phone.profile.userns,
        "android_net": phone.profile.android_net,
        "uplink": uplink.address,
        "tunnel_ip": uplink.tunnel_ip,
        "server_tunnel_ip": str(Simulator.server_tunnel_ip),
        "counters": dict(phone.counters.counts),
        "kernel": "host",  # the VM's phones say "vm" (wgdroid.sim.vm.phones)
    }


class Daemon:
    def __init__(self, state: Path) -> None:
        self.state = state
        self.sim = Simulator(state)
        self.vm = VmPhones(state / "vm", self.sim)  # nothing runs until a VM phone starts
        self.done = asyncio.Event()
        self.server: asyncio.AbstractServer | None = None

    async def serve(self) -> None:
        path = socket_path(self.state)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        old = os.umask(0o177)
        try:
            self.server = await asyncio.start_unix_server(self._client, str(path),
                                                          limit=REQUEST_LIMIT)
        finally:
            os.umask(old)
        inode = path.stat().st_ino
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(sig, self.done.set)
        try:
            await self.done.wait()
        finally:
            self.server.close()
            await asyncio.gather(self.vm.close(), self.sim.close())
            # Only our own socket: a new daemon may already be listening there.
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_ino == inode:
                    path.unlink()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        reply = await self.answer(await reader.readline())
        with contextlib.suppress(ConnectionError):
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()
            writer.close()

    async def answer(self, line: bytes) -> dict[str, Any]:
        """The reply to one request line (also what the VM guest answers with)."""
        try:
            return {"ok": True, **await self.handle(json.loads(line))}
        except WgdroidError as exc:
            return {"ok": False, "kind": type(exc).__name__, "error": exc.message,
                    "hint": exc.hint}
        except Exception as exc:  # report, keep serving the other phones
            return {"ok": False, "kind": "WgdroidError",
                    "error": f"simulator: {type(exc).__name__}: {exc}"}

    def _save_serials(self) -> None:
        """For the next `sim start` after a crash: which adb entries are stale."""
        path = self.state / SERIALS_FILE
        path.write_text("".join(f"{s}\n" for s in [
            *(p.serial for p in self.sim.phones.values()), *self.vm.phones]))

    async def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        op = req.get("op")
        if op == "ping":
            return {"pid": os.getpid()}
        if op in PHONE_OPS and self.vm.owns(str(req.get("serial"))):
            return await self.vm.forward(req)
        if op == "start":
            if req.get("kernel", "host") not in ("host", "vm"):
                raise UsageError(f"unknown kernel {req.get('kernel')!r} (host or vm)")
            if req.get("kernel") == "vm":
                vm_phones = await self.vm.start(req)
                self._save_serials()
                return {"phones": vm_phones}
            profile = resolve(req.get("profile") or "pixel", root=req.get("root"),
                              su_policy=req.get("su_policy"), su_timeout=req.get("su_timeout"),
                              userns=req.get("userns"), android_net=req.get("android_net"))
            avoid = req.get("avoid_ports") or []
            if not isinstance(avoid, list) or not all(
                    isinstance(p, int) and not isinstance(p, bool) for p in avoid):
                raise UsageError("avoid_ports must be a list of port numbers")
            phones = await self.sim.add_phones(int(req.get("devices", 1)), profile,
                                               first_port=req.get("port"), avoid_ports=avoid)
            self._save_serials()
            return {"phones": [describe(p) for p in phones]}
        if op == "list":
            return {"phones": [describe(p) for p in self.sim.phones.values()]
                    + await self.vm.listing()}
        if op == "stop":
            serials = [str(s) for s in req.get("serials", [])]
            in_vm = list(self.vm.phones) if req.get("all") else [
                s for s in serials if self.vm.owns(s)]
            targets = (list(self.sim.phones.values()) if req.get("all")
                       else [self.sim.find(s) for s in serials if s not in in_vm])
            _, vm_stopped = await asyncio.gather(
                asyncio.gather(*(self.sim.remove_phone(p) for p in targets)),
                self.vm.stop(in_vm))
            self._save_serials()
            if req.get("all"):
                self.done.set()
            return {"stopped": [p.serial for p in targets] + vm_stopped}
        if op == "run":
            phone = self.sim.find(str(req["serial"]))
            result = await phone.run(
                [str(a) for a in req["argv"]], uid=int(req.get("uid", 0)),
                input=base64.b64decode(req.get("input", "")),
                timeout=float(req.get("timeout", 60)))
            return {"status": result.status,
                    "stdout": base64.b64encode(result.stdout).decode(),
                    "stderr": base64.b64encode(result.stderr).decode()}
        if op == "su_policy":
            phone = self.sim.find(str(req["serial"]))
            phone.set_su_policy(str(req["policy"]), req.get("timeout"))
            return describe(phone)
        if op == "su_answer":
            phone = self.sim.find(str(req["serial"]))
            return {"answered": phone.answer_su(bool(req["allow"]))}
        if op == "reboot":
            phone = self.sim.find(str(req["serial"]))
            # Through adbd when there is one, so the transport drops as on a phone.
            await (phone.reboot_handler or phone.reboot)()
            return {}
        if op == "iperf":
            return {"address": await self.sim.start_iperf()}
        if op == "shutdown":
            self.done.set()
            return {}
        raise UsageError(f"unknown simulator request {op!r}")


def main() -> None:
    state = Path(sys.argv[1])
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o700)
    try:
        asyncio.run(Daemon(state).serve())
    finally:
        for name in ("daemon.pid", SERIALS_FILE):
            with contextlib.suppress(FileNotFoundError):
                (state / name).unlink()
        # Leave the log only if something went wrong enough to need it.
        if not any(p.name != "daemon.log" for p in state.iterdir()):
            shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
