"""How each root solution's `su` reads its command line (a pure unit).

The phone's su daemon calls `parse()` with the client's argv and either
answers at once (version, usage errors) or runs the command it yields as root.
Sources: docs/adb-protocol.md, "Root: the su variants" (Magisk su.cpp, KernelSU
kernel/feature/sucompat.c and userspace/ksud/src/su.rs, AOSP su.cpp).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wgdroid.sim.phone.android_ids import getpwnam

SH = "/system/bin/sh"
@dataclass(frozen=True)
class SuReply:
    """An answer that needs no root: a version, or a usage error."""

    stdout: str = ""
    stderr: str = ""
    status: int = 0


@dataclass(frozen=True)
class SuRun:
    """Run argv as uid (after the policy says yes)."""

    argv: tuple[str, ...]
    uid: int = 0
    # Magisk's su asks its daemon (policy, prompt); AOSP su checks the caller
    # itself; KernelSU's kernel decided before ksud's su ran (sucompat.c).
    needs_grant: bool = True


@dataclass(frozen=True)
class SuVersion:
    magisk: tuple[str, int] = ("28.1", 28100)
    kernelsu: tuple[str, int] = ("v1.0.5", 12081)


def _magisk_uid(who: str) -> int:
    """su.cpp su_client_main: getpwnam, else parse_int, which is -1 for
    anything but digits; set_identity's setresuid(-1) then changes nothing,
    so an unknown name runs as root."""
    uid = getpwnam(who)
    if uid is not None:
        return uid
    return int(who) if who.isdigit() else 0


def _aosp_uid(who: str) -> int | None:
    """system/extras su/su.cpp pwtoid (WHO is uid,gid,groups: the uid is the
    first): getpwnam, else strtoul's leading digits; None is its "invalid
    uid/gid" error."""
    head = who.split(",", 1)[0]
    uid = getpwnam(head)
    if uid is not None:
        return uid
    digits = re.match(r"\d+", head)
    return int(digits[0]) if digits else None


def parse(variant: str, argv: list[str], versions: SuVersion = SuVersion()) -> SuReply | SuRun:
    if variant == "magisk":
        return _parse_magisk(argv, versions.magisk)
    if variant == "kernelsu":
        return _parse_kernelsu(argv, versions.kernelsu)
    if variant == "aosp":
        return _parse_aosp(argv)
    return SuReply(stderr=f"su: unsupported variant {variant}\n", status=1)


_MAGISK_USAGE = (
    "MagiskSU\n\nUsage: su [options] [-] [user [argument...]]\n\n"
    "Options:\n  -c, --command COMMAND         Pass COMMAND to the invoked shell\n"
    "  -h, --help                    Display this help message and exit\n"
    "  -, -l, --login                Pretend the shell to be a login shell\n"
    "  -m, -p,\n  --preserve-environment        Preserve the entire environment\n"
    "  -s, --shell SHELL             Use SHELL instead of the default /system/bin/sh\n"
    "  -v, --version                 Display version number and exit\n"
    "  -V                            Display version code and exit\n"
    "  -mm, -M,\n  --mount-master                Force run in the global mount namespace\n"
)
_NO_ARG = {"-l", "--login", "-", "-m", "-p", "--preserve-environment", "-mm", "-M",
           "--mount-master", "-i", "--interactive"}
_WITH_ARG = {"-s", "--shell", "-Z", "--context", "-t", "--target", "-g", "--group",
             "-G", "--supp-group"}


