"""The config store on the phone: /data/misc/wireguard/NAME.conf (root-only).

Each operation is one root script (sh/store.sh) in one adb round trip,
holding the tunnel's lock on the phone while it changes it. A pushed config
travels on the script's stdin inside the ADB stream: never on a command line
(so never in `ps`) and never through world-readable /data/local/tmp. It is
written to a temp file in the same directory, checked (size and SHA-256),
fsynced, chmod 0600, chowned root and renamed over the old file, so a failed
or interrupted push leaves the previous config byte-identical; its temp file
goes on every exit the script sees, and the next operation on the tunnel
sweeps one left by a killed script.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from wgdroid.config.dialect import Dialect
from wgdroid.config.issues import ConfigIssue
from wgdroid.device import control, dialect
from wgdroid.device import script as sc
from wgdroid.device.connection import ConnectionLost, Device
from wgdroid.device.control import Backend
from wgdroid.device.dialect import DialectCheck
from wgdroid.device.rootshell import RootMethod, RootResult, known_method, run_root
from wgdroid.errors import (
    DeviceCommandError,
    DeviceError,
    InvalidInputError,
    NotFoundError,
    OperationTimeout,
    WgdroidError,
)


@dataclass(frozen=True)
class StoredTunnel:
    name: str
    size: int
    mtime: int | None
    up: bool
    source: str = "wgdroid"  # wgdroid: /data/misc/wireguard; app: the official app's folder
    on_boot: bool = False  # the boot script brings it up

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "size": self.size, "mtime": self.mtime, "up": self.up,
                "source": self.source, "on_boot": self.on_boot}


@dataclass(frozen=True)
class StoreResult:
    name: str
    method: RootMethod
    elapsed: float
    backend: str | None = None  # when the operation brought a tunnel up
    restarted: bool = False
    restart_reason: str | None = None  # asked, renamed, dns, table, default-route, ...
    applied: tuple[str, ...] | None = None  # push onto a running tunnel, in place: what
    dialect: Dialect | None = None  # the phone's wg-quick, seen by push
    warnings: tuple[ConfigIssue, ...] = ()  # what that wg-quick would warn about


def list_tunnels(device: Device, *, root_timeout: float | None = None) -> list[StoredTunnel]:
    res = run_root(device, sc.Script("store").call("op_list").render(), root_timeout=root_timeout)
    res.raise_for_failure("listing tunnels")
    return parse_list(res.stdout)


def parse_list(stdout: str) -> list[StoredTunnel]:
    found = []
    for r in sc.records(stdout, "tunnel"):
        try:
            sc.check_name(r["name"])
        except InvalidInputError:
            continue  # a file wg-quick could not use either
        size, mtime = r["size"].strip(), r["mtime"].strip()
        found.append(StoredTunnel(r["name"], int(size) if size.isdigit() else 0,
                                  int(mtime) if mtime.isdigit() else None, r["up"] == "1",
                                  "app" if r["source"] == "app" else "wgdroid",
                                  r["boot"] == "1"))
    return sorted(found, key=lambda t: t.name)


def push_script(
    name: str, size: int, digest: str, *, enable: Backend | None,
    accepts: tuple[bool, bool] | None = None, restart: bool = False, timeout: float = 60.0,
) -> str:
    """`accepts`: whether the Android and the Linux wg-quick would take the
    config (DialectCheck.accepts): the script refuses before anything is
    written when the phone's own would not. None: don't ask."""
    guard = ("-", "-") if accepts is None else tuple("1" if ok else "0" for ok in accepts)
    return sc.Script("store", timeout=timeout).call(
        "op_push", sc.check_name(name), size, _hex(digest), *guard,
        enable.value if enable is not None else "-", int(restart),
    ).render()


def _hex(digest: str) -> str:
    if not all(c in "0123456789abcdef" for c in digest):
        raise InvalidInputError("not a hex digest")
    return digest


def push(
    device: Device,
    data: bytes,
    name: str,
    *,
    enable: Backend | None = None,
    restart: bool = False,
    dialect_override: Dialect | None = None,
    filename: str | None = None,
    check: DialectCheck | None = None,
    allow_hooks: bool = False,
    root_timeout: float | None = None,
    timeout: float = 60.0,
) -> StoreResult:
    """Store a config as NAME.conf. One round trip.

    A running tunnel gets the new config in place (`wg syncconf`, then the
    addresses, routes and MTU that changed: `applied` says what; it is
    stored only once that worked, so a change the tunnel refuses leaves the
    old config stored), or restarts
    (`restart`, or a change that cannot be made in place, such as DNS or a
    default route: `restart_reason` says why). With `enable`, a tunnel that
    is down comes up.

    The config is validated for the phone's wg-quick first (ConfigError,
    FILE:LINE issues, nothing written): the Android one refuses hooks, Table
    and SaveConfig. The phone's wg-quick is detected inside the same root
    script; `dialect_override` skips that and decides locally, without
    contacting the phone when it refuses. `check` reuses a DialectCheck
    already made for this data (by the CLI); `filename` names it in issues.

    A config with PreUp/PostUp/PreDown/PostDown hooks is refused
    (dialect.HooksRefused, nothing sent) unless `allow_hooks`: a Linux
    wg-quick on the phone would run them as root."""
    sc.check_name(name)
    if check is None:
        check = dialect.check_config(data, filename or f"{name}.conf")
    accepts: tuple[bool, bool] | None = check.accepts()
    if dialect_override is not None:
        check.require(dialect_override)
        accepts = None
    check.allow_hooks(allow_hooks)
    digest = hashlib.sha256(data).hexdigest()
    script = push_script(name, len(data), digest, enable=enable, accepts=accepts,
                         restart=restart, timeout=timeout)
    res = run_root(device, script, stdin=data, root_timeout=root_timeout, timeout=timeout)
    found = dialect.dialect_from(res)
    if found is not None:
        dialect.remember(device, found)
    if res.tag("dialect") is not None and found is not None:
        check.require(found)  # raises: that wg-quick refuses the config
    seen = dialect_override or found
    warnings = tuple(check.warnings[seen]) if seen is not None else ()
    if enable is not None and control.userspace_would_help(res, enable):
        # Stored, but no backend: install the bundled data plane on the way, as enable does.
        up = control.enable(device, name, backend=enable, root_timeout=root_timeout,
                            timeout=timeout)
        return StoreResult(name, res.method, res.elapsed + up.elapsed, up.backend,
                           dialect=seen, warnings=warnings)
    return _stored(res, name, seen, warnings)


def _stored(res: RootResult, name: str, seen: Dialect | None,
            warnings: tuple[ConfigIssue, ...]) -> StoreResult:
    """What a push of NAME did (op_push, or one entry of op_push_many), or
    the error of its failure."""
    if res.tags:  # a failure: only then is the table of failures loaded
        from wgdroid.device.failures import reverted_error

        error = reverted_error(res.tags, res.stderr_lines, res.returncode, name)
        if error is not None:
            raise error
    # The new config in place (the old one gone), only the up after it failed:
    # said so, not "pushing failed".
    _raise_if_stored(res, name, f"stored {name}, but bringing it up")
    res.raise_for_failure(f"pushing {name}")
    why = next((r["why"] for r in res.records("restarted") if r["name"] == name), None)
    applied = next((tuple(r["changes"].split()) for r in res.records("applied")
                    if r["name"] == name), None)
    return StoreResult(name, res.method, res.elapsed, control.backend_from(res, name),
                       why is not None, why, applied, seen, warnings)


@dataclass(frozen=True)
class PushOutcome:
    """One entry of push_many: stored (`result`), or not (`error` says why),
    or not known (`known` False, `error` says why: the batch was cut off
    before this entry answered)."""

    name: str
    result: StoreResult | None = None
    error: WgdroidError | None = None
    known: bool = True


def push_many(
    device: Device,
    configs: Iterable[tuple[str, bytes]],
    *,
    overwrite: bool = False,
    allow_hooks: bool = False,
    root_timeout: float | None = None,
    timeout: float | None = None,
) -> list[PushOutcome]:
    """Store each (NAME, DATA) as NAME.conf, as `push` stores one (no enable,
    no restart), in ONE root script (one su: one prompt at most, one round
    trip). One outcome per entry, in order; an entry that fails costs only
    itself, never the others.

    Checked here first, each on its own (nothing sent for it): the name rule,
    a name given twice, the config for both wg-quicks (ConfigError), hooks
    (dialect.HooksRefused unless `allow_hooks`). On the phone (sh/store.sh
    op_push_many) each entry runs what op_push runs: its bytes checked (size
    and SHA-256), written to a temp file, fsynced, renamed into place 0600
    under the tunnel's lock; a NAME already taken (stored here or in the
    official app's folder, or up) fails ConflictError unless `overwrite`,
    when a running tunnel gets it in place or restarts, as with `push`. The
    configs travel on stdin, one after another; each entry's answer comes
    back between lines of a random boundary drawn here, as pull_many's files
    do. Raises what stops the whole batch before an entry began (no root,
    the phone unreachable). When the host stops waiting (OperationTimeout,
    progress.Cancelled) or the adb link drops (DeviceError) while entries
    run, the entries whose answer had ended keep their outcomes, and every
    other one fails "not known" (`cut_off`, exiting as the cause does): the
    phone may have stored it, or may yet (`wgdroid list` shows what it
    stores). That answer is records and the tools' words, never a config
    (those travel on stdin). `timeout`: by
    default a minute and a quarter of a second per config (the simulated
    phone takes ~50 ms each), shared by the entries: one reached with too
    little of it left to wait for its lock fails OperationTimeout, not
    ConflictError (sh/lib.sh `locked`)."""
    outcomes: dict[int, PushOutcome] = {}
    sending: list[tuple[int, str, bytes, DialectCheck]] = []
    seen_names: set[str] = set()
    for i, (name, data) in enumerate(configs):
        try:
            sc.check_name(name)
            if name in seen_names:
                raise InvalidInputError(f"{name}: given twice in one import")
            check = dialect.check_config(data, f"{name}.conf")
            check.allow_hooks(allow_hooks)
        except WgdroidError as exc:
            outcomes[i] = PushOutcome(name, error=exc)
            continue
        seen_names.add(name)
        sending.append((i, name, data, check))
    if sending:
        _push_batch(device, sending, outcomes, overwrite=overwrite, root_timeout=root_timeout,
                    timeout=60.0 + 0.25 * len(sending) if timeout is None else timeout)
    return [outcomes[i] for i in sorted(outcomes)]


def _push_batch(
    device: Device, sending: list[tuple[int, str, bytes, DialectCheck]],
    outcomes: dict[int, PushOutcome], *, overwrite: bool, root_timeout: float | None,
    timeout: float,
) -> None:
    mark = secrets.token_hex(16)
    entries = [(i, name, check) for i, name, _, check in sending]
    listed = push_list([(name, data, check.accepts()) for _, name, data, check in sending])
    script = push_many_script(mark, listed, overwrite=overwrite, timeout=timeout)
    start = time.monotonic()
    try:
        res = run_root(device, script, stdin=listed + b"".join(d for _, _, d, _ in sending),
                       root_timeout=root_timeout, timeout=timeout, keep_partial=True)
    except (OperationTimeout, DeviceError) as exc:
        raw = exc.partial_stdout
        if raw is None or b"\n" + mark.encode() + b"\tentry\t" not in raw:
            raise  # cut off before any entry began: nothing was stored
        cause: WgdroidError = exc
        found = answered(outcomes, raw, mark, entries, known_method(device) or RootMethod.SU_C,
                         time.monotonic() - start,
                         lambda name: PushOutcome(name, error=cut_off(name, cause), known=False))
    else:
        found = answered(outcomes, res.stdout_raw, mark, entries, res.method, res.elapsed,
                         lambda name: _unanswered(res, name))
    if found is not None:
        dialect.remember(device, found)


def answered(
    outcomes: dict[int, PushOutcome], raw: bytes, mark: str,
    sending: list[tuple[int, str, DialectCheck]], method: RootMethod, elapsed: float,
    missing: Callable[[str], PushOutcome],
) -> Dialect | None:
    """The outcome of each entry of op_push_many's stdout RAW (whole, or as
    far as it came) into OUTCOMES by its index: an entry whose answer ended
    (its `done` line) as `push` reads one; any other is `missing(NAME)`.
    Returns the phone's wg-quick, if it said."""
    head, entries = split_pushed(raw, mark.encode(), [n for _, n, _ in sending])
    found = dialect.dialect_from_stdout(head.decode("utf-8", "replace"))
    for i, name, check in sending:
        if name not in entries:
            outcomes[i] = missing(name)
            continue
        try:
            one = _entry_result(method, elapsed, *entries[name])
            if one.tag("dialect") is not None and found is not None:
                check.require(found)  # raises: that wg-quick refuses the config
            warnings = tuple(check.warnings[found]) if found is not None else ()
            outcomes[i] = PushOutcome(name, _stored(one, name, found, warnings))
        except WgdroidError as exc:
            outcomes[i] = PushOutcome(name, error=exc)
    return found


