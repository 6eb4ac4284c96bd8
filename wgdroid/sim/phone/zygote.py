"""A node's init: the one process that enters a phone's (or the internet's)
namespaces, builds its filesystem, then forks every process of the node on
request and runs the su daemon.

Why a separate process: setns() into a mount namespace is refused for a
threaded process, and the host runtime is asyncio with threads. So the host
sends requests over a SOCK_SEQPACKET socketpair (fds as SCM_RIGHTS) and this
single-threaded loop forks. It is also the child subreaper, so daemons such as
wireguard-go stay visible to it, and at exit it kills every process of its
network namespace: nothing outlives the node.

Run as: python -m wgdroid.sim.phone.zygote SPEC_JSON CONTROL_FD
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import selectors
import shutil
import signal
import socket
import struct
import sys
import termios
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from wgdroid.sim.phone import android_ids, boot, ns, su_variants, wire
from wgdroid.sim.phone.rootfs import SHELL_GROUPS, build_phone_root
from wgdroid.sim.phone.spec import STAGE_DIR, SU_SOCKET, NodeSpec
from wgdroid.sim.phone.su_relay import TtyRelay

SU_STATUS_DENIED = 13
APP_UID_START = 10000  # AID_APP_START
AID_INET, AID_EVERYBODY = 3003, 9997
SU_MAX_REQUEST = 1 << 20
SU_MAX_CONNECTIONS = 64  # bounded: a runaway loop of `su` can't exhaust the daemon


def ids_for(uid: int) -> tuple[int, list[int]]:
    """(gid, groups) Android gives a uid."""
    if uid == 0:
        return 0, [0]
    if uid == 2000:
        return 2000, [2000, *SHELL_GROUPS]
    if uid >= APP_UID_START:
        # An app with the INTERNET permission: inet, everybody (Zygote's gids).
        return uid, [AID_INET, AID_EVERYBODY, uid]
    return uid, [uid]


def user_name(uid: int) -> str:
    """bionic's getpwuid name: root, shell, ..., u0_aNNN for apps."""
    return android_ids.getpwuid(uid) or str(uid)


KSU_SU_PATH = "/system/bin/su"  # sucompat.c SU_PATH


def hide_kernel_su() -> None:
    """In a forked child about to become a uid KernelSU does not allow: its
    own mount namespace whose /system/bin has no su.

    KernelSU has no su file: kernel/feature/sucompat.c hooks execve,
    faccessat and stat of SU_PATH and, only when ksu_is_allow_uid_for_current()
    (kernel/policy/allowlist.c) says yes for the caller's uid, turns them into
    ksud; for anyone else the original syscall runs and finds nothing. The
    phone's /system/bin has the su the allowed see; a process of any other
    uid sees a copy of that directory without it (symlinks as they are, each
    file bound, read-only), so the path exists or not by the caller's uid."""
    ns.unshare(ns.CLONE_NEWNS)
    bin_dir = os.path.dirname(KSU_SU_PATH)
    mirror_dir(bin_dir, leave_out=KSU_SU_PATH)
    ns.mount(None, bin_dir, None, ns.MS_REMOUNT | ns.MS_RDONLY | ns.MS_NOSUID)


def mirror_dir(path: str, leave_out: str = "") -> None:
    """A tmpfs over the dir PATH (its mode and owner) holding what PATH held
    but LEAVE_OUT: links as they are, each file and dir bound read-only (held
    open first: the tmpfs covers their paths). New entries can be made in it
    until it is remounted read-only: the read-only system image has no room
    for them (Magisk's magic mount does the same for a dir a module adds to:
    native/src/core/module.cpp tmpfs_node)."""
    st = os.stat(path)
    entries = []
    for entry in os.scandir(path):
        if entry.path == leave_out:
            continue
        if entry.is_symlink():
            entries.append((entry.name, os.readlink(entry.path), -1, False))
        else:
            entries.append((entry.name, "", os.open(entry.path, os.O_PATH | os.O_CLOEXEC),
                            entry.is_dir()))
    ns.mount("tmpfs", path, "tmpfs", ns.MS_NOSUID,
             f"mode={st.st_mode & 0o7777:o},uid={st.st_uid},gid={st.st_gid},size=1m")
    for name, link, fd, is_dir in entries:
        target = os.path.join(path, name)
        if fd < 0:
            os.symlink(link, target)
            continue
        if is_dir:
            os.mkdir(target)
        else:
            open(target, "w").close()
        ns.bind(f"/proc/self/fd/{fd}", target, readonly=True, recursive=is_dir)
        os.close(fd)