def _parse_magisk(argv: list[str], version: tuple[str, int]) -> SuReply | SuRun:
    # su.cpp parses with getopt_long, which permutes: options may follow the
    # user (`su 10123 -c CMD`), whose name is the first non-option word.
    shell = SH
    command: str | None = None
    words: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-c", "--command"):
            # Magisk joins everything after -c, which is why -c must come last.
            rest = argv[i + 1 :]
            if not rest:
                return SuReply(stderr=_MAGISK_USAGE, status=2)
            command = " ".join(rest)
            break
        if arg in ("-v", "--version"):
            return SuReply(stdout=f"{version[0]}:MAGISKSU\n")
        if arg == "-V":
            return SuReply(stdout=f"{version[1]}\n")
        if arg in ("-h", "--help"):
            return SuReply(stdout=_MAGISK_USAGE)
        if arg in _NO_ARG:
            i += 1
            continue
        if arg in _WITH_ARG:
            if i + 1 >= len(argv):
                return SuReply(stderr=_MAGISK_USAGE, status=2)
            if arg in ("-s", "--shell"):
                shell = argv[i + 1]
            i += 2
            continue
        if arg.startswith("-") and arg != "-":
            return SuReply(stderr=_MAGISK_USAGE, status=2)
        words.append(arg)
        i += 1
    # Words after the user are ignored: without -c the shell then reads stdin.
    return _as_user(words[0] if words else None,
                    (shell, "-c", command) if command is not None else (shell,))


# ksud's su (userspace/ksud/src/su.rs root_shell) parses with the getopts
# crate: these are its options (short, long, takes a value), in its order.
_KSU_OPTIONS = (
    ("c", "command", "COMMAND", "pass COMMAND to the invoked shell"),
    ("h", "help", "", "display this help message and exit"),
    ("l", "login", "", "pretend the shell to be a login shell"),
    ("p", "preserve-environment", "", "preserve the entire environment"),
    ("s", "shell", "SHELL", "use SHELL instead of the default /system/bin/sh"),
    ("v", "version", "", "display version number and exit"),
    ("V", "", "", "display version code and exit"),
    ("M", "mount-master", "", "force run in the global mount namespace"),
    ("g", "group", "GROUP", "Specify the primary group"),
    ("G", "supp-group", "GROUP", "Specify a supplementary group. The first specified "
     "supplementary group is also used as a primary group if the option -g is not specified."),
    ("w", "wrapper", "", "Use mksu fd wrapper"),
    ("W", "no-wrapper", "", "Don't use mksu fd wrapper"),
)


def _ksu_usage() -> str:
    """su.rs print_usage: getopts' Options::usage (rows padded to 24 columns,
    descriptions wrapped at 54)."""
    rows = []
    for short, long, hint, desc in _KSU_OPTIONS:
        row = "    -" + short + (", --" + long + " " if long else " ") + hint
        lines: list[str] = []
        for word in desc.split():
            if lines and len(lines[-1]) + 1 + len(word) <= 54:
                lines[-1] += " " + word
            else:
                lines.append(word)
        pad = row.ljust(24) if len(row) < 24 else row + "\n" + " " * 24
        rows.append(pad + ("\n" + " " * 24).join(lines))
    return ("KernelSU\n\nUsage: su [options] [-] [user [argument...]]\n\nOptions:\n"
            + "\n".join(rows) + "\n")


def _ksu_getopts(args: list[str]) -> tuple[dict[str, list[str]], list[str]] | str:
    """getopts' Options::parse (FloatingFrees): the options given (by short
    name, values in order) and the free words, or its Fail's Display text."""
    by_short = {o[0]: o for o in _KSU_OPTIONS}
    by_long = {o[1]: o for o in _KSU_OPTIONS if o[1]}
    given: dict[str, list[str]] = {}
    free: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            free.extend(args[i + 1 :])
            break
        if len(arg) < 2 or not arg.startswith("-"):
            free.append(arg)
            i += 1
            continue
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            opt = by_long.get(name)
            if opt is None:
                return f"Unrecognized option: '{name}'"
            if not opt[2]:
                if eq:
                    return f"Option '{name}' does not take an argument"
                given.setdefault(opt[0], []).append("")
            elif eq:
                given.setdefault(opt[0], []).append(value)
            elif i + 1 < len(args):
                i += 1
                given.setdefault(opt[0], []).append(args[i])
            else:
                return f"Argument to option '{name}' missing"
            i += 1
            continue
        # A run of short options; one that takes a value takes the rest (or the next word).
        j = 1
        while j < len(arg):
            ch = arg[j]
            opt = by_short.get(ch)
            if opt is None:
                return f"Unrecognized option: '{ch}'"
            if not opt[2]:
                given.setdefault(ch, []).append("")
                j += 1
                continue
            if j + 1 < len(arg):
                given.setdefault(ch, []).append(arg[j + 1 :])
            elif i + 1 < len(args):
                i += 1
                given.setdefault(ch, []).append(args[i])
            else:
                return f"Argument to option '{ch}' missing"
            break
        i += 1
    for short, long, _hint, _desc in _KSU_OPTIONS:
        if short != "G" and len(given.get(short, ())) > 1:
            return f"Option '{long or short}' given more than once"
    return given, free


