"""Debian's kernel for the VM phone, and the guest's initramfs.

`fetch()` (run by scripts/setup) takes the kernel that `linux-image-amd64`
points at and `busybox-static` with `apt-get download` + `dpkg-deb -x` into a
cache directory: nothing is installed on the host. What stays is the kernel,
its modules without hardware drivers and sound (an index built with `depmod
-b`), and busybox for the initramfs:

    CACHE/current -> VERSION
    CACHE/VERSION/boot/vmlinuz-VERSION
    CACHE/VERSION/lib/modules/VERSION/...   (modules.dep from depmod)
    CACHE/VERSION/bin/busybox

`initramfs()` builds the small first root the guest boots from: busybox, the
modules it needs to reach the host's files over 9p and the host over
virtio-serial, and an /init that mounts the host's / read-only and switches
into it (the script comes from `wgdroid.sim.vm.boot`).
"""

from __future__ import annotations

import contextlib
import lzma
import os
import re
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from wgdroid.errors import EnvironmentProblem

CACHE_ENV = "WGDROID_VM_CACHE"
DEFAULT_CACHE = Path("/var/cache/wgdroid/vm")
KERNEL_PACKAGE = "linux-image-amd64"
BUSYBOX_PACKAGE = "busybox-static"
# What the initramfs loads itself: the virtio transport, 9p for the host's
# files, the console port for the control channel, the NIC for port forwards.
BOOT_MODULES = ("virtio_pci", "9pnet_virtio", "9p", "virtio_console", "virtio_net")
# Module dirs (under kernel/) kept from the package: the rest is hardware
# drivers and sound, which a virtual phone never loads (~300 of 400 MB).
KEPT_MODULE_DIRS = ("arch", "block", "crypto", "fs", "lib", "mm", "net", "virt",
                    "drivers/virtio", "drivers/char", "drivers/block", "drivers/net")
DROPPED_MODULE_DIRS = ("drivers/net/ethernet", "drivers/net/wireless", "drivers/net/usb",
                       "drivers/net/can", "drivers/net/wwan", "drivers/net/ieee802154",
                       "drivers/net/hamradio", "drivers/net/arcnet", "drivers/net/fddi",
                       "drivers/net/wan", "drivers/net/appletalk", "drivers/net/hippi",
                       "drivers/net/hyperv", "drivers/net/thunderbolt", "drivers/net/plip")
MODULE_SUFFIXES = (".ko", ".ko.xz", ".ko.zst", ".ko.gz")

Log = Callable[[str], None]


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE)


@dataclass(frozen=True)
class KernelImage:
    root: Path  # CACHE/VERSION
    version: str

    @property
    def vmlinuz(self) -> Path:
        return self.root / "boot" / f"vmlinuz-{self.version}"

    @property
    def modules_dir(self) -> Path:
        return self.root / "lib" / "modules" / self.version

    @property
    def busybox(self) -> Path:
        return self.root / "bin" / "busybox"

    def complete(self) -> bool:
        return all(p.is_file() for p in (self.vmlinuz, self.modules_dir / "modules.dep",
                                         self.busybox))


def find(cache: Path | None = None) -> KernelImage:
    """The cached kernel, or an EnvironmentProblem naming what is missing."""
    cache = cache or cache_dir()
    current = cache / "current"
    version = os.readlink(current) if current.is_symlink() else ""
    image = KernelImage(cache / version, version)
    if not version or not image.complete():
        raise EnvironmentProblem(
            f"the VM phone needs Debian's kernel ({KERNEL_PACKAGE}) unpacked in {cache}: "
            "run scripts/setup")
    return image


# -- fetching -------------------------------------------------------------------
def _run(argv: list[str], cwd: Path, what: str) -> str:
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=900)
    except FileNotFoundError:
        raise EnvironmentProblem(f"{what}: {argv[0]} not found (run scripts/setup)") from None
    except subprocess.TimeoutExpired:
        raise EnvironmentProblem(f"{what}: {argv[0]} timed out") from None
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise EnvironmentProblem(f"{what} failed: {lines[-1] if lines else done.returncode}")
    return done.stdout


def _download(packages: list[str], into: Path) -> None:
    # The sandbox user (_apt) cannot write a root-only temp dir; we are root anyway.
    argv = ["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", *packages]
    try:
        _run(argv, into, f"apt-get download {' '.join(packages)}")
    except EnvironmentProblem:
        # Package lists may be missing or stale on a fresh machine.
        _run(["apt-get", "update", "-qq"], into, "apt-get update")
        _run(argv, into, f"apt-get download {' '.join(packages)}")