def _unanswered(res: RootResult, name: str) -> PushOutcome:
    """NAME, when a finished op_push_many stopped before NAME said how it
    ended: its failure (outside the entries: none of it ran), else not known."""
    try:
        res.raise_for_failure(f"pushing {name}")
    except WgdroidError as exc:
        return PushOutcome(name, error=exc)
    return PushOutcome(name, error=DeviceCommandError(
        f"pushing {name}: the phone's answer was cut short: whether it is stored is not "
        "known", hint=_LIST_HINT), known=False)


_LIST_HINT = "`wgdroid list` shows what the phone stores"


def cut_off(name: str, cause: WgdroidError) -> WgdroidError:
    """NAME's outcome when the host stopped waiting (CAUSE: OperationTimeout,
    progress.Cancelled) or the link dropped (DeviceError) before NAME's
    answer ended: not known, never "stored" or "not stored" (the phone may
    have stored it, or may still); exits as CAUSE does."""
    from wgdroid.device.progress import Cancelled

    why = ("timeout" if isinstance(cause, OperationTimeout)
           else "cancelled" if isinstance(cause, Cancelled)
           else "the adb connection broke" if isinstance(cause, ConnectionLost)
           else cause.message)
    message = (f"{name}: not known whether it is stored: the batch was cut off ({why}) "
               "before this entry answered")
    if isinstance(cause, OperationTimeout):
        return OperationTimeout(message, hint=_LIST_HINT)
    return DeviceError(message, hint=_LIST_HINT)


