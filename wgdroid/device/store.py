"""The config store on the phone: /data/misc/wireguard/NAME.conf (root-only).

Each operation is one root script in one adb round trip. A pushed config
travels on the script's stdin inside the ADB stream: never on a command line
(so never in `ps`) and never through world-readable /data/local/tmp. It is
written to a temp file in the same directory, checked (size and SHA-256),
fsynced, chmod 0600, chowned root and renamed over the old file, so a failed
or interrupted push leaves the previous config byte-identical.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from wgdroid.config.issues import ConfigIssue
from wgdroid.config.keyspec import Dialect
from wgdroid.device import control, dialect
from wgdroid.device import script as sc
from wgdroid.device.connection import Device
from wgdroid.device.control import Backend
from wgdroid.device.dialect import DialectCheck
from wgdroid.device.rootshell import RootMethod, run_root
from wgdroid.errors import InvalidInputError, NotFoundError


@dataclass(frozen=True)
class StoredTunnel:
    name: str
    size: int
    mtime: int | None
    up: bool

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "size": self.size, "mtime": self.mtime, "up": self.up}


@dataclass(frozen=True)
class StoreResult:
    name: str
    method: RootMethod
    elapsed: float
    backend: str | None = None  # when the operation brought a tunnel up
    restarted: bool = False
    dialect: Dialect | None = None  # the phone's wg-quick, seen by push
    warnings: tuple[ConfigIssue, ...] = ()  # what that wg-quick would warn about


def list_tunnels(device: Device, *, root_timeout: float | None = None) -> list[StoredTunnel]:
    script = sc.Script().add(
        f"cd {sc.STORE_DIR} 2>/dev/null || exit 0",
        'up=" $(echo $(wg show interfaces 2>/dev/null)) "',
        "for f in *.conf; do",
        '  [ -f "$f" ] || continue',
        '  n=${f%.conf}; u=0',
        '  case "$up" in *" $n "*) u=1 ;; esac',
        '  printf "L\\t%s\\t%s\\t%s\\t%s\\n" "$n" "$(wc -c < "$f")" '
        '"$(stat -c %Y "$f" 2>/dev/null)" "$u"',
        "done",
    )
    res = run_root(device, script.render(), root_timeout=root_timeout)
    sc.raise_for_tags(res.tags, res.stderr_lines, res.returncode, "listing tunnels")
    return parse_list(res.stdout)


def parse_list(stdout: str) -> list[StoredTunnel]:
    found = []
    for line in stdout.splitlines():
        f = line.split("\t")
        if len(f) != 5 or f[0] != "L":
            continue
        try:
            sc.check_name(f[1])
        except InvalidInputError:
            continue  # a file wg-quick could not use either
        size = int(f[2].strip()) if f[2].strip().isdigit() else 0
        mtime = int(f[3]) if f[3].isdigit() else None
        found.append(StoredTunnel(f[1], size, mtime, f[4] == "1"))
    return sorted(found, key=lambda t: t.name)


def push_script(
    name: str, size: int, digest: str, *, enable: Backend | None, guard: str = ""
) -> str:
    """`guard` (DialectCheck.guard) refuses before anything is written when the
    phone's wg-quick would refuse the config."""
    d = sc.STORE_DIR
    funcs = control.functions()
    s = sc.Script().add(funcs)
    if guard:
        if "wg_dialect()" not in funcs:
            s.add(dialect.DETECT_FUNCTION)
        s.add(guard)
    s.add(
        f"n={sc.q(name)}; f={d}/$n.conf; t={d}/.$n.conf.tmp.$$",
        f"mkdir -p {d} && chmod 700 {d} || " + sc.fail("write", f"cannot create {d}"),
        f'rm -f {d}/.$n.conf.tmp.*',
        "trap 'rm -f \"$t\"' EXIT",
        'cat > "$t" || ' + sc.fail("write", "writing the temp file failed"),
        f'[ "$(wc -c < "$t")" -eq {size} ] || '
        + sc.fail("truncated", "the config arrived incomplete"),
        "if command -v sha256sum >/dev/null 2>&1; then",
        f'  [ "$(sha256sum < "$t" | cut -d" " -f1)" = {digest} ] || '
        + sc.fail("corrupt", "the config arrived damaged"),
        "fi",
        'chown 0:0 "$t" && chmod 600 "$t" || ' + sc.fail("write", "chmod/chown failed"),
        "sync",
        'mv -f "$t" "$f" || ' + sc.fail("write", "renaming the temp file failed"),
        "sync",
        'echo "P\t$n"',
    )
    if enable is not None:
        s.add(
            'r=0; if is_up "$n"; then wg_down "$n"; r=1; fi',
            f'wg_up "$n" {sc.q(enable.value)}',
            '[ "$r" = 1 ] && echo "R\t$n"',
            "true",
        )
    return s.render()


