"""The phone's system image: its root (and /system) packed read-only with
mkfs.erofs and loop-mounted, so the kernel refuses writes as on a phone.

Android 14 mounts its system partition read-only from a device fstab line
such as `system /system erofs ro wait,logical,first_stage_mount,...,
avb=vbmeta_system` (ext4 as the fallback line; AOSP device/google/cuttlefish
shared/config/fstab.in), behind dm-verity, and makes it "/" (system/core/init/
first_stage_mount.cpp TrySwitchSystemAsRoot).
erofs has no write support at all: its remount keeps the superblock
read-only whatever is asked (linux fs/erofs/super.c erofs_fc_reconfigure
sets SB_RDONLY), and on a read-only block device (dm-verity there, a
read-only loop device here) the kernel refuses a rw remount before
(fs/super.c reconfigure_super: EACCES); toybox's `mount -o remount,rw /`
says "'/dev/...' is read-only". Writes fail with EROFS, for root too."""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import struct
import subprocess
from pathlib import Path

from wgdroid.sim.phone import ns

# <linux/loop.h>
LOOP_CTL_GET_FREE = 0x4C82
LOOP_CONFIGURE = 0x4C0A
LO_FLAGS_READ_ONLY = 1
LO_FLAGS_AUTOCLEAR = 4
# struct loop_config: fd, block_size, struct loop_info64 (lo_device .. lo_init),
# 8 reserved u64s.
_LOOP_CONFIG = struct.Struct("=II QQQQQ IIII 64s64s32s QQ 8Q")
MKFS = "mkfs.erofs"


class ImageError(OSError):
    pass


def build(tree: str, image: str) -> None:
    """Pack TREE (owners, modes, links as they are) into an erofs image."""
    mkfs = shutil.which(MKFS, path="/usr/bin:/usr/sbin:/bin:/sbin")
    if not mkfs:
        raise ImageError(errno.ENOENT,
                         f"{MKFS} not found (Debian's erofs-utils: run scripts/setup)")
    # -x-1: no xattrs (the host's tmpfs labels mean nothing on the phone).
    done = subprocess.run([mkfs, "--quiet", "-x-1", image, tree], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise ImageError(errno.EIO, f"{MKFS} {tree}: {done.stderr.strip() or done.returncode}")


def _attach(image: str) -> tuple[str, int]:
    """A free loop device backed read-only by IMAGE, with autoclear: it goes
    once the filesystem on it is unmounted (the phone's mount namespace
    dies). Returns its path and an fd to close once it is mounted."""
    backing = os.open(image, os.O_RDONLY | os.O_CLOEXEC)
    try:
        ctl = os.open("/dev/loop-control", os.O_RDWR | os.O_CLOEXEC)
        try:
            for _ in range(32):
                number = fcntl.ioctl(ctl, LOOP_CTL_GET_FREE)
                dev = f"/dev/loop{number}"
                fd = os.open(dev, os.O_RDONLY | os.O_CLOEXEC)
                config = _LOOP_CONFIG.pack(
                    backing, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                    LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR,
                    os.fsencode(image)[:63], b"", b"", 0, 0, *([0] * 8))
                try:
                    fcntl.ioctl(fd, LOOP_CONFIGURE, config)
                except OSError as exc:
                    os.close(fd)
                    if exc.errno == errno.EBUSY:  # another process took it first
                        continue
                    raise
                return dev, fd
        finally:
            os.close(ctl)
    finally:
        os.close(backing)
    raise ImageError(errno.EBUSY, "no free loop device")


def mount(image: str, target: str, flags: int = 0) -> None:
    """IMAGE mounted read-only at TARGET through a loop device."""
    dev, fd = _attach(image)
    try:
        ns.mount(dev, target, "erofs", ns.MS_RDONLY | flags)
    finally:
        os.close(fd)  # the mount holds the device now (autoclear otherwise)


def _unescape(field: str) -> str:
    """A mountinfo path (octal escapes for space, tab, newline, backslash)."""
    return (field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n")
            .replace("\\134", "\\"))


def child_mounts(point: Path) -> list[Path]:
    """The mount points of the mounts directly on the (topmost) mount at POINT."""
    rows = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        rows.append((fields[0], fields[1], _unescape(fields[4])))
    ids = [mid for mid, _parent, where in rows if where == str(point)]
    if not ids:
        raise ImageError(errno.EINVAL, f"{point} is not a mount point")
    top = ids[-1]
    return [Path(where) for _mid, parent, where in rows if parent == top and where != str(point)]


def seal(tree: Path, work: Path, name: str, target: Path, flags: int = 0,
         skip: tuple[Path, ...] = ()) -> None:
    """What the mount at TREE holds itself (not what is mounted on it) as an
    erofs image mounted at TARGET, with the mounts on TREE (but those at
    SKIP) moved onto it. WORK: a scratch dir, on a tmpfs."""
    view = work / f"{name}-view"
    view.mkdir()
    ns.bind(str(tree), str(view))  # not recursive: mount points as empty dirs/files
    try:
        image = str(work / f"{name}.img")
        build(str(view), image)
    finally:
        ns.umount(str(view), ns.MNT_DETACH)
        view.rmdir()
    mount(image, str(target), flags)
    os.unlink(image)  # the loop device holds it
    for point in child_mounts(tree):
        if point in skip:
            continue
        ns.mount(str(point), str(target / point.relative_to(tree)), None, ns.MS_MOVE)