def push_many_script(mark: str, listed: bytes, *, overwrite: bool, timeout: float) -> str:
    """op_push_many's script for the list `push_list` made (MARK: hex)."""
    return sc.Script("store", timeout=timeout).call(
        "op_push_many", _hex(mark), int(overwrite), len(listed),
        hashlib.sha256(listed).hexdigest(),
    ).render()


def push_list(entries: list[tuple[str, bytes, tuple[bool, bool]]]) -> bytes:
    """op_push_many's list of configs (it comes before them on stdin): a line
    `NAME<TAB>SIZE<TAB>SHA256<TAB>OK_ANDROID<TAB>OK_LINUX` each, NAME checked
    by the name rule. On stdin, not the command line: the script stays one
    size whatever the number of configs (an adb request holds 64 KiB)."""
    return "".join(
        f"{sc.check_name(name)}\t{len(data)}\t{hashlib.sha256(data).hexdigest()}"
        f"\t{int(accepts[0])}\t{int(accepts[1])}\n"
        for name, data, accepts in entries).encode()


def _entry_result(method: RootMethod, elapsed: float, returncode: int,
                  body: bytes) -> RootResult:
    """One op_push_many entry as the RootResult of its own script: its
    records as stdout, the rest (its stderr, merged) as stderr."""
    text = body.decode("utf-8", "replace")
    out: list[str] = []
    err: list[str] = []
    for line in text.splitlines():
        (out if sc.records(line) else err).append(line)
    said = sc.split_stderr("\n".join(err))
    stdout = "".join(f"{line}\n" for line in out)
    return RootResult(returncode, stdout, said.lines, said.tags, method, elapsed,
                      stdout.encode(), said.steps)