def _deb(into: Path, package: str) -> Path:
    found = sorted(into.glob(f"{package}_*.deb"))
    if not found:
        raise EnvironmentProblem(f"apt-get download {package} left no .deb")
    return found[-1]


def kernel_package_of(depends: str) -> str:
    """The versioned kernel package in the metapackage's Depends field."""
    for alternative in re.split(r"[,|]", depends):
        name = alternative.strip().split(" ", 1)[0]
        if name.startswith("linux-image-"):
            return name
    raise EnvironmentProblem(f"{KERNEL_PACKAGE} depends on no kernel image ({depends!r})")


def _keep_module(rel: str) -> bool:
    """rel: a path under lib/modules/VERSION/kernel/."""
    def under(dirs: Iterable[str]) -> bool:
        return any(rel == d or rel.startswith(d + "/") for d in dirs)

    return under(KEPT_MODULE_DIRS) and not under(DROPPED_MODULE_DIRS)


def _prune_modules(modules_dir: Path) -> None:
    kernel = modules_dir / "kernel"
    for dirpath, _dirs, files in os.walk(kernel):
        for name in files:
            path = Path(dirpath) / name
            if not _keep_module(path.relative_to(kernel).as_posix()):
                path.unlink()
    for dirpath, _dirs, _files in sorted(os.walk(kernel), key=lambda w: -len(w[0])):
        with contextlib.suppress(OSError):
            os.rmdir(dirpath)  # only the empty ones go


def fetch(cache: Path | None = None, log: Log = lambda _msg: None) -> KernelImage:
    """Download and unpack the kernel unless the cache has it (idempotent)."""
    cache = cache or cache_dir()
    with contextlib.suppress(EnvironmentProblem):
        return find(cache)
    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".fetch-", dir=cache))
    try:
        log(f"downloading {KERNEL_PACKAGE} and {BUSYBOX_PACKAGE} into {cache}")
        _download([KERNEL_PACKAGE, BUSYBOX_PACKAGE], work)
        depends = _run(["dpkg-deb", "-f", str(_deb(work, KERNEL_PACKAGE)), "Depends"], work,
                       "dpkg-deb -f")
        package = kernel_package_of(depends)
        _download([package], work)
        unpacked = work / "x"
        _run(["dpkg-deb", "-x", str(_deb(work, package)), str(unpacked)], work, "dpkg-deb -x")
        _run(["dpkg-deb", "-x", str(_deb(work, BUSYBOX_PACKAGE)), str(work / "bb")], work,
             "dpkg-deb -x")
        versions = [p.name for p in (unpacked / "lib/modules").iterdir() if p.is_dir()]
        if len(versions) != 1:
            raise EnvironmentProblem(f"{package}: expected one module tree, found {versions}")
        version = versions[0]
        image = KernelImage(work / version, version)
        (image.root / "boot").mkdir(parents=True)
        (image.root / "bin").mkdir()
        (image.root / "lib/modules").mkdir(parents=True)
        os.replace(unpacked / "boot" / f"vmlinuz-{version}", image.vmlinuz)
        os.replace(unpacked / "lib/modules" / version, image.modules_dir)
        os.replace(work / "bb/bin/busybox", image.busybox)
        _prune_modules(image.modules_dir)
        _run(["depmod", "-b", str(image.root), version], work, "depmod")
        final = cache / version
        shutil.rmtree(final, ignore_errors=True)
        os.replace(image.root, final)
        link = cache / ".current.new"
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        link.symlink_to(version)
        os.replace(link, cache / "current")
        for old in cache.iterdir():  # an older kernel a previous fetch left
            if old.is_dir() and not old.name.startswith(".") and old.name != version:
                shutil.rmtree(old, ignore_errors=True)
        log(f"VM kernel {version} ready in {final}")
        return find(cache)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- modules --------------------------------------------------------------------
def module_name(path: str) -> str:
    """kernel/fs/9p/9p.ko.xz -> 9p (and '-' reads as '_', as modprobe does)."""
    base = path.rsplit("/", 1)[-1]
    for suffix in MODULE_SUFFIXES:
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return base.replace("-", "_")


def read_modules_dep(modules_dir: Path) -> dict[str, list[str]]:
    """modules.dep as {path: [dependency paths]} (paths relative to modules_dir)."""
    deps: dict[str, list[str]] = {}
    for line in (modules_dir / "modules.dep").read_text().splitlines():
        if ":" in line:
            path, rest = line.split(":", 1)
            deps[path.strip()] = rest.split()
    return deps