def exec_child(
    argv: list[str], uid: int, env: dict[str, str], cwd: str, fds: list[int], ctty: bool,
    *, hide_su: bool = False,
) -> None:
    """In a freshly forked child: become the requested process (with no
    KernelSU su in sight if hide_su). Never returns."""
    try:
        if hide_su:
            hide_kernel_su()
        os.setsid()
        for target, fd in enumerate(fds[:3]):
            os.dup2(fd, target, inheritable=True)
        if ctty:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        os.closerange(3, 65536)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        for sig in (signal.SIGPIPE, signal.SIGINT, signal.SIGTERM, signal.SIGCHLD,
                    signal.SIGHUP, signal.SIGXFSZ):
            signal.signal(sig, signal.SIG_DFL)
        gid, groups = ids_for(uid)
        os.setgroups(groups)
        os.setgid(gid)
        os.setuid(uid)
        try:
            os.chdir(cwd)
        except OSError:
            os.chdir("/")
        os.execvpe(argv[0], argv, env)
    except FileNotFoundError:
        os.write(2, f"{argv[0] if argv else ''}: not found\n".encode())
        os._exit(127)
    except PermissionError:
        os.write(2, f"{argv[0] if argv else ''}: Permission denied\n".encode())
        os._exit(126)
    except BaseException:
        os._exit(127)
    os._exit(127)


def status_of(raw: int) -> int:
    if os.WIFSIGNALED(raw):
        return 128 + os.WTERMSIG(raw)
    return os.WEXITSTATUS(raw)


@dataclass
class SuConn:
    sock: socket.socket
    uid: int = -1
    pid: int = 0
    buf: bytes = b""
    fds: list[int] = field(default_factory=list)
    child: int = 0  # the root process run for it
    signalled: bool = False  # the client passed on a signal that ended it
    req: int = 0
    relay: TtyRelay | None = None


