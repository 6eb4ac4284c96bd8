"""What host and guest agree on about the VM's boot: the initramfs /init, the
guest's address, the control port (the guest side is wgdroid.sim.vm_guest)."""

from __future__ import annotations

import shlex

GUEST_IP = "10.0.2.15"  # qemu user networking's guest address: port forwards land here
PORT_NAME = "wgdroid.ctl"  # the virtio console port of the control channel
MOUNT_TAG = "hostroot"  # the 9p share of the host's /
MARK = "wgdroid-vm:"  # console lines the host looks for (the first one: the KVM probe)
LINE_LIMIT = 64 << 20


def init_script(python: str, modules_root: str) -> str:
    """The initramfs /init: python is the venv interpreter (a host path),
    modules_root the cache dir holding lib/modules/VERSION."""
    argv = " ".join(shlex.quote(a) for a in (
        python, "-m", "wgdroid.sim.vm_guest", "--modules-root", modules_root))
    return f"""#!/bin/sh
# wgdroid VM phone, first stage (wgdroid/sim/vm/boot.py)
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t devtmpfs dev /dev
mount -t sysfs sys /sys
echo "{MARK} initramfs $(cut -d' ' -f1 /proc/uptime)"
fail() {{ echo "{MARK} boot failed: $*"; poweroff -f; }}
for m in /lib/wgdroid/*.ko; do insmod "$m" || fail "insmod ${{m##*/}}"; done
mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=524288,cache=loose {MOUNT_TAG} /newroot \\
  || fail "mount the host's files (9p)"
mount -t tmpfs -o mode=0755,nosuid,nodev run /newroot/run || fail "tmpfs on /run"
for d in dev proc sys; do mount --move /$d /newroot/$d || fail "move /$d"; done
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \\
  TMPDIR=/run/tmp PYTHONDONTWRITEBYTECODE=1 LANG=C.UTF-8
exec switch_root /newroot {argv}
"""
