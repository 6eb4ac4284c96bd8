"""A simulated rooted phone: the PhoneRuntime the ADB side drives."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wgdroid.errors import EnvironmentProblem, UsageError
from wgdroid.sim.phone import boot
from wgdroid.sim.phone.node import Node, NodeProcess, RunResult
from wgdroid.sim.phone.spec import USERNS_SIZE, NodeSpec
from wgdroid.sim.profiles import Profile, check_su_policy
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
        # Skip duplicates, and /usr (Debian's sys.base_prefix): the kinder phone
        # binds all of it, an Android one its interpreter and stdlib at
        # /system/usr (rootfs._python_for_phone).
        if path == "/usr" or path.startswith("/usr/") or any(
                path == b or path.startswith(b + "/") for b in binds):
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
        self.port_avoid: frozenset[int] = frozenset()  # ports it must not move to
        self._pending: dict[int, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # What `reboot` typed in the phone triggers: the ADB side sets its own
        # (drop the transport, then runtime.reboot()); else a bare reboot.
        self.reboot_handler: Callable[[], Coroutine[Any, Any, None]] | None = None
        self.node = Node(self._spec(), str(home / "log"), on_event=self._on_event)
        self._netd: NodeProcess | None = None
        self._uplink: tuple[str, str, str, list[str]] | None = None

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
            su_allowed=self.su_policy == "grant",
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
            android_net=self.profile.android_net,
        )

    async def boot(self) -> None:
        (self.home / "data").mkdir(parents=True, exist_ok=True)
        if self.profile.userns:
            # The phone's root must own its /data to lay it out.
            os.chown(self.home / "data", self._uid_base, self._uid_base)
        await self.node.start()
        await self._early_boot()

    async def _early_boot(self) -> None:
        """Up to netd: the root solution's post-fs-data stage and module mounts
        (wgdroid.sim.phone.boot), then init's netd."""
        if self.node.spec.su_variant in ("magisk", "kernelsu"):
            await self._stage(boot.post_fs_data(), wait=boot.POST_FS_DATA_TIMEOUT)
            await self.node.request({"op": "magic_mount"}, "mounted")
            if script := boot.post_mount(self.node.spec.su_variant):
                await self._stage(script, wait=boot.POST_FS_DATA_TIMEOUT)
        await self._start_netd()

    async def late_boot(self, iface: str, address: str, gateway: str, dns: list[str]) -> None:
        """late_start: the service stage starts (it does not wait for the
        network), the uplink comes up, then the boot completes."""
        variant = self.node.spec.su_variant
        if variant in ("magisk", "kernelsu"):
            await self._stage(boot.late_start_service(), wait=None)
        await self.network_up(iface, address, gateway, dns)
        if script := boot.boot_completed(variant):
            await self._stage(script, wait=None)

    async def _stage(self, script: str, *, wait: float | None) -> None:
        """Run a boot stage as root with the root solution's environment; wait
        at most `wait` seconds (None: start it and go on)."""
        env = {**self.profile.environment(),
               **boot.environment(self.node.spec.su_variant, self.node.spec.su_versions)}
        if self.node.spec.su_variant == "magisk":
            env["PATH"] = f"{env['PATH']}:{boot.MAGISK_TMP}"
        null = os.open(os.devnull, os.O_RDWR)
        log = os.open(self.node.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            proc = await self.node.spawn(["sh", "-c", script], uid=0, env=env, stdin=null,
                                         stdout=log, stderr=log)
        finally:
            os.close(null)
            os.close(log)
        if wait is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), wait)

    async def _start_netd(self) -> None:
        """init starts netd (wgdroid.sim.phone.netd) before anything uses the network."""
        spec = json.dumps({"sdk": self.profile.sdk, "legacy_main": not self.profile.android_net})
        self._netd = await self.node.start_daemon(
            [self.node.spec.phone_venv_python, "-m", "wgdroid.sim.phone.netd", spec],
            env=self.profile.environment())

    async def netd_request(self, request: dict[str, Any]) -> dict[str, Any]:
        """Ask the phone's netd as root (what system_server does over binder)."""
        result = await self.run([self.node.spec.phone_venv_python, "-m", "wgdroid.sim.phone.netd",
                                 "--request", json.dumps(request)])
        reply: dict[str, Any] = json.loads(result.stdout or b"{}")
        return reply

    async def network_up(self, iface: str, address: str, gateway: str, dns: list[str]) -> None:
        """The uplink as ConnectivityService brings up a network: addresses,
        the network in netd with its routes, default, its DNS servers."""
        self._uplink = (iface, address, gateway, list(dns))
        result = await self.run(["sh", "-c",
            # Android lets apps and the shell ping (ICMP sockets) without CAP_NET_RAW
            # (init.rc); a user namespace maps fewer groups.
            "{ echo '0 2147483647' > /proc/sys/net/ipv4/ping_group_range || "
            "echo '0 65534' > /proc/sys/net/ipv4/ping_group_range; } 2>/dev/null && "
            "ip link set lo up"])
        if result.status != 0:
            raise EnvironmentProblem(f"{self.name}: {result.stderr.decode(errors='replace')}")
        reply = await self.netd_request({"tool": "connectivity", "iface": iface,
                                         "address": address, "gateway": gateway, "dns": dns})
        if reply.get("status") != 0:
            raise EnvironmentProblem(f"{self.name}: uplink: {reply.get('stderr', '').strip()}")

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
             "*) ip link del \"$i\" 2>/dev/null;; esac; done; "
             "iptables -F; iptables -X; ip6tables -F; ip6tables -X; "
             "ip -4 addr flush dev eth0; ip -4 route flush table main"]
        )
        await self._early_boot()
        if self._uplink is not None:
            await self.late_boot(*self._uplink)
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
        check_su_policy(self.profile.root, policy)
        if timeout is not None and not 0 < timeout <= 600:
            raise UsageError("su timeout must be between 0 and 600 seconds")
        self.su_policy = policy  # type: ignore[assignment]
        if timeout is not None:
            self.su_timeout = timeout
        if self.node.spec.su_variant == "kernelsu":
            # The manager's allow list is the kernel's: no prompt, su appears or goes.
            with contextlib.suppress(OSError):
                self.node.send({"op": "ksu_allow", "allow": policy == "grant"})

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