class Zygote:
    def __init__(self, spec: NodeSpec, ctl: socket.socket, staged: dict[str, str]) -> None:
        self.spec = spec
        self.staged = staged
        self.ctl = ctl
        self.sel = selectors.DefaultSelector()
        self.children: dict[int, int] = {}  # pid -> spawn id (0 = su child)
        self.su_children: dict[int, SuConn] = {}
        self.pending_su: dict[int, SuConn] = {}
        self.next_req = 1
        self.ksu_allowed = spec.su_allowed
        self.dev_entries: set[str] = set()  # /dev as the phone booted
        self.mounted: list[str] = []  # module files and dir mirrors mounted over /system
        self.running = True
        self.netns = 0
        self.versions = su_variants.SuVersion(
            magisk=tuple(spec.su_versions.get("magisk", ("28.1", 28100))),  # type: ignore[arg-type]
            kernelsu=tuple(spec.su_versions.get("kernelsu", ("v1.0.5", 12081))),  # type: ignore[arg-type]
        )

    # -- set-up -------------------------------------------------------------
    def build(self) -> None:
        ns.unshare(ns.CLONE_NEWNS | ns.CLONE_NEWNET)
        self.netns = ns.netns_inode()
        ns.mount(None, "/", None, ns.MS_REC | ns.MS_PRIVATE)
        if self.spec.kind == "phone":
            build_phone_root(self.spec, self.staged)
            self.dev_entries = set(os.listdir("/dev"))
        else:
            # The internet keeps the host's files but needs its own /run:
            # wireguard-go's sockets live in /var/run/wireguard.
            ns.mount("tmpfs", "/run", "tmpfs", ns.MS_NOSUID | ns.MS_NODEV, "mode=0755")
        ns.prctl(ns.PR_SET_CHILD_SUBREAPER, 1)

    def serve(self) -> None:
        rfd, wfd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wfd)
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, lambda *_: None)
        self.sel.register(rfd, selectors.EVENT_READ, "signal")
        self.ctl.setblocking(True)
        self.sel.register(self.ctl, selectors.EVENT_READ, "ctl")
        if self.spec.kind == "phone" and self.spec.su_variant != "none":
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(SU_SOCKET)
            os.chmod(SU_SOCKET, 0o666)
            listener.listen(64)
            listener.setblocking(False)
            self.sel.register(listener, selectors.EVENT_READ, "listen")
        self.send({"op": "ready", "pid": os.getpid(), "netns": self.netns})
        while self.running:
            for key, mask in self.sel.select():
                try:
                    self.dispatch(key, mask, rfd)
                except Exception:  # one bad request must not take the phone down
                    traceback.print_exc()
                    sys.stderr.flush()
        self.shutdown()

    def dispatch(self, key: selectors.SelectorKey, mask: int, rfd: int) -> None:
        what = key.data
        if what == "signal":
            try:
                data = os.read(rfd, 512)
            except BlockingIOError:
                data = b""
            if signal.SIGTERM in data or signal.SIGHUP in data:
                self.running = False
            self.reap()
        elif what == "ctl":
            self.on_control()
        elif what == "listen":
            self.on_accept(key.fileobj)  # type: ignore[arg-type]
        elif isinstance(what, SuConn):
            self.on_su_readable(what)
        elif isinstance(what, tuple) and not what[1].closed:
            what[1].on_event(key.fd, mask)

    def send(self, msg: dict[str, Any]) -> None:
        try:
            wire.send(self.ctl, msg)
        except OSError:
            self.running = False

    # -- host requests ------------------------------------------------------
    def on_control(self) -> None:
        try:
            msg, fds = wire.recv(self.ctl)
        except OSError:
            msg, fds = None, []
        if msg is None:
            self.running = False  # the host runtime went away
            return
        op = msg.get("op")
        if op == "spawn":
            self.spawn(msg, fds)
        elif op == "kill":
            self.kill_group(int(msg["pid"]), int(msg.get("sig", signal.SIGKILL)),
                            group=bool(msg.get("group", True)))
        elif op == "su_answer":
            self.su_answer(int(msg["req"]), bool(msg["allow"]))
        elif op == "reboot":
            self.reboot()
            self.send({"op": "rebooted"})
        elif op == "ksu_allow":
            self.ksu_allow(bool(msg["allow"]))
        elif op == "magic_mount":
            self.magic_mount()
            self.send({"op": "mounted"})
        elif op == "exit":
            self.running = False
        for fd in fds:
            _close(fd)

    def spawn(self, msg: dict[str, Any], fds: list[int]) -> None:
        sid = int(msg["id"])
        if len(fds) != 3:
            self.send({"op": "spawn_failed", "id": sid, "error": "need 3 fds"})
            return
        pid = os.fork()
        if pid == 0:
            exec_child(msg["argv"], int(msg["uid"]), msg["env"], msg.get("cwd", "/"), fds,
                       bool(msg.get("ctty")), hide_su=self.hides_su(int(msg["uid"])))
        self.children[pid] = sid
        self.send({"op": "spawned", "id": sid, "pid": pid})

    def kill_group(self, pid: int, sig: int, *, group: bool = True) -> None:
        # Only while the leader lives: after it exits, its group may hold
        # daemons it started (wireguard-go) that must survive.
        if pid in self.children or pid in self.su_children:
            with contextlib.suppress(ProcessLookupError):
                if group:
                    os.killpg(pid, sig)
                else:
                    os.kill(pid, sig)

    def reap(self) -> None:
        while True:
            try:
                pid, raw = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self.children:
                self.send({"op": "exited", "id": self.children.pop(pid), "status": status_of(raw)})
            elif pid in self.su_children:
                conn = self.su_children.pop(pid)
                self.su_reply(conn, status=status_of(raw))
            # else: an orphan reparented to us (a daemon's helper): just reaped.

    # -- module overlays (Magisk's magic mount, KernelSU's overlayfs) ------------
    def magic_mount(self) -> None:
        """Each enabled module's system/ files over /system: an existing file is
        covered, a new one is added in a tmpfs mirror of its dir (mirror_dir),
        as Magisk's magic mount adds it; /system itself stays read-only."""
        self.undo_magic_mount()
        writable: list[str] = []  # the mirrors and the dirs made in them
        binds = []
        for module in boot.mountable_modules():
            base = os.path.join(module, "system")
            for top, dirs, files in os.walk(base):
                rel = os.path.relpath(top, base)
                target_dir = os.path.normpath(os.path.join("/system", rel))
                for name in sorted(dirs) + sorted(files):
                    source = os.path.join(top, name)
                    target = os.path.join(target_dir, name)
                    try:
                        if name in dirs:
                            if not os.path.exists(target):
                                self._writable(target_dir, writable)
                                os.mkdir(target, 0o755)
                                writable.append(target)
                            continue
                        if not os.path.lexists(target):
                            self._writable(target_dir, writable)
                            open(target, "w").close()
                    except OSError as exc:
                        sys.stderr.write(f"magic mount {source}: {exc}\n")
                        continue
                    binds.append((source, target))
        for path in writable:
            if path in self.mounted:
                ns.mount(None, path, None, ns.MS_REMOUNT | ns.MS_RDONLY | ns.MS_NOSUID)
        for source, target in binds:
            try:
                ns.bind(source, target, readonly=True)
                self.mounted.append(target)
            except OSError as exc:
                sys.stderr.write(f"magic mount {source}: {exc}\n")

    def _writable(self, path: str, writable: list[str]) -> None:
        """PATH (a dir under /system) made one new entries can be made in."""
        if path not in writable:
            mirror_dir(path)
            self.mounted.append(path)
            writable.append(path)

    def undo_magic_mount(self) -> None:
        for target in reversed(self.mounted):
            with contextlib.suppress(OSError):
                ns.umount(target, ns.MNT_DETACH)
        self.mounted.clear()

    # -- KernelSU's su: the kernel's, for allowed uids only ---------------------
    def ksu_allow(self, allow: bool) -> None:
        """The allow list changed (the manager app's switch for the shell and
        apps). Processes started from now on see /system/bin/su or not by
        their uid (hides_su); a running one keeps the view it started with,
        but its su is refused at once if its uid is no longer allowed."""
        self.ksu_allowed = allow

    def ksu_allows(self, uid: int) -> bool:
        """allowlist.c __ksu_is_allow_uid_for_current: root only in KernelSU's
        domain (every root process here); uids below 2000 but system never
        (forbid_system_uid); the shell and apps as the allow list says (the
        phone's policy: grant puts them all on it, deny none; no manager app)."""
        if uid == 0:
            return True
        if uid < 2000 and uid != 1000:
            return False
        return self.ksu_allowed

    def hides_su(self, uid: int) -> bool:
        """Whether a process of UID must find no /system/bin/su (KernelSU)."""
        return self.spec.su_variant == "kernelsu" and not self.ksu_allows(uid)

    def reboot(self) -> None:
        self.kill_everything()
        if self.spec.kind == "phone":
            self.undo_magic_mount()
        if self.spec.kind == "phone":
            # Nothing made in RAM survives: what wireguard-go or a script put in
            # /dev (ueventd makes it afresh), the tmpfs mounts (/mnt, whose
            # run/wireguard has UAPI sockets; /debug_ramdisk), setenforce's
            # mode. (The root is read-only: nothing can be made there.)
            for name in set(os.listdir("/dev")) - self.dev_entries:
                path = os.path.join("/dev", name)
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        os.unlink(path)
        ram = ("/mnt", "/debug_ramdisk", "/run", "/tmp") if self.spec.kind == "phone" else ("/run",)
        for d in ram:
            if not os.path.isdir(d) or os.path.islink(d):
                continue
            for entry in os.scandir(d):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
        for conn in list(self.pending_su.values()):
            self.su_reply(conn, status=1)
        self.pending_su.clear()

    def kill_everything(self) -> None:
        if os.getpid() == 1:
            # As init of the node's PID namespace: everything but ourselves.
            with contextlib.suppress(ProcessLookupError):
                os.kill(-1, signal.SIGKILL)
            self._drain_children()
            return
        for _ in range(3):
            if not ns.kill_netns(self.netns, spare=os.getpid()):
                break
            self._drain_children()
        self._drain_children()

    def _drain_children(self) -> None:
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            try:
                pid, raw = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.01)
                continue
            if pid in self.children:
                self.send({"op": "exited", "id": self.children.pop(pid), "status": status_of(raw)})
            elif pid in self.su_children:
                self.su_reply(self.su_children.pop(pid), status=status_of(raw))
        # Anything left is not our child (cannot be waited); it is dead or dying.

    def shutdown(self) -> None:
        self.kill_everything()
        os._exit(0)

    # -- the su daemon ------------------------------------------------------
    def on_accept(self, listener: socket.socket) -> None:
        try:
            sock, _ = listener.accept()
        except BlockingIOError:
            return
        sock.setblocking(False)
        if len(self.sel.get_map()) > SU_MAX_CONNECTIONS + 3:
            sock.close()  # the client reports it cannot reach the daemon
            return
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        pid, uid, _gid = struct.unpack("3i", creds)
        conn = SuConn(sock=sock, uid=uid, pid=pid)
        self.sel.register(sock, selectors.EVENT_READ, conn)

    def on_su_readable(self, conn: SuConn) -> None:
        try:
            data, anc, _f, _a = conn.sock.recvmsg(65536, socket.CMSG_SPACE(3 * 4))
        except BlockingIOError:
            return
        except OSError:
            data, anc = b"", []
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                count = len(payload) // 4
                conn.fds.extend(struct.unpack(f"{count}i", payload[: count * 4]))
        if conn.child or conn.req:
            # After the request the client only sends the signals that end it.
            for sig in data:
                self.su_signal(conn, sig)
        if not data:
            self.su_gone(conn)
            return
        if conn.child or conn.req:
            return
        conn.buf += data
        if len(conn.buf) > SU_MAX_REQUEST:
            self.su_reply(conn, stderr="su: request too large\n", status=1)
            return
        if len(conn.buf) < 4:
            return
        (length,) = struct.unpack("!I", conn.buf[:4])
        if len(conn.buf) - 4 < length:
            return
        try:
            request = json.loads(conn.buf[4 : 4 + length])
        except ValueError:
            self.su_reply(conn, stderr="su: bad request\n", status=1)
            return
        early = conn.buf[4 + length :]  # a signal sent right behind the request
        self.su_request(conn, request)
        for sig in early:
            self.su_signal(conn, sig)

    def su_request(self, conn: SuConn, request: dict[str, Any]) -> None:
        if len(conn.fds) != 3:
            self.su_reply(conn, stderr="su: no stdio\n", status=1)
            return
        if request.get("op") == "reboot":
            self.send({"op": "reboot_request", "uid": conn.uid})
            self.su_reply(conn, status=0)
            return
        argv = [str(a) for a in request.get("argv", [])]
        variant = self.spec.su_variant
        if variant == "kernelsu" and not self.ksu_allows(conn.uid):
            # sucompat.c: a caller not allowed gets the original execve, and
            # there is no /system/bin/su file (a uid below 2000, or the policy
            # changed since this su was found): as an exec that finds nothing.
            self.su_reply(conn, stderr="su: inaccessible or not found\n", status=127)
            return
        outcome = su_variants.parse(variant, argv, self.versions)
        if isinstance(outcome, su_variants.SuReply):
            self.su_reply(conn, stdout=outcome.stdout, stderr=outcome.stderr,
                          status=outcome.status)
            return
        if variant == "aosp" and conn.uid not in (0, 2000):
            self.su_reply(conn, stderr="su: not allowed\n", status=1)
            return
        conn.buf = b""
        env = {**self.spec.env, **request.get("env", {})}
        name = user_name(outcome.uid)
        env.update({"USER": name, "LOGNAME": name, "HOME": "/", "SHELL": su_variants.SH})
        if variant == "aosp":
            env["PATH"] = self.spec.env.get("PATH", env.get("PATH", "/system/bin"))
        elif variant == "kernelsu":  # su.rs add_path_to_env(defs::BINARY_DIR)
            env["PATH"] = env.get("PATH", "") + ":/data/adb/ksu/bin"
        run = {"argv": list(outcome.argv), "uid": outcome.uid, "env": env,
               "cwd": str(request.get("cwd", "/"))}
        if outcome.needs_grant and conn.uid != 0:
            conn.req = self.next_req
            self.next_req += 1
            self.pending_su[conn.req] = conn
            conn.buf = json.dumps(run).encode()
            self.send({"op": "su_request", "req": conn.req, "uid": conn.uid, "pid": conn.pid,
                       "argv": argv})
            return
        self.su_start(conn, run)

    def su_answer(self, req: int, allow: bool) -> None:
        conn = self.pending_su.pop(req, None)
        if conn is None:
            return
        if not allow:
            self.su_reply(conn, stderr="Permission denied\n", status=SU_STATUS_DENIED)
            return
        self.su_start(conn, json.loads(conn.buf))

    def su_start(self, conn: SuConn, run: dict[str, Any]) -> None:
        relay = None
        child_fds = conn.fds
        if os.isatty(conn.fds[0]) and os.isatty(conn.fds[1]):
            # A terminal: the root shell gets its own pty, relayed, as with Magisk.
            try:
                relay = TtyRelay(self.sel, conn.fds[0], conn.fds[1])
            except OSError as exc:
                self.su_reply(conn, stderr=f"su: cannot open a pty: {exc.strerror}\n", status=1)
                return
            child_fds = [relay.slave] * 3
        pid = os.fork()
        if pid == 0:
            exec_child(run["argv"], int(run["uid"]), run["env"], run["cwd"], child_fds,
                       relay is not None, hide_su=self.hides_su(int(run["uid"])))
        conn.child = pid
        self.su_children[pid] = conn
        if relay is not None:
            relay.started()
            conn.relay = relay
            _close(conn.fds[2])  # stdin/stdout now belong to the relay
        else:
            for fd in conn.fds:
                _close(fd)
        conn.fds = []

    def su_signal(self, conn: SuConn, sig: int) -> None:
        """A signal ended the su client. KernelSU's su (the kernel turns the
        caller's execve into ksud, su.rs root_shell execs the shell) and AOSP
        su (system/extras/su/su.cpp: setuid, then execvp) run the command in
        the caller's own process, which would have got it: pass it on to
        that process. Magisk's root process is another session, forked by
        its daemon (native/src/core/su/su_daemon.cpp su_daemon_handler),
        which the client's death does not reach."""
        if sig not in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGQUIT):
            return
        conn.signalled = True
        if self.spec.su_variant in ("kernelsu", "aosp") and conn.child in self.su_children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(conn.child, sig)

    def su_gone(self, conn: SuConn) -> None:
        """The client died. Magisk's daemon only waits for its root child
        (su_daemon_handler: waitpid, then the code to a client that may be
        gone): the child runs on. Where su runs in the caller's process
        (KernelSU, AOSP), what killed the client without a word (SIGKILL)
        would have killed the command."""
        if (conn.child and conn.child in self.su_children and not conn.signalled
                and self.spec.su_variant in ("kernelsu", "aosp")):
            with contextlib.suppress(ProcessLookupError):
                os.kill(conn.child, signal.SIGKILL)
        self.pending_su.pop(conn.req, None)
        if conn.relay is not None:
            conn.relay.close()
            conn.relay = None
        self._close_conn(conn)

    def su_reply(self, conn: SuConn, *, stdout: str = "", stderr: str = "", status: int) -> None:
        self.pending_su.pop(conn.req, None)
        if conn.relay is not None:
            conn.relay.finish()
            conn.relay = None
        body = json.dumps({"stdout": stdout, "stderr": stderr, "status": status}).encode()
        try:
            conn.sock.setblocking(True)
            conn.sock.settimeout(2.0)
            conn.sock.sendall(body)
        except OSError:
            pass
        self._close_conn(conn)

    def _close_conn(self, conn: SuConn) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.sel.unregister(conn.sock)
        conn.sock.close()
        for fd in conn.fds:
            _close(fd)
        conn.fds = []


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError as exc:
        if exc.errno != errno.EBADF:
            raise


