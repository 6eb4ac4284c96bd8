"""Running a script as root on the phone, in one adb round trip.

How root is reached differs by phone (docs/adb-protocol.md, "Root: the su variants"):
adbd already root (`id -u` = 0) runs the script directly; Magisk and
KernelSU take `su -c '<script>'` with the script as ONE argument and `-c`
last; AOSP su takes `su 0 sh -c '<script>'`. While the method of a serial is
unknown, the command is a small detector (run as the shell user) that picks
the form on the phone and then execs su, so detection and the operation
still cost one round trip; the method it reports is remembered per serial
for this process.

The script's first line prints GRANTED_TAG on stderr: until it arrives,
a silence is su waiting for the user (RootPendingError after the root
timeout), and a failure is su's (RootError); after it, the script runs under
the operation timeout.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from enum import StrEnum

from wgdroid.device import progress
from wgdroid.device import script as sc
from wgdroid.device.connection import Device, ShellResult, ShellStream, ShellTimeout, collect
from wgdroid.device.memo import DeviceMemo
from wgdroid.errors import DeviceError, OperationTimeout, RootError, RootPendingError, UsageError
from wgdroid.lean import Value

DEFAULT_ROOT_TIMEOUT = 10.0  # Magisk's own prompt timeout is 10 s
DEFAULT_TIMEOUT = 60.0
SU_DENIED_EXIT = 13
# A denial arriving this late is Magisk's prompt timing out, not the user saying no.
PROMPT_EXPIRY = 9.5


class RootMethod(StrEnum):
    ADBD_ROOT = "adb-root"  # adbd runs as root: no su
    MAGISK = "magisk"  # su -c '<script>'
    KERNELSU = "kernelsu"  # su -c '<script>' (su becomes sh)
    SU_C = "su-c"  # another su of the -c family (SuperSU, phh, ...)
    AOSP = "aosp"  # su 0 sh -c '<script>'
    NONE = "none"  # no su at all


def classify_su_version(output: str) -> RootMethod:
    """What `su -v 2>&1` says about the su family (recorded outputs in tests)."""
    text = output.strip()
    if "MAGISKSU" in text.upper():
        return RootMethod.MAGISK
    if "kernelsu" in text.lower() or "apatch" in text.lower():
        return RootMethod.KERNELSU
    if "invalid uid/gid" in text or text.lower().startswith("usage"):
        return RootMethod.AOSP
    return RootMethod.SU_C


def command_for(method: RootMethod, script: str, *, stdin: bool) -> str:
    """The adb shell command that runs `script` as root with a known method."""
    nul = "" if stdin else " </dev/null"
    quoted = sc.q(script)
    if method is RootMethod.ADBD_ROOT:
        return f"sh -c {quoted}{nul}"
    if method is RootMethod.AOSP:
        return f"su 0 sh -c {quoted}{nul}"
    if method in (RootMethod.MAGISK, RootMethod.KERNELSU, RootMethod.SU_C):
        return f"su -c {quoted}{nul}"
    raise RootError("no su on the device: it is not rooted")


def detecting_command(script: str, *, stdin: bool) -> str:
    """Detect the root method on the phone (sh/detect.sh), report it, then
    run the script with it: still one round trip."""
    constants = {"S": script, "STDIN": "1" if stdin else "0", "METHOD_TAG": sc.METHOD_TAG}
    return sc.prelude(constants) + sc.source("detect") + "detect_and_run\n"


def method_from_stderr(stderr: str) -> RootMethod | None:
    for line in stderr.splitlines():
        if line.startswith(sc.METHOD_TAG):
            try:
                return RootMethod(line[len(sc.METHOD_TAG) :].strip())
            except ValueError:
                return None
    return None


class RootResult(Value):
    """A finished root script: its exit code, stdout, the tools' stderr lines,
    its `fail` records (tags) and steps."""

    __slots__ = (
        "elapsed",
        "method",
        "returncode",
        "stderr_lines",
        "stdout",
        "stdout_raw",
        "steps",
        "tags",
    )
    _hidden = ("stdout", "stdout_raw")  # may hold a config (pull): not in reprs

    def __init__(self, returncode: int, stdout: str, stderr_lines: list[str],
                 tags: list[sc.Tag], method: RootMethod, elapsed: float,
                 stdout_raw: bytes, steps: list[str]) -> None:
        self.returncode = returncode
        self.stdout = stdout
        self.stderr_lines = stderr_lines
        self.tags = tags
        self.method = method
        self.elapsed = elapsed
        self.stdout_raw = stdout_raw
        self.steps = steps

    def tag(self, kind: str) -> sc.Tag | None:
        return next((t for t in self.tags if t.kind == kind), None)

    def records(self, *kinds: str) -> list[sc.Record]:
        return sc.records(self.stdout, *kinds)

    def raise_for_failure(self, what: str) -> None:
        """The error of a `fail` record or a bare non-zero exit, if any."""
        if self.tags or self.returncode != 0:
            # Only a failure needs the table of failures (a success starts sooner).
            from wgdroid.device.failures import raise_for_tags

            raise_for_tags(self.tags, self.stderr_lines, self.returncode, what)


# Kept across processes: a CLI command then skips finding the method (one su less).
_methods: DeviceMemo[RootMethod] = DeviceMemo(persist="root", load=RootMethod)


def known_method(device: Device) -> RootMethod | None:
    return _methods.get(device)


def remember(device: Device, method: RootMethod | None) -> None:
    _methods.put(device, None if method is RootMethod.NONE else method)


def root_timeout_default() -> float:
    """WGDROID_ROOT_TIMEOUT, checked as --root-timeout is (a bad one is a usage error)."""
    raw = os.environ.get("WGDROID_ROOT_TIMEOUT")
    if not raw:
        return DEFAULT_ROOT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= 3600):
        raise UsageError(f"WGDROID_ROOT_TIMEOUT={raw!r}: give seconds above 0, at most 3600")
    return value


def run_root(
    device: Device,
    script: str,
    *,
    stdin: bytes | None = None,
    root_timeout: float | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    keep_partial: bool = False,
) -> RootResult:
    """Run `script` as root in one shell stream. Raises RootError (no su, denied),
    RootPendingError (no answer to the su prompt), DeviceError, OperationTimeout.

    `keep_partial`: a DeviceError (the link dropped, progress.Cancelled) or
    OperationTimeout that cuts the script off after su granted carries the
    stdout it had sent as `partial_stdout` (never in the message), for a
    caller whose stdout holds no secret (store.push_many's records; a
    pull's would hold a config)."""
    root_timeout = root_timeout_default() if root_timeout is None else root_timeout
    method = known_method(device)
    has_stdin = stdin is not None
    # With stdin, always detect on the phone: a stale form (AOSP's `su 0 sh -c`
    # on Magisk) would feed the config to an interactive root shell.
    if method is not None and not has_stdin:
        command = command_for(method, script, stdin=False)
        result, granted = _execute(device, command, stdin, root_timeout, timeout,
                                   keep_partial)
        if granted or _is_denial(result):
            return _finish(device, method, result, granted)
        remember(device, None)  # another phone now has this serial: detect again
    command = detecting_command(script, stdin=has_stdin)
    result, granted = _execute(device, command, stdin, root_timeout, timeout, keep_partial)
    return _finish(device, method_from_stderr(result.err), result, granted)


def _is_denial(result: ShellResult) -> bool:
    return result.returncode == SU_DENIED_EXIT or b"denied" in result.stderr.lower()


def _finish(
    device: Device, found: RootMethod | None, result: ShellResult, granted: bool
) -> RootResult:
    err = sc.split_stderr(result.err)
    if not granted:
        remember(device, None)
        raise _root_failure(found, result, err.lines)
    if found is not None:
        remember(device, found)
    return RootResult(
        result.returncode,
        result.out,
        err.lines,
        err.tags,
        found or RootMethod.SU_C,
        result.elapsed,
        result.stdout,
        err.steps,
    )


def _execute(
    device: Device, command: str, stdin: bytes | None, root_timeout: float, timeout: float,
    keep_partial: bool = False,
) -> tuple[ShellResult, bool]:
    start = time.monotonic()
    granted = False
    received = bytearray()  # stdout so far: what a cut-off script had answered
    marker = sc.GRANTED_TAG.encode() + b"\n"
    observer = progress.current()
    seen_err = bytearray()
    told_steps = 0

    def saw(err: bytearray) -> None:
        nonlocal granted, seen_err, told_steps
        seen_err = err  # for a timeout: the last step and what the tools said
        if not granted and marker in err:
            granted = True
            if observer is not None:
                observer.on_event(progress.Event("su-granted"))
        if observer is not None and b"wgdroid:step\t" in err:
            steps = sc.split_stderr(err.decode("utf-8", "replace")).steps
            for step in steps[told_steps:]:
                observer.on_event(progress.Event("step", step))
            told_steps = len(steps)

    def deadline() -> float:  # the root timeout until su grants, then the operation's
        return start + (timeout if granted else min(root_timeout, timeout))

    with device.open_shell(command) as stream, _Watching(observer, stream, lambda: granted):
        if stdin is not None:
            # Stdin waits in the pipe until the script reads it; the script is
            # only run once su grants, so nothing reaches a non-root reader.
            # A big input fills the pipe while su waits: bound that by the root timeout.
            stream.set_write_timeout(min(root_timeout, timeout))
            try:
                stream.write_stdin(stdin)
                stream.close_stdin()
            except ShellTimeout:
                raise _pending(device, root_timeout) from None
        try:
            return collect(stream, deadline, start, saw, received), granted
        except ShellTimeout:
            if not granted:
                raise _pending(device, root_timeout) from None
            cut: DeviceError | OperationTimeout = _timed_out(device, timeout, bytes(seen_err))
        except DeviceError as exc:
            cut = exc
            if observer is not None and observer.cancel is not None and observer.cancel.is_set():
                cut = progress.Cancelled(
                    f"stopped waiting for {device.serial}: the phone may or may not have "
                    "made the change"
                )
        if keep_partial and granted:
            cut.partial_stdout = bytes(received)
        raise cut from None


class _Watching:
    """For an observer: su-waiting after a second without su's answer, and
    the stream aborted when it cancels (a thread, only while one watches)."""

    def __init__(self, observer: progress.Observer | None, stream: ShellStream,
                 granted: Callable[[], bool]) -> None:
        self.observer = observer
        self.stream = stream
        self.granted = granted
        self._stop: Callable[[], None] | None = None

    def __enter__(self) -> None:
        observer = self.observer
        if observer is None:
            return
        import threading  # only a UI that watches starts a thread

        done = threading.Event()

        def watch() -> None:
            if not done.wait(progress.SU_WAIT_NOTICE) and not self.granted():
                observer.on_event(progress.Event("su-waiting"))
            if observer.cancel is None:
                return
            while not done.is_set():
                if observer.cancel.wait(0.1):
                    self.stream.abort()
                    return

        thread = threading.Thread(target=watch, name="wgdroid-progress", daemon=True)
        thread.start()

        def stop() -> None:
            done.set()
            thread.join(1.0)

        self._stop = stop

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None:
            self._stop()


def _timed_out(device: Device, timeout: float, err: bytes) -> OperationTimeout:
    """The script's own budget should have ended it first: say which step was
    running and what the tools said so far."""
    seen = sc.split_stderr(err.decode("utf-8", "replace"))
    step = f" (it was at `{seen.steps[-1]}`)" if seen.steps else ""
    said = sc.trimmed(seen.lines, 3)
    return OperationTimeout(
        f"the operation on {device.serial} did not finish in {timeout:g} s{step}"
        + (f": {said}" if said else "")
    )


def _pending(device: Device, root_timeout: float) -> RootPendingError:
    return RootPendingError(
        f"su on {device.serial} did not answer in {root_timeout:g} s: "
        "a root prompt is probably waiting on the phone",
        hint="unlock the phone, tap Grant for 'Shell' in the su prompt, and retry",
    )


def _root_failure(method: RootMethod | None, result: ShellResult, lines: list[str]) -> RootError:
    said = sc.trimmed(lines, 3)
    if method is RootMethod.NONE or (method is None and result.returncode == 127):
        return RootError(
            "no su on the device: it is not rooted",
            hint="root it (Magisk or KernelSU), or use an engineering build with `adb root`; "
            "KernelSU shows su only to the apps it allows: on a KernelSU phone, allow Shell "
            "in the KernelSU app's Superuser list",
        )
    denied = _is_denial(result)
    if denied and result.elapsed >= PROMPT_EXPIRY:
        return RootPendingError(
            "the su prompt on the phone timed out before anyone answered it",
            hint="run the command again and tap Grant on the phone within a few seconds",
        )
    if denied:
        return RootError(
            f"su denied root to the adb shell ({said or 'Permission denied'})",
            hint="allow 'Shell' in Magisk > Superuser (or your root manager) and retry",
        )
    if method is RootMethod.AOSP and "invalid uid" in said:
        return RootError(f"su refused the request: {said}")
    detail = f": {said}" if said else ""
    return RootError(f"su failed (exit {result.returncode}){detail}")
