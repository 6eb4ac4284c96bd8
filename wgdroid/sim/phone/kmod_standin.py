"""`ip link add NAME type wireguard` on a simulated phone whose kernel "has"
the WireGuard module (/sys/module/wireguard): the host kernel has none, so
this creates the TUN interface NAME itself from the phone's TUN node and
hands it to wireguard-go (WG_TUN_FD), which then serves NAME the way the
module would for `wg`. `ip link del NAME` removes it like a module's link.

What it stands in for: the module's rtnl_link_ops (Linux
drivers/net/wireguard/device.c, wg_newlink / wg_destruct): a netdevice of
kind wireguard that `wg` configures over generic netlink, gone with `ip link
del`. wireguard-go speaks the same `wg` protocol through its UAPI socket.

Copied into the phone with a shebang to the base interpreter; stdlib only.
Run by the phone's `ip` wrapper (shims.kmod_ip) with ip's arguments.
"""

import fcntl
import os
import struct
import subprocess
import sys

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
WG_GO = "/usr/bin/wireguard-go"  # the host's; on an android_net phone it is under /system/usr
WG_GO_ON_PHONE = ("/system/usr/bin/wireguard-go", WG_GO)
NODES = ("/dev/tun", "/dev/net/tun")


def interface_name(args: list[str]) -> str:
    """NAME from `[OPTIONS] link add [dev|name] NAME ... type wireguard`."""
    words = [a for a in args if not a.startswith("-")]
    i = words.index("add") + 1
    if i < len(words) and words[i] in ("dev", "name"):
        i += 1
    return words[i] if i < len(words) else ""


def main() -> int:
    name = interface_name(sys.argv[1:])
    if not name or len(name) > 15:
        sys.stderr.write(f'Error: argument "{name}" is wrong: "name" not a valid ifname\n')
        return 255
    if os.path.exists(f"/sys/class/net/{name}"):
        sys.stderr.write("RTNETLINK answers: File exists\n")
        return 2
    if os.getuid() != 0:
        sys.stderr.write("RTNETLINK answers: Operation not permitted\n")
        return 2
    node = next((n for n in NODES if os.path.exists(n)), NODES[0])
    fd = os.open(node, os.O_RDWR)
    # With packet info: wireguard-go takes a TUN from a file (WG_TUN_FD) as one
    # that has it (tun_linux.go CreateTUNFromFile: nopi false).
    ifr = struct.pack("16sH22x", name.encode(), IFF_TUN)
    fcntl.ioctl(fd, TUNSETIFF, ifr)
    if fd != 3:
        os.dup2(fd, 3, inheritable=True)
        os.close(fd)
    else:
        os.set_inheritable(3, True)
    env = dict(os.environ, WG_TUN_FD="3", WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD="1")
    env.pop("LOG_LEVEL", None)
    # Like a kernel, say nothing (wireguard-go prints a banner); its errors only
    # if it failed. It daemonizes: the foreground process exits once it serves.
    wg_go = next((p for p in WG_GO_ON_PHONE if os.path.exists(p)), WG_GO)
    proc = subprocess.run([wg_go, name], env=env, pass_fds=(3,), stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr.decode(errors="replace"))
        sys.stderr.write("RTNETLINK answers: Operation not supported\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
