"""A simulated rooted phone: the PhoneRuntime the ADB side drives."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wgdroid.sim.phone.node import Node, NodeProcess, RunResult
from wgdroid.sim.phone.spec import USERNS_SIZE, NodeSpec
from wgdroid.sim.profiles import Profile
from wgdroid.sim.runtime_api import PhoneIdentity, PhoneRuntime, StreamCounters

USERNS_BASE = 1 << 20  # above any normal host uid


def python_paths() -> tuple[str, str, list[str]]:
    """(base interpreter, venv interpreter, dirs the phone must see read-only)."""
    base = os.path.realpath(os.path.join(sys.base_prefix, "bin", "python3"))
    if not os.path.exists(base):
        base = os.path.realpath(sys.executable)
    package_root = str(Path(__file__).resolve().parents[3])  # the tree holding wgdroid/
    binds: list[str] = []
    for path in (package_root, sys.prefix, sys.base_prefix):
        path = os.path.realpath(path)
        # Skip anything already visible through the bound /usr, and duplicates.
        if path.startswith("/usr/") or any(path == b or path.startswith(b + "/") for b in binds):
            continue
        binds.append(path)
    return base, sys.executable, binds


class Phone:
    """One phone: its own network + mount namespaces, a root that looks like
    Android, and a su daemon with a policy. Implements runtime_api.PhoneRuntime."""

    def __init__(self, profile: Profile, index: int, home: Path) -> None:
        self.profile = profile
        self.index = index
        self.home = home  # host dir with root/, data/, log
        self.identity = PhoneIdentity(
            product_name=profile.product, model=profile.model, device=profile.device
        )
        self.counters = StreamCounters()
        self.adbd_root = profile.adbd_root
        self.debuggable = profile.debuggable
        self.su_policy = profile.su_policy
        self.su_timeout = profile.su_timeout
        self.serial = ""
        self.port = 0
        self.port_fixed = False  # the user chose the port: don't move it
        self._pending: dict[int, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # What `reboot` typed in the phone triggers: the ADB side sets its own
        # (drop the transport, then runtime.reboot()); else a bare reboot.
        self.reboot_handler: Callable[[], Coroutine[Any, Any, None]] | None = None
        self.node = Node(self._spec(), str(home / "log"), on_event=self._on_event)

    @property
    def _uid_base(self) -> int:
        # Each phone its own host uid range: phone A's root is not phone B's.
        return USERNS_BASE + self.index * USERNS_SIZE if self.profile.userns else 0

    @property
    def name(self) -> str:
        return f"phone{self.index}"

    def _spec(self) -> NodeSpec:
        base, venv, binds = python_paths()
        su = self.profile.root
        variant = {"magisk": "magisk", "kernelsu": "kernelsu", "aosp": "aosp",
                   "adb-root": "aosp"}.get(su, "none")
        return NodeSpec(
            kind="phone",
            name=self.name,
            data_dir=str(self.home / "data"),
            props=self.profile.props(),
            tools=sorted(self.profile.tools),
            su_variant=variant,
            su_versions={
                "magisk": [self.profile.magisk_version, self.profile.magisk_code],
                "kernelsu": [self.profile.kernelsu_version, self.profile.kernelsu_code],
            },
            env=self.profile.environment(),
            base_python=base,
            venv_python=venv,
            ro_binds=binds,
            userns=self.profile.userns,
            uid_base=self._uid_base,
        )

    async def boot(self) -> None:
        (self.home / "data").mkdir(parents=True, exist_ok=True)
        if self.profile.userns:
            # The phone's root must own its /data to lay it out.
            os.chown(self.home / "data", self._uid_base, self._uid_base)
        await self.node.start()

    @property
    def pid(self) -> int:
        """The phone's init (zygote): /proc/PID/ns/{net,mnt} are the phone's."""
        return self.node.pid

    # -- PhoneRuntime -----------------------------------------------------------
    async def spawn(
        self,
        argv: Sequence[str],
        *,
        uid: int,
        env: Mapping[str, str],
        stdin: int,
        stdout: int,
        stderr: int,
        cwd: str = "/",
        setsid_ctty: bool = False,
    ) -> NodeProcess:
        # Like init's environment under what adbd sets (HOME, TERM, ...).
        full_env = {**self.profile.environment(), **env}
        return await self.node.spawn(
            argv, uid=uid, env=full_env, stdin=stdin, stdout=stdout, stderr=stderr,
            cwd=cwd, setsid_ctty=setsid_ctty,
        )

    async def reboot(self) -> None:
        """Kill every process (tunnels go down with wireguard-go), wipe /run and
        /tmp, keep /data; adbd comes back unrooted unless the profile runs it as root."""
        self._deny_pending(answer=False)
        await self.node.request({"op": "reboot"}, "rebooted")
        # Interfaces the processes left behind (e.g. a kernel-less wg0 is gone
        # with wireguard-go, but a dummy link would stay).
        await self.run(
            ["sh", "-c", "for i in $(ls /sys/class/net); do case $i in lo|eth0) ;; "
             "*) ip link del \"$i\" 2>/dev/null;; esac; done"]
        )
        self.adbd_root = self.profile.adbd_root

    # -- helpers for the simulator, tests and the TUI ---------------------------
    async def run(
        self,
        argv: Sequence[str],
        *,
        uid: int = 0,
        input: bytes = b"",
        timeout: float = 60.0,  # noqa: ASYNC109 (the child's deadline)
    ) -> RunResult:
        """Run argv inside the phone (as root by default) and collect its output."""
        return await self.node.run(
            argv, uid=uid, env=self.profile.environment(), input=input, timeout=timeout
        )

    def set_su_policy(self, policy: str, timeout: float | None = None) -> None:
        self.su_policy = policy  # type: ignore[assignment]
        if timeout is not None:
            self.su_timeout = timeout

    def answer_su(self, allow: bool) -> int:
        """Tap Grant/Deny on every pending prompt; returns how many there were."""
        return self._deny_pending(answer=allow)

    @property
    def pending_su(self) -> int:
        return len(self._pending)

    def _deny_pending(self, *, answer: bool) -> int:
        reqs = list(self._pending)
        for req in reqs:
            self._pending.pop(req).cancel()
            self._answer(req, answer)
        return len(reqs)

    def _answer(self, req: int, allow: bool) -> None:
        self._pending.pop(req, None)
        with contextlib.suppress(OSError):
            self.node.send({"op": "su_answer", "req": req, "allow": allow})

    def _on_event(self, msg: dict[str, Any]) -> None:
        op = msg.get("op")
        if op == "su_request":
            req = int(msg["req"])
            if self.su_policy == "grant":
                self._answer(req, True)
            elif self.su_policy == "deny":
                self._answer(req, False)
            else:  # pending: nobody taps; Magisk denies when the prompt times out
                loop = asyncio.get_running_loop()
                self._pending[req] = loop.call_later(self.su_timeout, self._answer, req, False)
        elif op == "reboot_request":
            handler = self.reboot_handler or self.reboot
            task: asyncio.Task[None] = asyncio.get_running_loop().create_task(handler())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        self._deny_pending(answer=False)
        await self.node.stop()


if TYPE_CHECKING:

    def _conforms(phone: Phone) -> PhoneRuntime:  # mypy checks Phone against the contract
        return phone