def load_order(deps: dict[str, list[str]], names: Iterable[str]) -> list[str]:
    """The module files to insmod, every dependency before its users, each once.
    Names the kernel has built in (absent from modules.dep) are skipped by the
    caller; an unknown name is an error."""
    by_name = {module_name(p): p for p in deps}
    order: list[str] = []
    seen: set[str] = set()

    def visit(path: str, trail: tuple[str, ...]) -> None:
        if path in seen:
            return
        if path in trail:
            raise EnvironmentProblem(f"module dependency loop: {' -> '.join(trail)}")
        for dep in deps.get(path, []):
            visit(dep, (*trail, path))
        seen.add(path)
        order.append(path)

    for name in names:
        path = by_name.get(name.replace("-", "_"))
        if path is None:
            raise EnvironmentProblem(f"the VM kernel has no module {name}")
        visit(path, ())
    return order


def builtin_modules(modules_dir: Path) -> set[str]:
    path = modules_dir / "modules.builtin"
    if not path.exists():
        return set()
    return {module_name(line) for line in path.read_text().split()}


def module_bytes(path: Path) -> bytes:
    """A module file, decompressed (busybox insmod takes plain .ko)."""
    data = path.read_bytes()
    if path.name.endswith(".xz"):
        return lzma.decompress(data)
    if path.name.endswith(".gz"):
        import gzip

        return gzip.decompress(data)
    if path.name.endswith(".zst"):
        raise EnvironmentProblem(f"{path.name}: zstd-compressed modules are not supported")
    return data


# -- initramfs ------------------------------------------------------------------
class Cpio:
    """An archive in the kernel's initramfs format ("newc", see the kernel's
    Documentation/driver-api/early-userspace/buffer-format.rst)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._ino = 300000

    def _entry(self, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0),
               nlink: int = 1) -> None:
        self._ino += 1
        encoded = name.encode() + b"\0"
        fields = (self._ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1],
                  len(encoded), 0)
        header = b"070701" + b"".join(b"%08X" % f for f in fields)
        self._parts.append(header + encoded + b"\0" * (-(len(header) + len(encoded)) % 4))
        self._parts.append(data + b"\0" * (-len(data) % 4))

    def directory(self, name: str, mode: int = 0o755) -> None:
        self._entry(name, stat.S_IFDIR | mode, nlink=2)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self._entry(name, stat.S_IFREG | mode, data)

    def symlink(self, name: str, target: str) -> None:
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def char_device(self, name: str, major: int, minor: int, mode: int = 0o600) -> None:
        self._entry(name, stat.S_IFCHR | mode, rdev=(major, minor))

    def finish(self) -> bytes:
        self._entry("TRAILER!!!", 0)
        return b"".join(self._parts)


def initramfs(image: KernelImage, init_script: str, modules: Iterable[str] = BOOT_MODULES
              ) -> bytes:
    """The guest's first root: /init (init_script, run by busybox sh), busybox,
    and the boot modules in load order under /lib/wgdroid/NN-name.ko."""
    builtin = builtin_modules(image.modules_dir)
    wanted = [m for m in modules if m.replace("-", "_") not in builtin]
    order = load_order(read_modules_dep(image.modules_dir), wanted)
    archive = Cpio()
    for d in ("bin", "dev", "proc", "sys", "newroot", "lib", "lib/wgdroid"):
        archive.directory(d)
    archive.char_device("dev/console", 5, 1)
    archive.file("bin/busybox", image.busybox.read_bytes(), 0o755)
    archive.symlink("bin/sh", "busybox")
    for n, rel in enumerate(order):
        archive.file(f"lib/wgdroid/{n:02d}-{module_name(rel)}.ko",
                     module_bytes(image.modules_dir / rel))
    archive.file("init", init_script.encode(), 0o755)
    return archive.finish()


def main() -> None:
    """`python -m wgdroid.sim.vm.image` (scripts/setup): fetch the kernel unless cached."""
    import sys

    def log(msg: str) -> None:
        sys.stderr.write(f"setup: {msg}\n")

    try:
        fetched = fetch(log=log)
    except EnvironmentProblem as exc:
        sys.stderr.write(f"setup: error: {exc.message}\n")
        raise SystemExit(1) from None
    sys.stdout.write(f"{fetched.root}\n")


if __name__ == "__main__":
    main()