def split_pushed(raw: bytes, mark: bytes, names: list[str]
                 ) -> tuple[bytes, dict[str, tuple[int, bytes]]]:
    """op_push_many's stdout: what came before the first entry, and NAME ->
    (its status, its output) for each entry of NAMES that ended, in order.
    An answer cut short or garbled stops at the last whole entry: one whose
    `done` line came to its newline (a status cut after its first digit
    would read as another)."""
    parts = raw.split(b"\n" + mark + b"\t")
    done: dict[str, tuple[int, bytes]] = {}
    for at, name in enumerate(names):
        if 2 + 2 * at >= len(parts):
            break
        head, _, body = parts[1 + 2 * at].partition(b"\n")
        line, ended, _ = parts[2 + 2 * at].partition(b"\n")
        tail = line.split(b"\t")
        status = tail[2] if len(tail) == 3 else b""
        if (head != b"entry\t" + name.encode() or tail[:2] != [b"done", name.encode()]
                or not status.isdigit() or not ended):
            break
        done[name] = (int(status), body)
    return parts[0], done


def _raise_if_stored(res: RootResult, name: str, what: str) -> None:
    """The failure, as `what` failed, if the script failed after NAME's
    config was in place (a `stored` record): then the change itself was made."""
    failed = res.tags[0].kind if res.tags else None
    if failed is not None and any(
            r["name"] == name for r in res.records("stored")):
        res.raise_for_failure(what)