def push(
    device: Device,
    data: bytes,
    name: str,
    *,
    enable: Backend | None = None,
    dialect_override: Dialect | None = None,
    filename: str | None = None,
    check: DialectCheck | None = None,
    root_timeout: float | None = None,
    timeout: float = 60.0,
) -> StoreResult:
    """Store a config as NAME.conf; with `enable`, bring it up (restarting it
    if it was up). One round trip either way.

    The config is validated for the phone's wg-quick first (ConfigError,
    FILE:LINE issues, nothing written): the Android one refuses hooks, Table
    and SaveConfig. The phone's wg-quick is detected inside the same root
    script; `dialect_override` skips that and decides locally, without
    contacting the phone when it refuses. `check` reuses a DialectCheck
    already made for this data (by the CLI); `filename` names it in issues."""
    sc.check_name(name)
    if check is None:
        check = dialect.check_config(data, filename or f"{name}.conf")
    guard = check.guard()
    if dialect_override is not None:
        check.require(dialect_override)
        guard = ""
    digest = hashlib.sha256(data).hexdigest()
    script = push_script(name, len(data), digest, enable=enable, guard=guard)
    res = run_root(device, script, stdin=data, root_timeout=root_timeout, timeout=timeout)
    found = dialect.dialect_from_stdout(res.stdout)
    if found is not None:
        dialect.remember(device, found)
    if res.tag("dialect") is not None and found is not None:
        check.require(found)  # raises: that wg-quick refuses the config
    seen = dialect_override or found
    warnings = tuple(check.warnings[seen]) if seen is not None else ()
    if enable is not None and control.userspace_would_help(res.tags, enable):
        # Stored, but no backend: install the bundled data plane on the way, as enable does.
        up = control.enable(device, name, backend=enable, root_timeout=root_timeout,
                            timeout=timeout)
        return StoreResult(name, res.method, res.elapsed + up.elapsed, up.backend, False,
                           seen, warnings)
    sc.raise_for_tags(res.tags, res.stderr_lines, res.returncode, f"pushing {name}")
    lines = res.stdout.splitlines()
    backend = next(
        (ln.split("\t")[2] for ln in lines if ln.startswith("B\t") and ln.count("\t") == 2), None
    )
    return StoreResult(name, res.method, res.elapsed, backend, f"R\t{name}" in lines,
                       seen, warnings)


def pull(device: Device, name: str, *, root_timeout: float | None = None) -> bytes:
    path = sc.conf_path(name)
    script = sc.Script().add(
        f"[ -f {path} ] || " + sc.fail("not-found", name),
        f"cat {path}",
    )
    res = run_root(device, script.render(), root_timeout=root_timeout)
    sc.raise_for_tags(res.tags, res.stderr_lines, res.returncode, f"pulling {name}")
    return res.stdout_raw


def remove(
    device: Device, name: str, *, force: bool = False, root_timeout: float | None = None
) -> StoreResult:
    sc.check_name(name)
    s = sc.Script().add(control.functions())
    s.add(
        f"n={sc.q(name)}; f={sc.STORE_DIR}/$n.conf",
        '[ -f "$f" ] || ' + sc.fail("not-found", name),
        ('is_up "$n" && wg_down "$n"' if force else 'is_up "$n" && fail is-up "$n"'),
        'rm -f "$f" || ' + sc.fail("rm", "rm failed"),
        "sync",
    )
    res = run_root(device, s.render(), root_timeout=root_timeout)
    sc.raise_for_tags(res.tags, res.stderr_lines, res.returncode, f"removing {name}")
    return StoreResult(name, res.method, res.elapsed)


def rename(
    device: Device,
    old: str,
    new: str,
    *,
    force: bool = False,
    root_timeout: float | None = None,
) -> StoreResult:
    """Rename OLD.conf to NEW.conf. Refused while OLD is up, unless `force`:
    then down, rename, up again (on the backend it had)."""
    sc.check_name(old)
    sc.check_name(new)
    if old == new:
        raise InvalidInputError("the old and new names are the same")
    d = sc.STORE_DIR
    s = sc.Script().add(control.functions())
    s.add(
        f"o={sc.q(old)}; w={sc.q(new)}",
        f'[ -f {d}/"$o".conf ] || ' + sc.fail("not-found", old),
        f'[ -e {d}/"$w".conf ] && ' + sc.fail("exists", new),
        'is_up "$w" && ' + sc.fail("exists", new),
        "r=0",
        'if is_up "$o"; then',
        ('  ' + sc.fail("is-up", old)) if not force else
        f'  b=$(cut -d" " -f2 {sc.STATE_DIR}/"$o" 2>/dev/null); [ -n "$b" ] || b=auto; '
        'wg_down "$o"; r=1',
        "fi",
        f'mv {d}/"$o".conf {d}/"$w".conf || ' + sc.fail("rename", "mv failed"),
        "sync",
        'if [ "$r" = 1 ]; then wg_up "$w" "$b"; echo "R\t$w"; fi',
    )
    res = run_root(device, s.render(), root_timeout=root_timeout)
    sc.raise_for_tags(res.tags, res.stderr_lines, res.returncode, f"renaming {old}")
    lines = res.stdout.splitlines()
    return StoreResult(new, res.method, res.elapsed, None, f"R\t{new}" in lines)


def read_local_config(path: str) -> bytes:
    from wgdroid.config.parser import read_config_bytes

    if path == "-":
        raise InvalidInputError("push reads a file; save the config first")
    try:
        return read_config_bytes(path)
    except InvalidInputError:
        raise
    except FileNotFoundError:
        raise NotFoundError(f"{path}: no such file") from None
