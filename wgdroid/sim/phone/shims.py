"""The phone's /system: Android's shims (getprop, su, ndc, am, ...) and the
toybox-like set of host commands linked into /system/bin."""

from __future__ import annotations

import shutil
from pathlib import Path

# What toybox/toolbox provide on Android 14, resolved on the host at build time.
TOYBOX = (
    "awk", "base64", "basename", "blockdev", "cal", "cat", "chgrp", "chmod", "chown",
    "chroot", "cksum", "clear", "cmp", "comm", "cp", "cpio", "cut", "date", "dd", "df",
    "diff", "dirname", "dmesg", "du", "echo", "egrep", "env", "expand", "expr", "fallocate",
    "false", "fgrep", "file", "find", "flock", "fmt", "free", "getconf", "grep", "groups",
    "gunzip", "gzip", "head", "hostname", "id", "ionice", "kill", "killall", "ln",
    "logname", "losetup", "ls", "lsof", "md5sum", "mkdir", "mkfifo", "mknod", "mktemp",
    "more", "mount", "mountpoint", "mv", "nice", "nl", "nohup", "nproc", "nsenter", "od",
    "paste", "patch", "pgrep", "pidof", "pkill", "pmap", "printenv", "printf", "ps", "pwd",
    "readlink", "realpath", "renice", "rm", "rmdir", "sed", "seq", "setsid", "sha1sum",
    "sha256sum", "sha512sum", "sleep", "sort", "split", "stat", "strings", "stty", "sync",
    "sysctl", "tac", "tail", "tar", "taskset", "tee", "test", "time", "timeout", "top",
    "touch", "tr", "true", "truncate", "tty", "umount", "uname", "uniq", "uptime", "vmstat",
    "watch", "wc", "which", "whoami", "xargs", "xxd", "yes", "zcat", "ip", "ping", "ping6",
    "iptables", "ip6tables", "iptables-restore", "ip6tables-restore", "ss",
)

GETPROP = r"""#!/system/bin/sh
# getprop [NAME [DEFAULT]]: the phone's properties from /system/build.prop.
if [ $# -eq 0 ]; then
  while IFS='=' read -r k v; do echo "[$k]: [$v]"; done < /system/build.prop
  exit 0
fi
while IFS='=' read -r k v; do
  if [ "$k" = "$1" ]; then echo "$v"; exit 0; fi
done < /system/build.prop
echo "${2:-}"
"""

# netd's control client. The simulator has no netd: what changes the
# interface (addresses, routes, MTU) is applied with ip in the phone's
# namespace, the rest (networks, users, DNS) is acknowledged, so the Android
# wg-quick's tunnels carry traffic.
NDC = r"""#!/system/bin/sh
ok() { echo "200 0 $1 command succeeded"; exit 0; }
bad() { echo "500 0 $1" >&2; exit 1; }
case "$1 $2" in
  "interface setcfg")
    ip addr add "$4/$5" dev "$3" || bad "Failed to set address"
    case " $* " in *" up "*) ip link set up dev "$3" || bad "Failed to set up";; esac
    ok "Interface IP setcfg";;
  "interface setmtu") ip link set mtu "$4" dev "$3" || bad "Failed to set MTU"; ok "Interface MTU";;
  "interface ipv6") ok "IPv6 state changed";;
  "network route")
    if [ "$3" = add ]; then ip route replace "$6" dev "$5" || bad "Failed to add route"
    elif [ "$3" = remove ]; then ip route del "$6" dev "$5" 2>/dev/null
    fi
    ok "Route";;
  "network "*|"resolver "*) ok "$1 $2";;
  *) bad "Command not recognized";;
esac
"""

# The package manager: `pm path PKG` and `pm list packages [-f] [FILTER]`.
# Installed apps are listed in PM_DB (package and APK path; the simulator
# installs the official WireGuard app there); system packages are a fixed
# few. Unknown packages exit 1, as real pm does.
PM_DB = "/data/system/wgdroid-sim-packages"
PM = r"""#!/system/bin/sh
system_pkgs() {
  echo "android /system/framework/framework-res.apk"
  echo "com.android.shell /system/priv-app/Shell/Shell.apk"
  echo "com.android.settings /system_ext/priv-app/Settings/Settings.apk"
  echo "com.android.systemui /system_ext/priv-app/SystemUI/SystemUI.apk"
}
all_pkgs() {
  system_pkgs
  cat /data/system/wgdroid-sim-packages 2>/dev/null
}
case "$1" in
  path)
    [ -n "$2" ] || { echo "Error: no package specified" >&2; exit 1; }
    all_pkgs | while read -r name apk; do
      [ "$name" = "$2" ] && echo "package:$apk"
    done | grep . || exit 1;;
  list)
    [ "$2" = packages ] || { echo "Error: unknown list type '$2'" >&2; exit 1; }
    shift 2; f=0; filter=
    for a in "$@"; do case "$a" in -f) f=1;; -*) ;; *) filter=$a;; esac; done
    all_pkgs | while read -r name apk; do
      case "$name" in *"$filter"*) ;; *) continue;; esac
      if [ $f = 1 ]; then echo "package:$apk=$name"; else echo "package:$name"; fi
    done;;
  *) echo "pm: $1 is not simulated" >&2; exit 1;;
esac
"""

