"""The phone's /system: Android's shims (getprop, su, ndc, am, ...) and the
toybox-like set of host commands linked into /system/bin."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

# Android 14's toybox applets (external/toybox Android.bp, toybox 0.8.9): each is
# /system/bin/NAME -> toybox, served by Debian's toybox 0.8.9 (the same release).
TOYBOX = (
    "acpi", "base64", "basename", "blockdev", "cal", "cat", "chattr", "chgrp", "chmod",
    "chown", "chroot", "chrt", "cksum", "clear", "cmp", "comm", "cp", "cpio", "cut", "date",
    "devmem", "df", "dirname", "dmesg", "dos2unix", "du", "echo", "egrep", "env", "expand",
    "fallocate", "false", "fgrep", "file", "find", "flock", "fmt", "free", "fsync", "getconf",
    "getfattr", "grep", "groups", "gunzip", "head", "hostname", "hwclock", "i2cdetect",
    "i2cdump", "i2cget", "i2cset", "iconv", "id", "ifconfig", "inotifyd", "insmod", "install",
    "ionice", "iorenice", "kill", "killall", "ln", "logname", "losetup", "ls", "lsattr",
    "lsmod", "lspci", "lsusb", "md5sum", "microcom", "mkdir", "mkfifo", "mknod", "mkswap",
    "mktemp", "modinfo", "modprobe", "mount", "mountpoint", "mv", "nc", "netcat", "netstat",
    "nice", "nl", "nohup", "nproc", "nsenter", "od", "paste", "patch", "pgrep", "pidof",
    "pkill", "pmap", "printenv", "printf", "ps", "pwd", "readelf", "readlink", "realpath",
    "renice", "rm", "rmdir", "rmmod", "rtcwake", "sed", "sendevent", "seq", "setfattr",
    "setsid", "sha1sum", "sha224sum", "sha256sum", "sha384sum", "sha512sum", "sleep", "sort",
    "split", "stat", "strings", "stty", "swapoff", "swapon", "sync", "sysctl", "tac", "tail",
    "tar", "taskset", "tee", "test", "time", "timeout", "top", "touch", "tr", "true",
    "truncate", "tty", "ulimit", "umount", "uname", "uniq", "unix2dos", "unlink", "unshare",
    "uptime", "usleep", "uudecode", "uuencode", "uuidgen", "vmstat", "watch", "wc", "which",
    "whoami", "xargs", "xxd", "yes", "zcat",
)
# Android's toybox applets Debian's build leaves out (no libselinux, or GNU has
# them): the host's programs stand in (any applet Debian's toybox turns out to
# lack is looked up the same way); the SELinux ones are shims below.
TOYBOX_FROM_HOST = ("dd", "diff", "expr", "gzip", "more", "lsof")
# /system/bin programs that are not toybox: mksh is sh; awk is one-true-awk;
# ping/ping6 are iputils; ip, ss are iproute2; iptables are legacy xtables.
NOT_TOYBOX = {
    "awk": "awk", "ping": "ping", "ping6": "ping", "ip": "ip", "ss": "ss",
    "iptables": "xtables-legacy-multi", "ip6tables": "xtables-legacy-multi",
    "iptables-save": "xtables-legacy-multi", "ip6tables-save": "xtables-legacy-multi",
    "iptables-restore": "xtables-legacy-multi", "ip6tables-restore": "xtables-legacy-multi",
}
# Where xtables-legacy takes its lock on Android (external/iptables: XT_LOCK_NAME).
XTABLES_LOCK = "/system/etc/xtables.lock"
HOST_BIN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
# Host programs the phone's /system reaches by path.
MKSH = "/usr/bin/mksh"
TOYBOX_BIN = "/usr/bin/toybox"
LINUX_WG_QUICK = "/usr/bin/wg-quick"

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

# SELinux: the host kernel has none, so the mode lives in a file of the phone's
# /dev (gone at reboot, as a setenforce is); labels are security.selinux xattrs.
SELINUX_MODE = "/dev/.wgdroid_selinux_mode"
GETENFORCE = r"""#!/system/bin/sh
cat /dev/.wgdroid_selinux_mode 2>/dev/null || echo Enforcing
"""

# chcon [-hRv] CONTEXT FILE... (toybox's, which Debian builds without SELinux).
CHCON = r"""#!/system/bin/sh
recurse=; verbose=; deref=-h
while [ $# -gt 0 ]; do
  case "$1" in
    -R) recurse=1; shift;; -v) verbose=1; shift;; -h) shift;; --) shift; break;;
    -*) echo "chcon: Unknown option '${1#-}'" >&2; exit 1;;
    *) break;;
  esac
