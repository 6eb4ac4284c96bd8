"""How each root solution's `su` reads its command line (a pure unit).

The phone's su daemon calls `parse()` with the client's argv and either
answers at once (version, usage errors) or runs the command it yields as root.
Sources: docs/adb-protocol.md, "Root: the su variants" (Magisk su.cpp, KernelSU
ksud, AOSP su.cpp).
"""

from __future__ import annotations

from dataclasses import dataclass

SH = "/system/bin/sh"
NAMED_UIDS = {"root": 0, "system": 1000, "shell": 2000}


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
    needs_grant: bool = True  # Magisk/KernelSU ask the manager app; AOSP su doesn't


@dataclass(frozen=True)
class SuVersion:
    magisk: tuple[str, int] = ("28.1", 28100)
    kernelsu: tuple[str, int] = ("v1.0.5", 12081)


def _uid_of(who: str) -> int | None:
    if who in NAMED_UIDS:
        return NAMED_UIDS[who]
    # AOSP also takes uid,gid,groups; only the uid matters here.
    head = who.split(",", 1)[0]
    return int(head) if head.isdigit() else None


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


def _parse_kernelsu(argv: list[str], version: tuple[str, int]) -> SuReply | SuRun:
    # ksud's su (getopts): options anywhere, the first free word is the user.
    shell = SH
    words: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-c", "--command"):
            if i + 1 >= len(argv):
                return SuReply(stderr="su: option requires an argument -- 'c'\n", status=1)
            # KernelSU hands -c's single argument to sh -c; later words become $0...
            return _as_user(words[0] if words else None,
                            (shell, "-c", argv[i + 1], *argv[i + 2 :]))
        if arg in ("-v", "--version"):
            return SuReply(stdout=f"{version[0]}:KernelSU\n")
        if arg == "-V":
            return SuReply(stdout=f"{version[1]}\n")
        if arg in _NO_ARG:
            i += 1
            continue
        if arg in _WITH_ARG:
            if arg in ("-s", "--shell") and i + 1 < len(argv):
                shell = argv[i + 1]
            i += 2
            continue
        if arg.startswith("-") and arg != "-":
            return SuReply(stderr=f"su: unrecognized option '{arg}'\n", status=1)
        words.append(arg)
        i += 1
    return _as_user(words[0] if words else None, (shell,))


def _as_user(user: str | None, argv: tuple[str, ...]) -> SuReply | SuRun:
    """Run `argv` as USER (a name or uid; root when absent), or refuse an unknown one."""
    if user is None:
        return SuRun(argv, 0)
    uid = _uid_of(user)
    if uid is None:
        return SuReply(stderr=f"su: unknown user {user}\n", status=1)
    return SuRun(argv, uid)


def _parse_aosp(argv: list[str]) -> SuReply | SuRun:
    # system/extras/su/su.cpp: su [WHO [COMMAND...]]
    if not argv:
        return SuRun((SH,), 0, needs_grant=False)
    if argv[0] == "--help":
        return SuReply(
            stdout="usage: su [WHO [COMMAND...]]\n\n"
            "Switch to WHO (default 'root') and run the given COMMAND (default sh).\n"
        )
    uid = _uid_of(argv[0])
    if uid is None:
        return SuReply(stderr=f"su: invalid uid/gid '{argv[0]}'\n", status=1)
    command = tuple(argv[1:]) or (SH,)
    return SuRun(command, uid, needs_grant=False)