def stage_host_dirs(spec: NodeSpec) -> dict[str, str]:
    """Before entering a user namespace, whose root may not traverse the host's
    0700 dirs (the state dir, /root/.pyenv), bind what the phone needs into a
    private, traversable place; the user namespace's mount tree copies it."""
    ns.unshare(ns.CLONE_NEWNS)
    ns.mount(None, "/", None, ns.MS_REC | ns.MS_PRIVATE)
    ns.mount("tmpfs", "/mnt", "tmpfs", ns.MS_NOSUID | ns.MS_NODEV, "mode=0755,size=1m")
    staged = {}
    for i, path in enumerate((spec.data_dir, *spec.ro_binds)):
        target = f"{STAGE_DIR}/{i}"
        os.makedirs(target, mode=0o755, exist_ok=True)
        ns.bind(path, target, recursive=True)
        staged[path] = target
    os.makedirs(f"{STAGE_DIR}/root", mode=0o755, exist_ok=True)
    return staged


def enter_user_namespace(ctl: socket.socket) -> None:
    """Own user namespace first (so the PID, mount and network namespaces made
    next belong to it); the host runtime writes the uid/gid maps."""
    ns.unshare(ns.CLONE_NEWUSER)
    wire.send(ctl, {"op": "userns", "pid": os.getpid()})
    msg, _ = wire.recv(ctl)
    if not msg or msg.get("op") != "mapped":
        raise SystemExit(1)
    os.setgroups([])
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)