done
[ $# -ge 2 ] || { echo "chcon: Need 2 arguments" >&2; exit 1; }
ctx=$1; shift
case "$ctx" in *:*:*:*) ;; *) echo "chcon: '$ctx': Invalid argument" >&2; exit 1;; esac
rc=0
label() {
  setfattr -h -n security.selinux -v "$ctx" "$1" 2>/dev/null ||
    { echo "chcon: '$1' to $ctx: Permission denied" >&2; rc=1; return; }
  [ -n "$verbose" ] && echo "chcon '$ctx' '$1'"
}
for f in "$@"; do
  [ -e "$f" ] || [ -L "$f" ] || { echo "chcon: $f: No such file or directory" >&2; rc=1; continue; }
  if [ -n "$recurse" ]; then
    for g in $(find "$f"); do label "$g"; done
  else
    label "$f"
  fi
done
exit $rc
"""

# /system/bin/toybox: every applet link points here, as on Android. Debian's
# toybox (the same 0.8.9) is built without SELinux, so `ls -Z` shows `?`: for
# the files named on the command line the label (security.selinux, what chcon
# sets) is filled in; everything else is Debian's toybox as it is.
TOYBOX_WRAPPER = r"""#!/system/bin/sh
n=${0##*/}; argv0=$n
if [ "$n" = toybox ]; then
  [ $# -gt 0 ] || exec @TOYBOX@
  n=${1##*/}; argv0=$n; shift
fi
if [ "$n" = ls ]; then
  z=; d=; files=0
  for a in "$@"; do
    case "$a" in --*) ;; -*Z*) z=1;; esac
    case "$a" in --*) ;; -*d*) d=1;; -*) ;; *) files=$((files + 1));; esac
  done
  if [ -n "$z" ] && [ "$files" -gt 0 ]; then
    for a in "$@"; do case "$a" in -*) ;; *) [ -d "$a" ] && [ -z "$d" ] && z=;; esac; done
  fi
  if [ -n "$z" ] && [ "$files" -gt 0 ]; then
    opts=; rc=0
    for a in "$@"; do case "$a" in -*) opts="$opts $a";; esac; done
    for a in "$@"; do
      case "$a" in -*) continue;; esac
      line=$(@TOYBOX@ ls $opts -- "$a") || { rc=1; continue; }
      label=$(getfattr -h --only-values -n security.selinux -- "$a" 2>/dev/null | tr -d '\000')
      [ -n "$label" ] || label=u:object_r:unlabeled:s0
      printf '%s\n' "$line" | sed "s|^\(.*\) ? |\1 $label |; s|^? |$label |"
    done
    exit $rc
  fi
fi
# argv[0] as the applet was run (toybox picks the applet by it; ps shows it).
exec -a "$argv0" @TOYBOX@ "$@"
"""


def toybox_wrapper(toybox: str) -> str:
    """/system/bin/toybox: the wrapper above around the real toybox at TOYBOX."""
    return TOYBOX_WRAPPER.replace("@TOYBOX@", toybox)

# restorecon: the file_contexts are not modelled; it relabels nothing and succeeds.
RESTORECON = r"""#!/system/bin/sh
exit 0
"""

SETENFORCE = r"""#!/system/bin/sh
if [ "$(id -u)" != 0 ]; then
  echo "setenforce: Couldn't set enforcing status to '$1': Permission denied" >&2; exit 1
fi
case "$1" in
  0|[Pp]ermissive) echo Permissive > /dev/.wgdroid_selinux_mode;;
  1|[Ee]nforcing) echo Enforcing > /dev/.wgdroid_selinux_mode;;
  *) echo "usage: setenforce [enforcing|permissive|1|0]" >&2; exit 1;;