AM = r"""#!/system/bin/sh
# Activity manager stub: broadcasts are acknowledged, nothing receives them.
case "$1" in
  broadcast) shift; echo "Broadcasting: Intent { $* }"; echo "Broadcast completed: result=0";;
  *) echo "am: $1 is not simulated" >&2; exit 1;;
esac
"""

RESOLVCONF = r"""#!/system/bin/sh
# Enough of resolvconf(8) for wg-quick's DNS=: keep per-interface records in /run.
dir=/run/resolvconf/interface
mkdir -p "$dir"
case "$1" in
  -a) cat > "$dir/$2";;
  -d) rm -f "$dir/$2";;
  -l) if [ -n "$2" ]; then cat "$dir/$2" 2>/dev/null; else cat "$dir"/* 2>/dev/null; fi;;
  *) echo "resolvconf: unsupported option $1" >&2; exit 1;;
esac
exit 0
"""

GETENFORCE = r"""#!/system/bin/sh
cat /run/selinux_mode 2>/dev/null || echo Enforcing
"""

SETENFORCE = r"""#!/system/bin/sh
if [ "$(id -u)" != 0 ]; then
  echo "setenforce: Couldn't set enforcing status to '$1': Permission denied" >&2; exit 1
fi
case "$1" in
  0|[Pp]ermissive) echo Permissive > /run/selinux_mode;;
  1|[Ee]nforcing) echo Enforcing > /run/selinux_mode;;
  *) echo "usage: setenforce [enforcing|permissive|1|0]" >&2; exit 1;;
esac
"""

# Android's wg-quick finds bare names in /data/misc/wireguard first; the Linux
# one only looks in /etc/wireguard, so map the name to a path before handing over.
WG_QUICK = r"""#!/system/bin/sh
if [ $# -ge 2 ] && [ -f "/data/misc/wireguard/$2.conf" ]; then
  cmd="$1"; name="$2"; shift 2
  exec /usr/bin/wg-quick "$cmd" "/data/misc/wireguard/$name.conf" "$@"
fi
exec /usr/bin/wg-quick "$@"
"""


# Debian's /etc/profile would put /usr/bin first in a login shell's PATH: the
# phone gets Android's instead (no /etc/profile), and mkshrc via ENV.
PROFILE = "# Android has no /etc/profile; interactive shells read $ENV (/system/etc/mkshrc)\n"


def mkshrc(device: str) -> str:
    """Like Android's /system/etc/mkshrc: `shiba:/ $ ` (or `#` as root)."""
    return (
        "# /system/etc/mkshrc: interactive mksh set-up, as on Android\n"
        f": ${{HOSTNAME:={device}}}\n"
        ": ${TMPDIR:=/data/local/tmp}\n"
        "export HOSTNAME TMPDIR\n"
        "if (( USER_ID )); then PS1='$'; else PS1='#'; fi\n"
        "PS1='${HOSTNAME}:${PWD:-?} '\"$PS1 \"\n"
    )


def magisk_script(version: str, code: int) -> str:
    """The `magisk` CLI the official app's RootShell calls (`magisk --sqlite ...`)."""
    return (
        "#!/system/bin/sh\n"
        'case "$1" in\n'
        f'  -v) echo "{version}:MAGISK:R";;\n'
        f'  -V) echo "{code}";;\n'
        '  --sqlite|--path|--install-module|--remove-modules) '
        '[ "$(id -u)" = 0 ] || { echo "magisk: Permission denied" >&2; exit 1; };;\n'
        '  *) echo "magisk: $1 is not simulated" >&2; exit 1;;\n'
        "esac\n"
    )


def python_wrapper(interpreter: str) -> str:
    # A wrapper, not a symlink: a venv interpreter finds its pyvenv.cfg only by its own path.
    return f'#!/system/bin/sh\nexec {interpreter} "$@"\n'


def android_wg_quick(base_python: str) -> str:
    """The Android wg-quick (android_wg_quick.py) as a phone executable."""
    source = (Path(__file__).parent / "android_wg_quick.py").read_text()
    return f"#!{base_python} -I\n" + source


def su_script(base_python: str) -> str:
    source = (Path(__file__).parent / "su_client.py").read_text()
    return f"#!{base_python} -I\n" + source


def toybox_links() -> dict[str, str]:
    """name -> host path of every toybox-like command the host has."""
    links = {}
    for name in TOYBOX:
        path = shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
        if path:
            links[name] = path
    return links


def tool_paths() -> dict[str, str]:
    """Profile tools that are plain links to host binaries."""
    found = {}
    for name in ("wg", "wireguard-go"):
        path = shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
        if path:
            found[name] = path
    return found


def build_prop(props: dict[str, str]) -> str:
    return "".join(f"{k}={v}\n" for k, v in sorted(props.items()))