def pull(device: Device, name: str, *, root_timeout: float | None = None) -> bytes:
    script = sc.Script("store").call("op_pull", sc.check_name(name)).render()
    res = run_root(device, script, root_timeout=root_timeout)
    res.raise_for_failure(f"pulling {name}")
    return res.stdout_raw


def pull_many(
    device: Device, names: Iterable[str], *, root_timeout: float | None = None,
    timeout: float = 60.0,
) -> dict[str, bytes]:
    """NAME -> its config, byte for byte what `pull` gives, for every NAME
    in ONE root script (one su: one prompt at most, one round trip).

    The files come back on stdout framed by a boundary drawn here (128
    random bits, sh/store.sh op_pull_many): nothing is decoded or written
    anywhere on the way. A NAME not stored fails as `pull` does (NotFoundError),
    before any file is sent. No names: {} and no script."""
    wanted = list(dict.fromkeys(sc.check_name(n) for n in names))
    if not wanted:
        return {}
    mark = secrets.token_hex(16)
    script = sc.Script("store", timeout=timeout).call("op_pull_many", mark, *wanted).render()
    res = run_root(device, script, root_timeout=root_timeout, timeout=timeout)
    what = f"pulling {wanted[0]}" if len(wanted) == 1 else f"pulling {len(wanted)} tunnels"
    res.raise_for_failure(what)
    return split_pulled(res.stdout_raw, mark.encode(), wanted)


def split_pulled(raw: bytes, mark: bytes, wanted: list[str]) -> dict[str, bytes]:
    """op_pull_many's stdout cut into its files; DeviceCommandError unless
    it holds each of WANTED once, in order, and its end line."""
    parts = raw.split(b"\n" + mark + b"\t")
    found: dict[str, bytes] = {}
    if parts[0] == b"" and parts[-1] == b"end\n":
        for part in parts[1:-1]:
            head, sep, body = part.partition(b"\n")
            kind, _, name = head.partition(b"\t")
            if not sep or kind != b"config":
                break
            found[name.decode("utf-8", "replace")] = body
    if list(found) != wanted or len(parts) != len(wanted) + 2:
        raise DeviceCommandError(
            f"pulling {len(wanted)} tunnels: the phone's answer was cut short or garbled",
            hint="try again; a single `wgdroid pull NAME` pulls one")
    return found


def remove(
    device: Device, name: str, *, force: bool = False, root_timeout: float | None = None
) -> StoreResult:
    script = sc.Script("store").call("op_rm", sc.check_name(name), int(force)).render()
    res = run_root(device, script, root_timeout=root_timeout)
    res.raise_for_failure(f"removing {name}")
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
    script = sc.Script("store").call("op_rename", old, new, int(force)).render()
    res = run_root(device, script, root_timeout=root_timeout)
    _raise_if_stored(res, new, f"renamed {old} to {new}, but bringing {new} up")
    res.raise_for_failure(f"renaming {old}")
    why = next((r["why"] for r in res.records("restarted") if r["name"] == new), None)
    return StoreResult(new, res.method, res.elapsed, control.backend_from(res, new),
                       why is not None, why)


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