def _ksu_uid(name: str) -> int:
    """su.rs: getpwnam (bionic: Android's ids, u0_aNNN for apps), else the
    number, else 0: an unknown user name is root."""
    uid = getpwnam(name)
    if uid is not None:
        return uid
    return int(name) if name.isdigit() and int(name) < 1 << 32 else 0


def _parse_kernelsu(argv: list[str], version: tuple[str, int]) -> SuReply | SuRun:
    # The kernel (kernel/feature/sucompat.c) already decided: an allowed
    # caller's execve of /system/bin/su runs ksud as root; this is what
    # ksud's su (userspace/ksud/src/su.rs root_shell) then does with argv.
    if "-c" in argv:
        # root_shell joins every word after the first `-c` with spaces, as
        # Magisk does; a bare trailing -c is left without its value.
        at = argv.index("-c")
        rest = argv[at + 1 :]
        argv = [*argv[:at], "-c", *([" ".join(rest)] if rest else [])]
    argv = ["-M" if a == "-mm" else "-z" if a == "-cn" else a for a in argv]
    parsed = _ksu_getopts(argv)
    if isinstance(parsed, str):
        # println!("{f}"), print_usage, exit(-1): all on stdout, status 255.
        return SuReply(stdout=parsed + "\n" + _ksu_usage(), status=255)
    given, free = parsed
    if "h" in given:
        return SuReply(stdout=_ksu_usage())
    if "v" in given:
        return SuReply(stdout=f"{version[0]}:KernelSU\n")
    if "V" in given:
        return SuReply(stdout=f"{version[1]}\n")
    for gid in given.get("g", []) + given.get("G", []):
        if not gid.isdigit():
            return SuReply(stderr=f"Error: Invalid GID: {gid}\n", status=1)
    shell = given.get("s", [SH])[0]
    if free and free[0] == "-":
        free = free[1:]  # a login shell (argv[0] "-"); words after the user are ignored
    uid = _ksu_uid(free[0]) if free else 0
    command = given.get("c")
    return SuRun((shell, "-c", command[0]) if command else (shell,), uid, needs_grant=False)


def _as_user(user: str | None, argv: tuple[str, ...]) -> SuRun:
    """Run `argv` as USER (a name or uid; root when absent)."""
    return SuRun(argv, 0 if user is None else _magisk_uid(user))


def _parse_aosp(argv: list[str]) -> SuReply | SuRun:
    # system/extras/su/su.cpp: su [WHO [COMMAND...]]
    if not argv:
        return SuRun((SH,), 0, needs_grant=False)
    if argv[0] == "--help":
        return SuReply(
            stdout="usage: su [WHO [COMMAND...]]\n\n"
            "Switch to WHO (default 'root') and run the given COMMAND (default sh).\n"
        )
    uid = _aosp_uid(argv[0])
    if uid is None:
        return SuReply(stderr=f"su: invalid uid/gid '{argv[0]}'\n", status=1)
    command = tuple(argv[1:]) or (SH,)
    return SuRun(command, uid, needs_grant=False)