def main() -> None:
    spec = NodeSpec.from_json(sys.argv[1])
    ctl = socket.socket(fileno=int(sys.argv[2]))
    # If the host runtime dies, this process goes, and init below follows.
    ns.prctl(ns.PR_SET_PDEATHSIG, signal.SIGKILL)
    staged: dict[str, str] = {}
    if spec.userns:
        staged = stage_host_dirs(spec)
        enter_user_namespace(ctl)
    # The node gets its own PID namespace: the forked child is its init (pid 1),
    # so `ps` in the phone shows only the phone, and when init exits the kernel
    # kills every process left in it.
    ns.unshare(ns.CLONE_NEWPID)
    pid = os.fork()
    if pid:
        wire.send(ctl, {"op": "init", "pid": pid})  # init's pid as the host sees it
        ctl.close()
        _, raw = os.waitpid(pid, 0)
        os._exit(status_of(raw))
    # If the host runtime (or this process's parent) dies, SIGTERM lets the
    # loop clean up; the handler is installed before anything can happen.
    ns.prctl(ns.PR_SET_PDEATHSIG, signal.SIGTERM)
    zygote = Zygote(spec, ctl, staged)
    try:
        zygote.build()
    except OSError as exc:
        wire.send(ctl, {"op": "failed", "error": str(exc)})
        raise SystemExit(1) from None
    zygote.serve()


if __name__ == "__main__":
    main()