esac
"""

# Android's wg-quick finds bare names in /data/misc/wireguard first; the Linux
# one only looks in /etc/wireguard, so map the name to a path before handing over.
WG_QUICK = r"""#!/system/bin/sh
if [ $# -ge 2 ] && [ -f "/data/misc/wireguard/$2.conf" ]; then
  cmd="$1"; name="$2"; shift 2
  exec @WG_QUICK@ "$cmd" "/data/misc/wireguard/$name.conf" "$@"
fi
exec @WG_QUICK@ "$@"
"""


def wg_quick(linux_wg_quick: str) -> str:
    """/system/bin/wg-quick: the wrapper above around the Linux wg-quick."""
    return WG_QUICK.replace("@WG_QUICK@", linux_wg_quick)


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


# The phone's own Python tools (su, ndc's service/dumpsys, the Android wg-quick)
# use the standard library only: isolated (-I), and without `site` (-S), whose
# site-packages .pth files cost ~0.1 s a start here and ~1.7 s in the VM phone's
# emulated guest, where su runs once per user operation.
PHONE_PYTHON_FLAGS = "-IS"


def python_wrapper(interpreter: str) -> str:
    # A wrapper, not a symlink: a venv interpreter finds its pyvenv.cfg only by its own path.
    return f'#!/system/bin/sh\nexec {interpreter} "$@"\n'


def android_wg_quick(base_python: str) -> str:
    """The Android wg-quick (android_wg_quick.py) as a phone executable."""
    source = (Path(__file__).parent / "android_wg_quick.py").read_text()
    return f"#!{base_python} {PHONE_PYTHON_FLAGS}\n" + source


# ndc: netd's command client, in sh (it runs a dozen times per tunnel: no
# interpreter start for each). One line to the phone's netd, `ndc<TAB>ARG...`;
# netd's reply lines come back as they are. Exit 1 when netd does not answer
# (the caller may not use it), else 0, whatever netd said (NdcDispatcher).
NDC = r"""#!/system/bin/sh
if [ $# -eq 0 ]; then echo "Usage: $0 (<cmd> [arg ...])" >&2; exit 1; fi
req=ndc
for a in "$@"; do req="$req	$a"; done
reply=$(print -r -- "$req" | nc -U /dev/socket/wgdroid_netd 2>/dev/null)
[ -n "$reply" ] || exit 1
print -r -- "$reply"
"""


def netd_client(base_python: str) -> str:
    """ndc, service and dumpsys (netd_client.py) as a phone executable."""
    source = (Path(__file__).parent / "netd_client.py").read_text()
    return f"#!{base_python} {PHONE_PYTHON_FLAGS}\n" + source


def kmod_ip(real_ip: str, base_python: str) -> str:
    """`ip` on a phone whose simulated kernel has WireGuard: `ip link add NAME
    type wireguard` creates the interface (kmod_standin.py), all else is ip."""
    return (
        "#!/system/bin/sh\n"
        "# A kernel with WireGuard (the VM phone's) makes the link; on this host's,\n"
        "# which has none, the simulator's stand-in does (wgdroid.sim.phone.kmod_standin).\n"
        'case " $* " in\n'
        '  *" link add "*" type wireguard "*)\n'
        f'    err=$({real_ip} "$@" 2>&1) && exit 0\n'
        '    case "$err" in\n'
        '      *"Unknown device type"*|*"not supported"*)\n'
        f'        exec {base_python} {PHONE_PYTHON_FLAGS} {KMOD_STANDIN} "$@";;\n'
        "    esac\n"
        "    printf '%s\\n' \"$err\" >&2; exit 2;;\n"
        "esac\n"
        f'exec {real_ip} "$@"\n'
    )


KMOD_STANDIN = "/system/bin/.wgdroid-kmod"


def kmod_standin(base_python: str) -> str:
    source = (Path(__file__).parent / "kmod_standin.py").read_text()
    return f"#!{base_python} {PHONE_PYTHON_FLAGS}\n" + source


def su_script(base_python: str) -> str:
    source = (Path(__file__).parent / "su_client.py").read_text()
    return f"#!{base_python} {PHONE_PYTHON_FLAGS}\n" + source


@functools.cache
def toybox_applets() -> frozenset[str]:
    """The applets the host's toybox has (`toybox` with no arguments lists them)."""
    import subprocess

    toybox = shutil.which("toybox", path=HOST_BIN_PATH)
    if not toybox:
        return frozenset()
    out = subprocess.run([toybox], capture_output=True, text=True, check=False).stdout
    return frozenset(out.split())


def system_bin_links() -> dict[str, str]:
    """/system/bin name -> link target: toybox applets to `toybox`, the rest to
    the host's programs (resolved: the phone has no /etc/alternatives chain)."""
    import os

    links: dict[str, str] = {}
    applets = toybox_applets()
    for name in TOYBOX:
        if name in applets:
            links[name] = "toybox"
        elif path := shutil.which(name, path=HOST_BIN_PATH):
            links[name] = os.path.realpath(path)
    for name in TOYBOX_FROM_HOST:
        path = shutil.which(name, path=HOST_BIN_PATH)
        if path:
            links[name] = os.path.realpath(path)
    for name, host in NOT_TOYBOX.items():
        path = shutil.which(host, path=HOST_BIN_PATH)
        if path:
            links[name] = os.path.realpath(path)
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
